// Events: the only way controller state changes. The persisted form is events.capnp; this is the
// in-memory value type the fold consumes. Each kind is a small struct.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "model/member.h"
#include "model/node_view.h"
#include "model/operator_request.h"
#include "model/plan.h"
#include "model/types.h"

namespace rs::model {

// The full wanted member set after discovery's debounce.
struct MembershipChanged {
  std::vector<Member> members;  // Sorted by address.
  std::string source;           // "lainlet:http://...", "file:/etc/...", "static".
  auto operator<=>(const MembershipChanged&) const = default;
};

struct NodeHealthChanged {
  std::string address;
  NodeHealth health;
  auto operator<=>(const NodeHealthChanged&) const = default;
};

struct NodeObserved {
  std::string address;
  NodeObservation observation;
  auto operator<=>(const NodeObserved&) const = default;
};

struct OperatorRequested {
  OperatorRequest request;  // request.id is assigned by the fold; 0 when appended.
  auto operator<=>(const OperatorRequested&) const = default;
};

struct OperatorRejected {
  uint64_t request_id = 0;
  std::string reason;
  auto operator<=>(const OperatorRejected&) const = default;
};

struct PlanProposed {
  Plan plan;  // plan.id is assigned by the planner from ClusterState::next_plan_id.
  uint64_t request_id = 0;  // The operator request it answers, or 0.
  auto operator<=>(const PlanProposed&) const = default;
};

struct StepStarted {
  uint64_t plan_id = 0;
  uint32_t step = 0;
  auto operator<=>(const StepStarted&) const = default;
};

struct StepProgress {
  uint64_t plan_id = 0;
  uint32_t step = 0;
  std::vector<SlotRange> slots_done;  // Slots finished since the last progress event.
  uint64_t keys_moved = 0;            // Keys moved since the last progress event.
  auto operator<=>(const StepProgress&) const = default;
};

struct StepCompleted {
  uint64_t plan_id = 0;
  uint32_t step = 0;
  auto operator<=>(const StepCompleted&) const = default;
};

struct StepFailed {
  uint64_t plan_id = 0;
  uint32_t step = 0;
  std::string error;
  auto operator<=>(const StepFailed&) const = default;
};

struct PlanFinished {
  uint64_t plan_id = 0;
  PlanOutcome outcome = PlanOutcome::kCompleted;
  std::string reason;
  auto operator<=>(const PlanFinished&) const = default;
};

struct TopologyCommitted {
  Topology topology;
  auto operator<=>(const TopologyCommitted&) const = default;
};

struct ControllerStarted {
  std::string version;
  std::string config_hash;
  auto operator<=>(const ControllerStarted&) const = default;
};

struct ControllerStopped {
  bool clean = true;
  auto operator<=>(const ControllerStopped&) const = default;
};

struct AlertRaised {
  std::string subject;  // "node 127.0.0.1:7000", "plan 12", "lainlet".
  std::string kind;     // "node-down", "failover-done", "plan-failed", "uncovered-slots", ...
  std::string message;
  bool delivered = false;
  auto operator<=>(const AlertRaised&) const = default;
};

// Whether discovery can reach its source (lainlet), recorded on each change only.
struct DiscoveryStatusChanged {
  std::string source;  // The source's Describe(): "lainlet:http://...".
  bool reachable = true;
  std::string reason;  // Unreachable: the last failure ("connect ...: connection refused").
  auto operator<=>(const DiscoveryStatusChanged&) const = default;
};

// Order is the variant index, NOT the persisted ordinal (see events.capnp). Append only.
using EventPayload =
    std::variant<MembershipChanged, NodeHealthChanged, NodeObserved, OperatorRequested,
                 OperatorRejected, PlanProposed, StepStarted, StepProgress, StepCompleted,
                 StepFailed, PlanFinished, TopologyCommitted, ControllerStarted,
                 ControllerStopped, AlertRaised, DiscoveryStatusChanged>;

struct Event {
  Seq seq = 0;          // Assigned by EventLog::Append.
  int64_t time_ms = 0;  // Wall clock when recorded (assigned by Append when 0).
  Seq cause = 0;        // The event that led to this one, or 0.
  std::string source;   // "discovery", "prober", "planner", "executor", "operator:<who>", ...
  EventPayload payload;
  auto operator<=>(const Event&) const = default;
};

// "membership", "node-health", "node-observed", "operator-request", "operator-rejected",
// "plan-proposed", "step-started", "step-progress", "step-completed", "step-failed",
// "plan-finished", "topology-committed", "controller-started", "controller-stopped", "alert",
// "discovery-status".
std::string_view EventKindName(const EventPayload& payload);

// Where discovery's and the prober's events go (the controller appends them to the event log).
using EventSink = std::function<void(EventPayload)>;

}  // namespace rs::model
