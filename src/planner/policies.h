// Internal to the planner: the policies Make() chooses from, and the builder they share.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/cluster_state.h"
#include "planner/cluster_view.h"
#include "planner/decision.h"
#include "planner/policy.h"
#include "planner/rebalance.h"

namespace rs::planner {

struct Context {
  const model::ClusterState& state;
  const Policy& policy;
  const ClusterView& view;
};

// Accumulates steps, applying each to a copy of the observed layout, and ends the plan with the
// kCommitTopology step the executor verifies.
class PlanBuilder {
 public:
  PlanBuilder(const Context& ctx, std::string reason, std::vector<model::Seq> causes);

  void Add(model::Step step);
  // Starts the layout from a node without a step (the meeting point of a bootstrap).
  void Include(const std::string& address);
  void Meet(const std::string& target, const std::string& peer);
  void Replicate(const std::string& replica, const std::string& master);
  void Migrate(const SlotMove& move);
  void Forget(const std::string& target);  // On every other cluster node that is not down.
  void Reset(const std::string& target);

  const Layout& layout() const { return layout_; }
  bool empty() const { return plan_.steps.empty(); }
  model::Plan Finish();

 private:
  const Context& ctx_;
  Layout layout_;
  model::Plan plan_;
};

// The epoch of the next commit: one more than the committed one; a log's first commit starts
// above the highest cluster currentEpoch the nodes report (1 for a cluster being bootstrapped).
uint64_t NextTopologyEpoch(const model::ClusterState& state);

model::Step MakeStep(model::StepKind kind, model::NodeRef target,
                        model::NodeRef peer = {});

// Masters of the layout as rebalance inputs, weight 1 unless overridden (drained ones weigh 0).
std::vector<MasterLoad> Loads(const Layout& layout,
                              const std::map<std::string, double>& weights = {});

// Spare choice shared by repair, scale out and re-homing: the candidate for `master` on another
// host (the host with most candidates first, then address), or on the same host if none.
std::optional<std::string> PickReplica(const ClusterView& view, const Layout& layout,
                                       const std::string& master,
                                       const std::vector<std::string>& candidates,
                                       bool allow_same_host);

std::optional<Decision> SafetyFailover(const Context& ctx);
// Why what Redis reports cannot be planned on yet (empty when it can): a clustered node's view
// of the layout changed less than policy.settle_ms ago, or the managed cluster's nodes that are
// up do not agree on it. Nothing clustered yet (a bootstrap) never waits.
std::string Unsettled(const Context& ctx);
Decision Bootstrap(const Context& ctx);
std::optional<Decision> Adopt(const Context& ctx);
std::optional<Decision> RepairSlots(const Context& ctx, bool operator_fix);
std::optional<Decision> ScaleIn(const Context& ctx);
// Drains one node out of the cluster; nullopt with `why` set when it cannot be done now.
std::optional<model::Plan> DrainPlan(const Context& ctx, const std::string& address,
                                        const std::string& reason, std::string* why);
// New members and spares: replicas for masters lacking them, then new masters, then rebalance.
// `only`, when set, restricts the newcomers to that address (operator "add node").
std::optional<Decision> ScaleOutAndRepair(const Context& ctx, const std::string* only = nullptr);
std::optional<Decision> FixAntiAffinity(const Context& ctx);
std::optional<Decision> CommitDrift(const Context& ctx);
Decision AnswerRequest(const Context& ctx, const model::OperatorRequest& request);

}  // namespace rs::planner
