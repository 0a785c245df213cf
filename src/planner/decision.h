// Decision: what one planning round returns to the controller.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/plan.h"

namespace rs::planner {

enum class DecisionKind : uint8_t {
  kNothing = 0,   // Nothing to do (reason says why, e.g. "waiting for 6 members, 4 up").
  kPlan = 1,      // Append PlanProposed{plan, request_id}.
  kReject = 2,    // Append OperatorRejected{request_id, reason}.
  kConflict = 3,  // Raise an alert: the planner will not touch `nodes` (reason says why).
};

struct Decision {
  DecisionKind kind = DecisionKind::kNothing;
  model::Plan plan;
  uint64_t request_id = 0;         // The operator request answered (kPlan or kReject), or 0.
  std::string reason;              // For kNothing, kReject and kConflict.
  std::vector<std::string> nodes;  // kConflict: the addresses involved, sorted.

  static Decision Nothing(std::string why);
  static Decision Propose(model::Plan plan, uint64_t request_id = 0);
  static Decision Reject(uint64_t request_id, std::string why);
  static Decision Conflict(std::string why, std::vector<std::string> nodes);

  bool operator==(const Decision&) const = default;
};

// "plan 3: ...\n  1. ...", "reject request 4: ...", "conflict: ...", "nothing: ...".
std::string DecisionToString(const Decision& d);

}  // namespace rs::planner
