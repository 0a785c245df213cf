// Which slow requests get a line in the log (--slowlog-usec). A node that stalls under a pipelined
// load makes every request queued behind it slow at once; a line for each (hundreds per stall,
// written synchronously by the worker on its loop) floods the log and delays the replies that
// follow. So at most `lines_per_second` lines are written per second and the rest are counted,
// then summed up in one line once their second is over. INFO's proxy_slow_requests counts all.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

namespace rs::proxy {

// Thread contract: owned by one worker; all calls from its loop.
class SlowLogLimiter {
 public:
  struct Suppressed {
    uint64_t count = 0;
    uint64_t slowest_us = 0;
  };

  explicit SlowLogLimiter(int lines_per_second = 10) : lines_per_second_(lines_per_second) {}

  // A slow request of `total_us` finished at `now_ns` (a monotonic clock): true when it gets its
  // own line, false when it is only counted.
  bool Admit(uint64_t now_ns, uint64_t total_us) {
    Roll(now_ns);
    if (lines_ < lines_per_second_) {
      ++lines_;
      return true;
    }
    ++current_.count;
    current_.slowest_us = std::max(current_.slowest_us, total_us);
    return false;
  }

  // The requests not logged in seconds that are over by `now_ns`, once; nothing while none are.
  std::optional<Suppressed> TakeSummary(uint64_t now_ns) {
    Roll(now_ns);
    if (ended_.count == 0) return std::nullopt;
    Suppressed s = ended_;
    ended_ = {};
    return s;
  }

 private:
  static constexpr uint64_t kWindowNs = 1'000'000'000;

  void Roll(uint64_t now_ns) {
    if (now_ns - window_start_ns_ < kWindowNs) return;
    ended_.count += current_.count;
    ended_.slowest_us = std::max(ended_.slowest_us, current_.slowest_us);
    current_ = {};
    lines_ = 0;
    window_start_ns_ = now_ns;
  }

  const int lines_per_second_;
  uint64_t window_start_ns_ = 0;
  int lines_ = 0;
  Suppressed current_;  // not logged in the current second
  Suppressed ended_;    // not logged in seconds that are over, not yet summed up
};

}  // namespace rs::proxy
