// Clock: the wall clock (ms since the Unix epoch, for timestamps) and a monotonic clock (for
// intervals and cool-downs) behind one interface, injected where time matters so tests move time
// with a FakeClock instead of sleeping.
// Thread contract: both implementations may be read from any thread; FakeClock::Advance too.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "common/now.h"

namespace rs {

class Clock {
 public:
  using Monotonic = std::chrono::steady_clock;
  virtual ~Clock() = default;
  virtual int64_t WallMs() const = 0;
  virtual Monotonic::time_point Now() const = 0;
};

class RealClock final : public Clock {
 public:
  int64_t WallMs() const override { return NowMs(); }
  Monotonic::time_point Now() const override { return Monotonic::now(); }

  // The process's real clock, for callers that were given none.
  static const Clock& Get() {
    static const RealClock clock;
    return clock;
  }
};

// Starts at the given wall time (and an arbitrary monotonic origin); only Advance moves it, and
// it moves both clocks together.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t wall_ms = 1'700'000'000'000) : wall_ms_(wall_ms) {}
  int64_t WallMs() const override { return wall_ms_.load(); }
  Monotonic::time_point Now() const override {
    return Monotonic::time_point(std::chrono::milliseconds(mono_ms_.load()));
  }
  void Advance(std::chrono::milliseconds d) {
    wall_ms_ += d.count();
    mono_ms_ += d.count();
  }

 private:
  std::atomic<int64_t> wall_ms_;
  std::atomic<int64_t> mono_ms_{1'000'000};
};

}  // namespace rs
