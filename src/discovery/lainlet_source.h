// The lainlet discovery source: a `GET /v2/procwatcher?appname=<app>&watch=1&heartbeat=N` watch
// on a raw libuv TCP stream, with dead-connection detection, reconnect with capped exponential
// backoff and jitter, a periodic plain GET to catch dropped events, and optional host names from
// /v2/coreinfowatcher. Delivers raw snapshots (the debounce decides what they mean), and tells
// when lainlet becomes unreachable (no good contact for a while) or reachable again.
// Thread contract: owned by its libuv loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

#include "common/status.h"
#include "discovery/lainlet_json.h"
#include "discovery/source.h"
#include "discovery/sse_parser.h"

namespace rs::discovery {

class HttpRequest;

// Called on the loop thread on each change only: `reachable` false with the last failure since
// the last good contact ("connect 10.0.0.1:9001: connection refused", "HTTP 500 ..."), true
// with the contact that ended the outage ("init on the watch").
using ReachabilityFn = std::function<void(bool reachable, std::string reason)>;

struct LainletOptions {
  std::string host = "lainlet.lain";
  uint16_t port = 9001;
  std::string appname;  // The exact LAIN_APPNAME (4.5: no prefix matching).
  std::string proc_name = "redis";
  int heartbeat_s = 5;
  int64_t dead_after_ms = 0;            // 0: 3 × heartbeat. No bytes for this long = dead watch.
  int64_t resync_interval_ms = 60'000;  // Plain GET compared with the watch's state (4.8).
  int64_t request_timeout_ms = 10'000;  // Plain GETs; checked at each resync tick.
  int64_t backoff_min_ms = 500;
  int64_t backoff_max_ms = 30'000;
  bool coreinfo = false;  // Host names from /v2/coreinfowatcher for anti-affinity.
  // No good contact for this long = unreachable. Good contact: an init, update, delete or
  // heartbeat on a watch that answered 200, or a periodic GET answering 200 with a valid body
  // (an empty list counts: lainlet is up). Heartbeats are asked for at least three times per
  // threshold (at most once a second), so a healthy idle watch never looks unreachable.
  int64_t unreachable_after_ms = 60'000;
  // What the event log last said; false: the first good contact reports "reachable".
  bool reachable_at_start = true;
};

class LainletSource {
 public:
  LainletSource(uv_loop_t* loop, LainletOptions options, SnapshotFn on_snapshot,
                ReachabilityFn on_reachability = nullptr);
  // Stop() must have been called and the loop run until its handles closed.
  ~LainletSource();
  LainletSource(const LainletSource&) = delete;
  LainletSource& operator=(const LainletSource&) = delete;

  Status Start();
  void Stop();

  // "lainlet:http://host:port/v2/procwatcher?appname=x", the MembershipChanged source.
  std::string Describe() const;

  // For status pages and tests.
  int watch_attempts() const { return watch_attempts_; }
  int snapshots() const { return snapshots_; }
  bool watching() const { return watch_ != nullptr && watch_ok_; }
  bool reachable() const { return reachable_; }
  int heartbeat_s() const { return options_.heartbeat_s; }

 private:
  void ConnectWatch();
  void OnWatchHeaders(int status);
  void OnWatchBody(std::string_view bytes);
  void OnWatchDone(Status status);
  void DropWatch(const std::string& why);
  void ScheduleReconnect();
  void ArmDeadTimer();
  void Resync();
  void FetchCoreinfo();
  void Deliver();
  int64_t NextBackoff();
  // Reachability: every good contact restarts the unreachable timer; failures only name why.
  void GoodContact(std::string_view what);
  void Failure(std::string what);
  void OnUnreachable();

  uv_loop_t* loop_;
  LainletOptions options_;
  SnapshotFn on_snapshot_;
  ReachabilityFn on_reachability_;
  std::mt19937_64 rng_;

  uv_timer_t reconnect_timer_;
  uv_timer_t dead_timer_;
  uv_timer_t resync_timer_;
  uv_timer_t unreachable_timer_;
  int open_handles_ = 0;
  bool started_ = false;
  bool stopped_ = false;

  HttpRequest* watch_ = nullptr;
  bool watch_ok_ = false;  // The current watch answered 200 with an event stream.
  int watch_status_ = 0;
  std::string watch_error_body_;  // Body of a non-200 watch answer, for the log.
  std::string last_error_event_;  // Data of the last `error` event on this connection.
  SseParser sse_;
  int attempt_ = 0;  // Failed connects since the last good init.

  HttpRequest* resync_ = nullptr;
  std::string resync_body_;
  int resync_status_ = 0;
  int64_t resync_started_ = 0;
  HttpRequest* coreinfo_req_ = nullptr;
  std::string coreinfo_body_;
  int coreinfo_status_ = 0;
  int64_t coreinfo_started_ = 0;

  bool have_pods_ = false;
  std::vector<Pod> pods_;  // The watch's current state.
  std::map<uint32_t, PodHost> hosts_;

  bool reachable_;
  std::string last_failure_;  // Since the last good contact.

  int watch_attempts_ = 0;
  int snapshots_ = 0;
};

}  // namespace rs::discovery
