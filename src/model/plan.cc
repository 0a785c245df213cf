#include "model/plan.h"

#include <fmt/format.h>

namespace rs::model {
namespace {

std::string Node(const NodeRef& n) {
  if (n.id.empty()) return n.address;
  return fmt::format("{} ({})", n.address, n.id.substr(0, 8));
}

std::string_view ModeName(FailoverMode m) {
  switch (m) {
    case FailoverMode::kDefault: return "default";
    case FailoverMode::kForce: return "FORCE";
    case FailoverMode::kTakeover: return "TAKEOVER";
    case FailoverMode::kUnknown:
      return "unknown";
  }
  return "?";
}

}  // namespace

std::string StepToString(const Step& s) {
  switch (s.kind) {
    case StepKind::kMeet:
      return fmt::format("meet {} with {}", Node(s.target), Node(s.peer));
    case StepKind::kAssignSlots:
      return fmt::format("assign slots {} to {}", RangesToString(s.slots), Node(s.target));
    case StepKind::kSetConfigEpoch:
      return fmt::format("set config epoch {} on {}", s.config_epoch, Node(s.target));
    case StepKind::kReplicate:
      return fmt::format("make {} a replica of {}", Node(s.target), Node(s.peer));
    case StepKind::kMigrate:
      return fmt::format("migrate slots {} ({} slots) from {} to {}", RangesToString(s.slots),
                         CountSlots(s.slots), Node(s.target), Node(s.peer));
    case StepKind::kFailover:
      return fmt::format("failover ({}) promoting {} over {}", ModeName(s.mode), Node(s.target),
                         Node(s.peer));
    case StepKind::kForget:
      return fmt::format("forget {} on {} nodes", Node(s.target), s.nodes.size());
    case StepKind::kReset:
      return fmt::format("reset {}", Node(s.target));
    case StepKind::kFixOpenSlot:
      return fmt::format("fix open slots {} on {}", RangesToString(s.slots), Node(s.target));
    case StepKind::kCommitTopology: {
      uint32_t replicas = 0;
      for (const Shard& sh : s.topology.shards) replicas += sh.replicas.size();
      return fmt::format("commit topology epoch {}: {} masters, {} replicas", s.topology.epoch,
                         s.topology.shards.size(), replicas);
    }
    case StepKind::kUnknown:
      return fmt::format("unknown step (written by a newer redis-ctl) on {}", Node(s.target));
  }
  return "unknown step";
}

std::string PlanToString(const Plan& plan) {
  std::string out = fmt::format("plan {}: {}\n", plan.id, plan.reason);
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    out += fmt::format("  {}. {}\n", i + 1, StepToString(plan.steps[i]));
  }
  return out;
}

}  // namespace rs::model
