// Webhook alerts: derives triggers from events as the follower reads them (node down, failover
// done, plan failed, uncovered slots, lainlet unreachable and reachable again, the members file
// unusable and usable again), applies a cool-down per subject and kind and per-node mutes, POSTs
// a JSON body to --alert-webhook on its own thread, and records each alert as an AlertRaised
// event (delivered or not). Mutes are AlertRaised events of kind "mute"/"unmute", so they
// survive restarts.
// An alert the cool-down holds back is not lost: the newest one per subject and kind is sent when
// the cool-down ends if its condition still holds (the node is still down, lainlet still
// unreachable, slots still uncovered), and dropped if it cleared in between.
// Thread contract: Observe and Tick from the follower thread; the sender thread is internal.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "eventlog/event_codec.h"

namespace rs::admin {

struct Alert {
  std::string subject;  // "node 127.0.0.1:7000", "plan 12", "cluster", "lainlet".
  std::string kind;     // node-down, failover-done, plan-failed, uncovered-slots,
                        // lainlet-unreachable, lainlet-reachable, members-file-invalid,
                        // members-file-valid.
  std::string message;
  model::Seq cause = 0;
};

class Alerter {
 public:
  using RecordFn = std::function<void(const Alert&, bool delivered)>;
  // webhook: "http://host:port/path" or empty (alerts are recorded, not sent). The cool-down
  // runs on clock's monotonic time (the real clock unless a test passes a fake one); the clock
  // outlives the alerter.
  Alerter(std::string webhook, std::chrono::seconds cooldown, RecordFn record,
          const Clock& clock = RealClock::Get());
  ~Alerter();  // Calls Stop().

  // Sends and records what is queued, then stops the sender; no recording after it returns.
  void Stop();

  // Feed every event in order. `live`: false while catching up on history (only mutes and
  // the state the triggers need are learnt, nothing is sent).
  void Observe(const eventlog::DecodedEvent& d, bool live);
  // Sends the held-back alerts whose cool-down has ended; call it every second or so.
  void Tick();
  bool Muted(const std::string& node) const;

 private:
  // False when the cool-down held it back.
  bool Raise(Alert a);
  void Send(Alert a, Clock::Monotonic::time_point now);
  void SenderThread();
  bool Post(const Alert& a);

  std::string webhook_;
  std::chrono::seconds cooldown_;
  RecordFn record_;
  const Clock& clock_;

  // Follower-thread state.
  std::map<std::string, Clock::Monotonic::time_point> last_sent_;  // By subject|kind.
  std::map<std::string, Alert> held_;  // By subject|kind: held back by the cool-down.
  std::map<uint64_t, bool> plan_has_failover_;
  uint64_t epoch_ = 0;
  bool plan_running_ = false;
  int64_t settled_since_ms_ = 0;          // Time of the last plan finish or topology commit.
  std::set<std::string> uncovered_seen_;  // Nodes whose view last showed uncovered slots.
  bool lainlet_alerted_ = false;  // An unreachable (or members-file-invalid) alert went out (or,
                                  // in history, was recorded) for the current outage.

  mutable std::mutex mu_;
  std::set<std::string> muted_;
  std::deque<Alert> queue_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread sender_;
};

}  // namespace rs::admin
