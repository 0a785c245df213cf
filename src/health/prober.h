// The health prober: per node, every interval, PING, CLUSTER NODES, CLUSTER INFO, ROLE and INFO
// over an async hiredis connection on libuv. Emits NodeHealthChanged and NodeObserved only on
// change, and keeps recent numeric samples for the console's charts.
// Thread contract: runs on one libuv loop thread; SetTargets, Samples and HealthOf may be called
// from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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
  HealthOptions health;
  size_t sample_capacity = 600;  // Ten minutes at the default interval.
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

  // Oldest first; empty for an unknown node.
  std::vector<Sample> Samples(const std::string& address) const;
  // The last classified health, if the node is a target and has been probed.
  std::optional<model::NodeHealth> HealthOf(const std::string& address) const;

 private:
  struct Node;
  struct PendingResolve;

  void ApplyTargets();
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

  mutable std::mutex mu_;  // Guards the fields below, shared with other threads.
  std::optional<std::vector<std::string>> pending_targets_;
  std::map<std::string, std::deque<Sample>> samples_;
  std::map<std::string, model::NodeHealth> health_;
};

}  // namespace rs::health
