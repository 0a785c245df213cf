// The health prober: per node, every interval, a round over an async hiredis connection on libuv.
// A light round is CLUSTER INFO alone (liveness, cluster_state, epochs, slot and node counts); a
// full round adds CLUSTER NODES, ROLE and INFO. Each node gets a full round at least every
// full_interval_ms, and every node at once when any node shows a change (its CLUSTER INFO, its
// observation or its health), so views converge in the log promptly while an idle cluster costs
// one cheap command per node and interval. Emits NodeHealthChanged and NodeObserved only on
// change, and keeps recent numeric samples (from full rounds) for the console's charts.
// Thread contract: runs on one libuv loop thread; SetTargets, RequestFullRefresh,
// WaitForFullRefresh, Samples and HealthOf may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <uv.h>

#include "common/status.h"
#include "model/event.h"
#include "health/health_tracker.h"

struct redisAsyncContext;

namespace rs::health {

struct ProberOptions {
  int64_t interval_ms = 1000;  // Start of one round to the start of the next.
  int64_t timeout_ms = 1000;   // Connect plus all replies of one round.
  // Longest time between two full rounds of one node; 0 makes every round full.
  int64_t full_interval_ms = 5000;
  HealthOptions health;
  size_t sample_capacity = 720;  // An hour at the default full interval.
  std::string password;          // Sent with AUTH before the probe when not empty.
};

struct Sample {
  int64_t time_ms = 0;  // Wall clock.
  double ops_per_sec = 0;
  uint64_t used_memory = 0;
  uint64_t keys = 0;
  auto operator<=>(const Sample&) const = default;
};

class Prober {
 public:
  Prober(uv_loop_t* loop, ProberOptions options, model::EventSink sink);
  // Stop() must have been called and the loop run until its handles closed.
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  Status Start();
  // Drops every connection and closes the prober's handles; run the loop afterwards.
  void Stop();

  // The nodes to probe ("host:port"): the members plus nodes still in the cluster. Nodes not in
  // the list are dropped with their state; new ones start at health unknown.
  void SetTargets(std::vector<std::string> addresses);

  // Asks for a full round of every target, each started after this call; returns its ticket.
  // What those rounds saw is recorded (through the sink) before WaitForFullRefresh sees it done.
  uint64_t RequestFullRefresh();
  // True once every target finished a full round (or failed one) for `ticket`; false after
  // `timeout` or once the prober stopped.
  bool WaitForFullRefresh(uint64_t ticket, std::chrono::milliseconds timeout);

  // Oldest first; empty for an unknown node.
  std::vector<Sample> Samples(const std::string& address) const;
  // The last classified health, if the node is a target and has been probed.
  std::optional<model::NodeHealth> HealthOf(const std::string& address) const;

 private:
  struct Node;
  struct PendingResolve;

  void OnWake();
  void ApplyTargets();
  // Makes the next round of every node a full one (a change anywhere may show everywhere).
  void RefreshAll();
  void UpdateRefreshDone();
  void OnTick();
  void StartRound(Node* node, int64_t now);
  void Resolve(Node* node);
  void SendProbe(Node* node);
  // How a round ended beyond its result: a connection lost mid-round keeps the retry spent.
  enum class RoundEnd : uint8_t { kFinished, kConnectionLost };
  void FinishRound(Node* node, ProbeResult result, RoundEnd end = RoundEnd::kFinished);
  void DropConnection(Node* node);
  void Publish(Node* node, const ProbeResult& result);

  static void OnConnect(const redisAsyncContext* c, int status);
  static void OnDisconnect(const redisAsyncContext* c, int status);
  static void OnReply(redisAsyncContext* c, void* reply, void* privdata);

  uv_loop_t* loop_;
  ProberOptions options_;
  model::EventSink sink_;
  uv_timer_t tick_;
  uv_async_t wake_;
  std::atomic<bool> started_ = false;
  std::atomic<bool> stopped_ = false;
  int open_handles_ = 0;
  std::map<std::string, std::unique_ptr<Node>> nodes_;  // Loop thread only.
  uint64_t refresh_served_ = 0;                          // Loop thread only.
  uint64_t changes_seen_ = 0;  // RefreshAll calls, so far. Loop thread only.
  std::minstd_rand rng_{std::random_device{}()};         // Loop thread only.

  mutable std::mutex mu_;  // Guards the fields below, shared with other threads.
  std::optional<std::vector<std::string>> pending_targets_;
  uint64_t refresh_requested_ = 0;  // The last ticket handed out.
  uint64_t refresh_done_ = 0;       // Every target's full round done up to this ticket.
  std::condition_variable refresh_cv_;
  std::map<std::string, std::deque<Sample>> samples_;
  std::map<std::string, model::NodeHealth> health_;
};

}  // namespace rs::health
