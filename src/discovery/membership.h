// Discovery's output stage: raw snapshots from a source go through the debounce, re-evaluated
// every second, and come out as MembershipChanged events on the sink, only when the wanted set
// changes.
// Thread contract: owned by its libuv loop thread (sources call OnSnapshot on that thread).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <uv.h>

#include "common/clock.h"
#include "common/status.h"
#include "discovery/debounce.h"
#include "discovery/source.h"
#include "model/event.h"

namespace rs::discovery {

class Membership {
 public:
  // `reachable` is asked about missing members before a mass removal (the prober's view);
  // the debounce runs on clock's wall time (a test passes a fake one); the clock outlives this.
  Membership(uv_loop_t* loop, DebounceOptions options, std::string source, ReachableFn reachable,
             model::EventSink sink, const Clock& clock = RealClock::Get());
  // Stop() must have been called and the loop run until its handle closed.
  ~Membership();
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  // The member set already recorded in the event log (see MembershipDebounce::Restore).
  void Restore(std::vector<model::Member> members) { debounce_.Restore(std::move(members)); }
  Status Start(int64_t tick_ms = 1000);
  void Stop();

  // Hand this to a source.
  SnapshotFn snapshot_fn() {
    return [this](std::vector<model::Member> s) { OnSnapshot(std::move(s)); };
  }
  void OnSnapshot(std::vector<model::Member> snapshot);
  const MembershipDebounce& debounce() const { return debounce_; }

 private:
  void Emit(std::optional<model::MembershipChanged> change);

  uv_loop_t* loop_;
  MembershipDebounce debounce_;
  ReachableFn reachable_;
  model::EventSink sink_;
  const Clock& clock_;
  uv_timer_t tick_;
  bool started_ = false;
  bool closed_ = true;
};

}  // namespace rs::discovery
