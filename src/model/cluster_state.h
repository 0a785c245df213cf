// ClusterState: everything the controller knows, as a pure fold over the event log.
// Thread contract: a value type; the controller's single writer owns the live copy.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/event.h"

namespace rs::model {

// A finished plan, kept for the console and audits (bounded: the newest kMaxPlanHistory).
struct PlanSummary {
  uint64_t id = 0;
  std::string reason;
  PlanOutcome outcome = PlanOutcome::kCompleted;
  PlanOrigin origin = PlanOrigin::kPlanner;
  std::string detail;
  Seq proposed_seq = 0;
  Seq finished_seq = 0;
  auto operator<=>(const PlanSummary&) const = default;
};

struct ClusterState {
  static constexpr size_t kMaxPlanHistory = 100;

  Seq last_seq = 0;       // Sequence of the last event folded in.
  int64_t last_time_ms = 0;

  // Wanted members, keyed by address.
  std::map<std::string, Member> members;
  Seq membership_seq = 0;  // The last membership event that added or removed a member.

  // Every node the controller has probed (members and nodes it still has to drain), by address.
  std::map<std::string, NodeHealth> health;
  std::map<std::string, NodeObservation> observed;
  // When the cluster's layout as the nodes report it last changed (event time, ms): a node's view
  // of slots, roles or known nodes (see SameLayoutView), or whether a node is up. The planner
  // commits what Redis reports only once this has stayed put for a while (gossip settles).
  int64_t layout_changed_ms = 0;

  Topology topology;  // The last committed topology.

  std::optional<PlanInFlight> plan;
  std::vector<PlanSummary> plan_history;

  std::vector<OperatorRequest> pending_requests;  // Requested, not yet answered by a plan.

  bool paused = false;

  // Members an operator removed (a remove-node request answered by a plan): the planner keeps
  // them out of the cluster, and drains them again if that plan did not finish, while discovery
  // still lists them. An add-node request for the node, or discovery no longer listing it,
  // ends the retirement.
  std::set<std::string> retired;

  // Whether discovery can use its source (lainlet reachable, the members file valid). True until
  // a DiscoveryStatusChanged says otherwise; discovery_source is the source that last said so,
  // reason and since (event time, ms) are those of the last change.
  bool discovery_reachable = true;
  std::string discovery_reason;
  int64_t discovery_since_ms = 0;
  std::string discovery_source;

  uint64_t next_plan_id = 1;
  uint64_t next_request_id = 1;

  auto operator<=>(const ClusterState&) const = default;
};

// Pure and deterministic: the same state and event always give the same result.
// Unknown or inconsistent events (a step of another plan) are ignored, never fatal.
ClusterState Apply(ClusterState state, const Event& event);

}  // namespace rs::model
