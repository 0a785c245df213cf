// Operator requests: validated against the view; invalid ones are rejected with a reason.
#include <fmt/format.h>

#include "planner/policies.h"

namespace rs::planner {

using model::FailoverMode;
using model::OperatorKind;
using model::OperatorRequest;
using model::SlotRange;
using model::StepKind;

namespace {

// Empty when `address` is an up master of the managed cluster, else why not.
std::string NotUpMaster(const ClusterView& v, const std::string& address, std::string_view role) {
  auto it = v.layout.nodes.find(address);
  if (address.empty()) return fmt::format("{} is missing", role);
  if (it == v.layout.nodes.end()) return fmt::format("{} {} is not in the cluster", role, address);
  if (!it->second.master) return fmt::format("{} {} is not a master", role, address);
  const NodeInfo* n = v.Find(address);
  if (n == nullptr || !n->up()) return fmt::format("{} {} is not up", role, address);
  return "";
}

Decision Migrate(const Context& ctx, const OperatorRequest& r) {
  const ClusterView& v = ctx.view;
  if (std::string e = NotUpMaster(v, r.from, "source"); !e.empty())
    return Decision::Reject(r.id, e);
  if (std::string e = NotUpMaster(v, r.to, "destination"); !e.empty()) {
    return Decision::Reject(r.id, e);
  }
  if (r.from == r.to) return Decision::Reject(r.id, "source and destination are the same node");
  const std::vector<SlotRange>& held = v.layout.nodes.at(r.from).slots;
  SlotMove move{r.from, r.to, {}};
  if (!r.slots.empty()) {
    for (const SlotRange& s : r.slots) {
      if (s.first > s.last || s.last >= model::kSlotCount) {
        return Decision::Reject(r.id, fmt::format("invalid slot range {}-{}", s.first, s.last));
      }
    }
    move.slots = model::NormalizeRanges(r.slots);
    std::vector<SlotRange> not_held = SubtractRanges(move.slots, held);
    if (!not_held.empty()) {
      return Decision::Reject(r.id, fmt::format("slots {} are not owned by {}",
                                                model::RangesToString(not_held), r.from));
    }
  } else if (r.count > 0) {
    if (r.count > model::CountSlots(held)) {
      return Decision::Reject(r.id, fmt::format("{} holds {} slots, fewer than the {} asked",
                                                r.from, model::CountSlots(held), r.count));
    }
    // The highest slots, as redis-cli reshard takes them.
    std::vector<SlotRange> left = held;
    uint32_t n = r.count;
    while (n > 0) {
      SlotRange& back = left.back();
      uint32_t take = std::min(n, back.size());
      move.slots.push_back({static_cast<uint16_t>(back.last - take + 1), back.last});
      n -= take;
      if (take == back.size()) {
        left.pop_back();
      } else {
        back.last = static_cast<uint16_t>(back.last - take);
      }
    }
    move.slots = model::NormalizeRanges(std::move(move.slots));
  } else {
    return Decision::Reject(r.id, "migrate needs slot ranges or a count");
  }
  PlanBuilder b(ctx,
                fmt::format("operator {}: migrate {} slots from {} to {}", r.who,
                            model::CountSlots(move.slots), r.from, r.to),
                {ctx.state.last_seq});
  b.Migrate(move);
  return Decision::Propose(b.Finish(), r.id);
}

Decision Rebalance(const Context& ctx, const OperatorRequest& r) {
  const ClusterView& v = ctx.view;
  for (const auto& [addr, w] : r.weights) {
    if (std::string e = NotUpMaster(v, addr, "weighted node"); !e.empty()) {
      return Decision::Reject(r.id, e);
    }
    if (w < 0) return Decision::Reject(r.id, fmt::format("negative weight for {}", addr));
  }
  std::vector<MasterLoad> loads;
  for (const auto& [addr, n] : v.layout.nodes) {
    if (!n.master) continue;
    const NodeInfo* info = v.Find(addr);
    if (info == nullptr || !info->up()) {
      if (!n.slots.empty()) {
        return Decision::Reject(r.id, fmt::format("master {} is not up", addr));
      }
      continue;
    }
    double w = 1.0;
    if (auto it = r.weights.find(addr); it != r.weights.end()) w = it->second;
    loads.push_back({addr, n.slots, w});
  }
  double threshold = r.threshold > 0 ? r.threshold : ctx.policy.rebalance_threshold_pct;
  std::vector<SlotMove> moves = planner::Rebalance(loads, threshold);
  if (moves.empty()) {
    return Decision::Reject(
        r.id, fmt::format("nothing to do: every master is within {}% of its share", threshold));
  }
  uint32_t moved = 0;
  for (const SlotMove& m : moves) moved += model::CountSlots(m.slots);
  PlanBuilder b(ctx, fmt::format("operator {}: rebalance moves {} slots", r.who, moved),
                {ctx.state.last_seq});
  for (const SlotMove& m : moves) b.Migrate(m);
  return Decision::Propose(b.Finish(), r.id);
}

Decision Failover(const Context& ctx, const OperatorRequest& r) {
  const ClusterView& v = ctx.view;
  auto it = v.layout.nodes.find(r.node);
  if (it == v.layout.nodes.end()) {
    return Decision::Reject(r.id, fmt::format("{} is not in the cluster", r.node));
  }
  std::string replica, master;
  if (it->second.master) {
    master = r.node;
    uint64_t best = 0;
    for (const std::string& c : v.layout.ReplicasOf(master)) {
      const NodeInfo* n = v.Find(c);
      if (n == nullptr || !n->up()) continue;
      if (replica.empty() || n->obs->repl_offset > best) {
        replica = c;
        best = n->obs->repl_offset;
      }
    }
    if (replica.empty()) {
      return Decision::Reject(r.id, fmt::format("master {} has no replica that is up", master));
    }
  } else {
    replica = r.node;
    master = it->second.master_address;
    if (!v.Find(replica)->up()) {
      return Decision::Reject(r.id, fmt::format("replica {} is not up", replica));
    }
  }
  const NodeInfo* m = v.Find(master);
  const bool master_up = m != nullptr && m->up();
  if (r.mode == FailoverMode::kDefault && !master_up) {
    return Decision::Reject(r.id, fmt::format("master {} is not up: the default failover needs its "
                                              "handshake (ask for FORCE)",
                                              master));
  }
  if (r.mode == FailoverMode::kTakeover && !ctx.policy.allow_takeover) {
    return Decision::Reject(r.id, "TAKEOVER is not allowed by policy");
  }
  PlanBuilder b(ctx, fmt::format("operator {}: failover {} over {}", r.who, replica, master),
                {ctx.state.last_seq});
  model::Step s = MakeStep(StepKind::kFailover, v.Ref(replica), v.Ref(master));
  s.mode = r.mode;
  b.Add(std::move(s));
  return Decision::Propose(b.Finish(), r.id);
}

Decision AnswerKind(const Context& ctx, const OperatorRequest& r) {
  const ClusterView& v = ctx.view;
  if (v.managed < 0 && r.kind != OperatorKind::kAddNode) {
    return Decision::Reject(r.id, "there is no cluster yet");
  }
  switch (r.kind) {
    case OperatorKind::kMigrate:
      return Migrate(ctx, r);
    case OperatorKind::kRebalance:
      return Rebalance(ctx, r);
    case OperatorKind::kFailover:
      return Failover(ctx, r);
    case OperatorKind::kAddNode: {
      const NodeInfo* n = v.Find(r.node);
      if (n == nullptr || !n->wanted) {
        return Decision::Reject(r.id, fmt::format("{} is not a wanted member: members come from "
                                                  "discovery, add it there first",
                                                  r.node));
      }
      if (v.InCluster(r.node)) {
        return Decision::Reject(r.id, fmt::format("{} is already in the cluster", r.node));
      }
      if (!n->up() || !n->fresh) {
        return Decision::Reject(r.id,
                                fmt::format("{} is not up, or belongs to another cluster", r.node));
      }
      if (v.managed < 0) return Decision::Reject(r.id, "there is no cluster yet to add it to");
      auto d = ScaleOutAndRepair(ctx, &r.node);
      if (!d) return Decision::Reject(r.id, fmt::format("{} cannot join now", r.node));
      d->request_id = r.id;
      d->plan.reason = fmt::format("operator {}: add {}: {}", r.who, r.node, d->plan.reason);
      return *d;
    }
    case OperatorKind::kRemoveNode: {
      std::string why;
      auto plan =
          DrainPlan(ctx, r.node, fmt::format("operator {}: remove {}", r.who, r.node), &why);
      if (!plan) return Decision::Reject(r.id, why);
      return Decision::Propose(std::move(*plan), r.id);
    }
    case OperatorKind::kFix: {
      auto d = RepairSlots(ctx, /*operator_fix=*/true);
      if (!d) return Decision::Reject(r.id, "nothing to fix: no open or uncovered slots");
      d->request_id = r.id;
      return *d;
    }
    case OperatorKind::kPause:
    case OperatorKind::kResume:
    case OperatorKind::kAbort:
      return Decision::Reject(r.id, "handled when the request is folded, not by a plan");
    case OperatorKind::kUnknown:
      return Decision::Reject(
          r.id, "a request of a kind this redis-ctl does not know (asked of a newer one)");
  }
  return Decision::Reject(r.id, "unknown request kind");
}

}  // namespace

Decision AnswerRequest(const Context& ctx, const OperatorRequest& r) {
  Decision d = AnswerKind(ctx, r);
  // These plans lay the cluster out as the operator chose; automation keeps that layout (the
  // operator-layout rule in membership.cc reads the origin). A fix only repairs slots.
  if (d.kind == DecisionKind::kPlan && r.kind != OperatorKind::kFix) {
    d.plan.origin = model::PlanOrigin::kOperator;
  }
  return d;
}

}  // namespace rs::planner
