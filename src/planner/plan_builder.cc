#include "planner/policies.h"

#include <algorithm>

namespace rs::planner {

using model::Step;
using model::StepKind;

Step MakeStep(StepKind kind, model::NodeRef target, model::NodeRef peer) {
  Step s;
  s.kind = kind;
  s.target = std::move(target);
  s.peer = std::move(peer);
  return s;
}

PlanBuilder::PlanBuilder(const Context& ctx, std::string reason, std::vector<model::Seq> causes)
    : ctx_(ctx), layout_(ctx.view.layout) {
  plan_.id = ctx.state.next_plan_id;
  plan_.reason = std::move(reason);
  std::sort(causes.begin(), causes.end());
  causes.erase(std::unique(causes.begin(), causes.end()), causes.end());
  std::erase(causes, model::Seq{0});
  plan_.causes = std::move(causes);
}

void PlanBuilder::Add(Step step) {
  const LayoutNode* joining = nullptr;
  LayoutNode fresh;
  if (step.kind == StepKind::kMeet) {
    if (const NodeInfo* n = ctx_.view.Find(step.target.address)) {
      fresh.id = n->id;
      fresh.host = n->host;
      fresh.down = n->down();
      joining = &fresh;
    }
  }
  layout_.Apply(step, joining);
  plan_.steps.push_back(std::move(step));
}

void PlanBuilder::Include(const std::string& address) {
  const NodeInfo* n = ctx_.view.Find(address);
  LayoutNode& ln = layout_.nodes[address];
  if (n) {
    ln.id = n->id;
    ln.host = n->host;
    ln.down = n->down();
  }
}

void PlanBuilder::Meet(const std::string& target, const std::string& peer) {
  Add(MakeStep(StepKind::kMeet, ctx_.view.Ref(target), ctx_.view.Ref(peer)));
}

void PlanBuilder::Replicate(const std::string& replica, const std::string& master) {
  Add(MakeStep(StepKind::kReplicate, ctx_.view.Ref(replica), ctx_.view.Ref(master)));
}

void PlanBuilder::Migrate(const SlotMove& move) {
  Step s = MakeStep(StepKind::kMigrate, ctx_.view.Ref(move.from), ctx_.view.Ref(move.to));
  s.slots = move.slots;
  Add(std::move(s));
}

void PlanBuilder::Forget(const std::string& target) {
  Step s = MakeStep(StepKind::kForget, ctx_.view.Ref(target));
  for (const auto& [addr, n] : layout_.nodes) {
    if (addr != target && !n.down) s.nodes.push_back({addr, n.id});
  }
  Add(std::move(s));
}

void PlanBuilder::Reset(const std::string& target) {
  Add(MakeStep(StepKind::kReset, ctx_.view.Ref(target)));
}

uint64_t NextTopologyEpoch(const model::ClusterState& state) {
  if (state.topology.epoch != 0) return state.topology.epoch + 1;
  // A log's first commit. When it adopts a formed cluster (the controller lost its data dir),
  // observers may have followed a higher epoch of the old log: starting above the nodes'
  // currentEpoch keeps the new epochs above most of what they saw (the generation tells the rest).
  uint64_t highest = 0;
  for (const auto& [addr, o] : state.observed) highest = std::max(highest, o.current_epoch);
  return highest + 1;
}

model::Plan PlanBuilder::Finish() {
  Step commit;
  commit.kind = StepKind::kCommitTopology;
  commit.topology = layout_.ToTopology(NextTopologyEpoch(ctx_.state));
  plan_.steps.push_back(std::move(commit));
  return std::move(plan_);
}

std::vector<MasterLoad> Loads(const Layout& layout, const std::map<std::string, double>& weights) {
  std::vector<MasterLoad> out;
  for (const auto& [addr, n] : layout.nodes) {
    if (!n.master) continue;
    MasterLoad m;
    m.address = addr;
    m.slots = n.slots;
    if (auto it = weights.find(addr); it != weights.end()) m.weight = it->second;
    out.push_back(std::move(m));
  }
  return out;
}

std::optional<std::string> PickReplica(const ClusterView& view, const Layout& layout,
                                       const std::string& master,
                                       const std::vector<std::string>& candidates,
                                       bool allow_same_host) {
  auto host_of = [&](const std::string& addr) {
    if (auto it = layout.nodes.find(addr); it != layout.nodes.end()) return it->second.host;
    const NodeInfo* n = view.Find(addr);
    return n ? n->host : HostOf(addr);
  };
  const std::string master_host = host_of(master);
  std::map<std::string, int> per_host;
  for (const std::string& c : candidates) ++per_host[host_of(c)];
  const std::string* best = nullptr;
  int best_count = -1;
  for (const std::string& c : candidates) {
    std::string h = host_of(c);
    if (h == master_host) continue;
    if (per_host[h] > best_count) {
      best = &c;
      best_count = per_host[h];
    }
  }
  if (best) return *best;
  if (allow_same_host && !candidates.empty()) return candidates.front();
  return std::nullopt;
}

}  // namespace rs::planner
