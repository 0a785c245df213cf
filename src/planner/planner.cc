#include "planner/planner.h"

#include <fmt/format.h>

#include "planner/policies.h"

namespace rs::planner {

Decision Make(const model::ClusterState& state, const Policy& policy) {
  const ClusterView view = BuildView(state);
  const Context ctx{state, policy, view};

  // Safety comes first: a dead master is failed over even while paused or while a plan runs
  // (the new plan supersedes the old one and rolls its running migration forward).
  if (auto d = SafetyFailover(ctx)) return *d;
  if (state.plan)
    return Decision::Nothing(fmt::format("plan {} is in flight", state.plan->plan.id));
  // Everything below plans on what Redis reports, and every plan commits a topology built from
  // it: a view taken while gossip settles (nodes that do not know each other yet) would commit a
  // cluster missing slots and replicas.
  if (std::string wait = Unsettled(ctx); !wait.empty()) return Decision::Nothing(wait);
  if (!state.pending_requests.empty()) return AnswerRequest(ctx, state.pending_requests.front());
  if (state.paused) return Decision::Nothing("automation is paused");
  // An empty membership is never acted on: it is far likelier a broken source than a wish to
  // delete the whole cluster.
  if (state.members.empty()) return Decision::Nothing("no wanted members");
  if (view.ambiguous) {
    std::vector<std::string> nodes;
    for (const auto& [addr, n] : view.nodes) {
      if (n.wanted && n.component >= 0) nodes.push_back(addr);
    }
    return Decision::Conflict("members form several clusters that hold slots; none is ours", nodes);
  }
  if (view.managed < 0) return Bootstrap(ctx);
  if (auto d = Adopt(ctx)) return *d;
  if (auto d = RepairSlots(ctx, /*operator_fix=*/false)) return *d;
  if (auto d = ScaleIn(ctx)) return *d;
  if (auto d = ScaleOutAndRepair(ctx)) return *d;
  if (auto d = FixAntiAffinity(ctx)) return *d;
  if (auto d = CommitDrift(ctx)) return *d;
  if (!view.foreign.empty()) {
    return Decision::Conflict("members belong to another cluster; they are never reset",
                              view.foreign);
  }
  return Decision::Nothing("the cluster matches policy");
}

}  // namespace rs::planner
