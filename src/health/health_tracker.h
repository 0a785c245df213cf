// Per-node health classification from probe outcomes: up / suspect / down with a reason,
// edge-triggered. Pure: time is passed in. Thread contract: one owner, not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/node_view.h"

namespace rs::health {

struct HealthOptions {
  // Consecutive timeouts (or other connection errors) before up becomes suspect: one slow answer
  // of a busy node (a fork, a loaded machine) is not a health change.
  int suspect_after_failures = 2;
  // Consecutive timeouts (or other connection errors) before suspect becomes down.
  int down_after_failures = 3;
  // cluster_state:fail must persist this long before it counts: Redis's own failover shows a
  // ~1 s fail window (redis-notes.md) that must not trigger anything.
  int64_t cluster_down_grace_ms = 3000;
};

enum class ProbeOutcome {
  kOk,       // Every command answered.
  kRefused,  // connect(): Connection refused.
  kTimeout,  // No (complete) answer within the probe timeout.
  kLoading,  // -LOADING
  kAuth,     // -NOAUTH / -WRONGPASS / AUTH rejected.
  kError,    // Other error replies, resets, unreachable hosts.
};

struct ProbeResult {
  ProbeOutcome outcome = ProbeOutcome::kOk;
  std::string detail;
  // kOk only: what CLUSTER INFO said.
  bool cluster_state_ok = false;
  uint64_t slots_assigned = 0;
};

// Classification (see docs/discovery.md for the table):
//   refused → down/refused at once (the planner applies its own grace using since_ms);
//   timeout/error → suspect after suspect_after_failures in a row (until then the health stays
//   as it was), down after down_after_failures in a row;
//   loading → suspect/loading; auth → suspect/auth (alive, but we cannot judge it);
//   cluster_state:fail with slots assigned, for longer than the grace → suspect/clusterdown.
//   A fresh node (no slots assigned) reports cluster_state:fail forever: that is up.
class HealthTracker {
 public:
  explicit HealthTracker(HealthOptions options) : options_(options) {}

  // Returns the new health when (health, reason) changed; since_ms is when the new state began.
  std::optional<model::NodeHealth> Update(const ProbeResult& result, int64_t now_ms);

  const model::NodeHealth& current() const { return current_; }
  // cluster_state as it should be reported: after ok, a fail shorter than the grace still reads ok.
  bool cluster_ok() const { return cluster_ok_; }
  // A cluster_state:fail is within its grace: its end or its verdict is coming.
  bool cluster_fail_pending() const { return cluster_fail_since_.has_value(); }

 private:
  HealthOptions options_;
  model::NodeHealth current_;
  int failures_ = 0;
  std::optional<int64_t> cluster_fail_since_;
  bool cluster_ok_ = false;
};

}  // namespace rs::health
