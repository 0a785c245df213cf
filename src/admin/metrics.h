// Counters for /metrics, derived from the event log: fed every event in order by the admin
// server's follower thread (from the first event, so they survive restarts), read by scrapes.
// Thread contract: Observe from one thread; Render from any thread (a mutex guards the counters).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "model/cluster_state.h"
#include "eventlog/event_codec.h"

namespace rs::admin {

class MetricsFollower {
 public:
  void Observe(const eventlog::DecodedEvent& d);
  // Prometheus text format 0.0.4; gauges come from `state`.
  std::string Render(const model::ClusterState& state) const;

 private:
  struct Duration {
    double sum_s = 0;
    uint64_t count = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> events_by_kind_;
  std::map<std::string, uint64_t> plans_by_outcome_;
  std::map<std::string, Duration> step_seconds_;  // By step kind.
  uint64_t slots_migrated_ = 0;
  uint64_t keys_migrated_ = 0;
  uint64_t operator_requests_ = 0;
  uint64_t alerts_ = 0;
  // To time steps: plan id -> step kinds, and (plan, step) -> start time.
  std::map<uint64_t, std::vector<model::StepKind>> plan_steps_;
  std::map<std::pair<uint64_t, uint32_t>, int64_t> step_started_ms_;
};

}  // namespace rs::admin
