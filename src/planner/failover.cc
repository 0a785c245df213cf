// Safety failover: promote the best replica of a master that is really down.
#include <algorithm>

#include <fmt/format.h>

#include "planner/policies.h"

namespace rs::planner {

using model::FailoverMode;
using model::HealthReason;
using model::StepKind;
using model::StepStatus;

namespace {

// How many live masters other than `master` flag it fail? or fail, out of how many.
std::pair<int, int> PeerFlags(const ClusterView& v, const std::string& master,
                              const std::string& id) {
  int flagged = 0, voters = 0;
  for (const auto& [addr, ln] : v.layout.nodes) {
    if (!ln.master || ln.slots.empty() || addr == master) continue;
    const NodeInfo* n = v.Find(addr);
    if (n == nullptr || !n->up()) continue;
    ++voters;
    const auto& peers = n->obs->peers;  // Sorted by id.
    auto it = std::lower_bound(
        peers.begin(), peers.end(), id,
        [](const model::PeerView& p, const std::string& x) { return p.id < x; });
    if (it != peers.end() && it->id == id && (it->pfail || it->fail)) ++flagged;
  }
  return {flagged, voters};
}

// Empty when the master is not (yet) to be failed over, else why it is.
std::string DownBecause(const Context& ctx, const NodeInfo& m) {
  if (!m.down()) return "";
  if (m.health.reason == HealthReason::kRefused) {
    int64_t for_ms = ctx.state.last_time_ms - m.health.since_ms;
    if (for_ms < ctx.policy.refused_grace_ms) return "";
    return fmt::format("refused connections for {} ms", for_ms);
  }
  // A timeout may be a partition between the controller and a live master: act only when the
  // cluster itself agrees.
  auto [flagged, voters] = PeerFlags(ctx.view, m.address, m.id);
  if (voters == 0 || flagged * 2 <= voters) return "";
  return fmt::format("unreachable and flagged failing by {} of {} masters", flagged, voters);
}

bool InFlightFailsOver(const model::ClusterState& s, const std::string& master) {
  if (!s.plan) return false;
  const auto& steps = s.plan->plan.steps;
  for (size_t i = 0; i < steps.size(); ++i) {
    // A planned (default) failover cannot work once the master is dead: supersede it.
    if (steps[i].kind == StepKind::kFailover && steps[i].peer.address == master &&
        steps[i].mode != FailoverMode::kDefault && s.plan->status[i] != StepStatus::kFailed) {
      return true;
    }
  }
  return false;
}

bool CommittedMaster(const model::Topology& t, const std::string& address) {
  return std::any_of(t.shards.begin(), t.shards.end(),
                     [&](const model::Shard& sh) { return sh.master.address == address; });
}

}  // namespace

std::optional<Decision> SafetyFailover(const Context& ctx) {
  const ClusterView& v = ctx.view;
  const model::ClusterState& s = ctx.state;
  if (v.managed < 0) return std::nullopt;
  int masters = 0, masters_down = 0;
  for (const auto& [addr, ln] : v.layout.nodes) {
    if (!ln.master || ln.slots.empty()) continue;
    ++masters;
    if (ln.down) ++masters_down;
  }
  for (const auto& [addr, ln] : v.layout.nodes) {
    if (!ln.master || ln.slots.empty() || !ln.down) continue;
    const NodeInfo& m = *v.Find(addr);
    std::string why = DownBecause(ctx, m);
    if (why.empty()) continue;
    // After our own failover committed, a stale observation may still show the old master.
    if (s.topology.epoch > 0 && !CommittedMaster(s.topology, addr)) continue;
    if (InFlightFailsOver(s, addr)) continue;
    const std::string* best = nullptr;
    uint64_t best_offset = 0;
    for (const std::string& r : v.layout.ReplicasOf(addr)) {
      const NodeInfo* n = v.Find(r);
      if (n == nullptr || !n->up() || n->obs->role != model::Role::kReplica) continue;
      // Offset 0: it never completed a sync (Redis may delay the first one by seconds);
      // promoting it would make an empty node the owner of the master's keys.
      if (n->obs->repl_offset == 0) continue;
      if (best == nullptr || n->obs->repl_offset > best_offset) {
        best = &n->address;
        best_offset = n->obs->repl_offset;
      }
    }
    if (best == nullptr) continue;  // Nothing to promote; the alert is the controller's.

    // FORCE still needs the votes of a majority of all masters; without it only TAKEOVER works,
    // and only when policy allows it (it bumps the epoch without consensus).
    FailoverMode mode = FailoverMode::kForce;
    if ((masters - masters_down) < masters / 2 + 1) {
      if (!ctx.policy.allow_takeover) continue;
      mode = FailoverMode::kTakeover;
    }
    PlanBuilder b(ctx, fmt::format("failover: master {} {}", addr, why), {s.last_seq});
    model::Step step = MakeStep(StepKind::kFailover, v.Ref(*best), v.Ref(addr));
    step.mode = mode;
    b.Add(std::move(step));

    // The new plan supersedes the one in flight. A migration it was running is rolled forward
    // here, with the promoted replica standing in for the dead master.
    if (s.plan) {
      const auto& steps = s.plan->plan.steps;
      for (size_t i = 0; i < steps.size(); ++i) {
        if (steps[i].kind != StepKind::kMigrate || s.plan->status[i] != StepStatus::kRunning) {
          continue;
        }
        SlotMove move{
            steps[i].target.address, steps[i].peer.address,
            SubtractRanges(model::NormalizeRanges(steps[i].slots), s.plan->slots_done[i])};
        if (move.from == addr) move.from = *best;
        if (move.to == addr) move.to = *best;
        const NodeInfo* from = v.Find(move.from);
        const NodeInfo* to = v.Find(move.to);
        if (move.slots.empty() || !from || !to || from->down() || to->down()) continue;
        b.Migrate(move);
      }
    }
    return Decision::Propose(b.Finish());
  }
  return std::nullopt;
}

}  // namespace rs::planner
