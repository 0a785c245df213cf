#include "planner/decision.h"

#include <fmt/format.h>

namespace rs::planner {

Decision Decision::Nothing(std::string why) {
  Decision d;
  d.reason = std::move(why);
  return d;
}

Decision Decision::Propose(model::Plan plan, uint64_t request_id) {
  Decision d;
  d.kind = DecisionKind::kPlan;
  d.plan = std::move(plan);
  d.request_id = request_id;
  return d;
}

Decision Decision::Reject(uint64_t request_id, std::string why) {
  Decision d;
  d.kind = DecisionKind::kReject;
  d.request_id = request_id;
  d.reason = std::move(why);
  return d;
}

Decision Decision::Conflict(std::string why, std::vector<std::string> nodes) {
  Decision d;
  d.kind = DecisionKind::kConflict;
  d.reason = std::move(why);
  d.nodes = std::move(nodes);
  return d;
}

std::string DecisionToString(const Decision& d) {
  switch (d.kind) {
    case DecisionKind::kNothing:
      return fmt::format("nothing: {}", d.reason);
    case DecisionKind::kPlan:
      if (d.request_id == 0) return model::PlanToString(d.plan);
      return fmt::format("(answers request {}) {}", d.request_id, model::PlanToString(d.plan));
    case DecisionKind::kReject:
      return fmt::format("reject request {}: {}", d.request_id, d.reason);
    case DecisionKind::kConflict: {
      std::string nodes;
      for (const std::string& n : d.nodes) nodes += (nodes.empty() ? "" : ", ") + n;
      return fmt::format("conflict: {} [{}]", d.reason, nodes);
    }
  }
  return "?";
}

}  // namespace rs::planner
