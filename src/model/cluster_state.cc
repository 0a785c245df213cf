#include "model/cluster_state.h"

#include <algorithm>
#include <type_traits>

namespace rs::model {
namespace {

// Each handler folds one kind of event; all are pure.
struct Folder {
  ClusterState& s;
  const Event& e;

  void operator()(const MembershipChanged& m) {
    std::map<std::string, Member> next;
    for (const Member& member : m.members) next[member.address] = member;
    // Only members added or removed move membership_seq: an event that changes no address (a
    // file rewritten with other line numbers, a host label learnt later) must not count as a
    // membership change, or it would end an operator's layout (see planner/membership.cc).
    const bool changed =
        !std::equal(next.begin(), next.end(), s.members.begin(), s.members.end(),
                    [](const auto& a, const auto& b) { return a.first == b.first; });
    s.members = std::move(next);
    if (changed) s.membership_seq = e.seq;
    // A retired member that discovery no longer lists is gone; an instance that appears later
    // at that address is a new one.
    std::erase_if(s.retired, [this](const std::string& a) { return !s.members.contains(a); });
  }

  void operator()(const NodeHealthChanged& h) {
    // The prober never classifies a node as unknown: unknown is the controller saying it stopped
    // probing the node (neither a member nor in the cluster any more), so what it knew of the node
    // is history, kept in the log, not state.
    auto it = s.health.find(h.address);
    const bool was_up = it != s.health.end() && it->second.health == Health::kUp;
    if (was_up != (h.health.health == Health::kUp)) s.layout_changed_ms = e.time_ms;
    if (h.health.health == Health::kUnknown) {
      if (s.observed.erase(h.address) > 0) s.layout_changed_ms = e.time_ms;
      s.health.erase(h.address);
      return;
    }
    s.health[h.address] = h.health;
  }

  void operator()(const NodeObserved& o) {
    auto [it, inserted] = s.observed.try_emplace(o.address, o.observation);
    if (inserted || !SameLayoutView(it->second, o.observation)) s.layout_changed_ms = e.time_ms;
    if (!inserted) it->second = o.observation;
  }

  void operator()(const OperatorRequested& r) {
    OperatorRequest req = r.request;
    req.id = s.next_request_id++;
    switch (req.kind) {
      case OperatorKind::kPause:
        s.paused = true;
        return;
      case OperatorKind::kResume:
        s.paused = false;
        return;
      case OperatorKind::kAbort:
        if (s.plan && s.plan->plan.id == req.plan_id) s.plan->abort_requested = true;
        return;
      case OperatorKind::kAddNode:
        s.retired.erase(req.node);
        s.pending_requests.push_back(std::move(req));
        return;
      default:
        s.pending_requests.push_back(std::move(req));
    }
  }

  void operator()(const OperatorRejected& r) { RemoveRequest(r.request_id); }

  void operator()(const PlanProposed& p) {
    if (s.plan) Finish(PlanOutcome::kSuperseded, "superseded by plan " + std::to_string(p.plan.id));
    PlanInFlight f;
    f.plan = p.plan;
    f.status.assign(p.plan.steps.size(), StepStatus::kPending);
    f.slots_done.assign(p.plan.steps.size(), {});
    f.keys_moved.assign(p.plan.steps.size(), 0);
    f.proposed_seq = e.seq;
    s.plan = std::move(f);
    s.next_plan_id = std::max(s.next_plan_id, p.plan.id + 1);
    if (p.request_id != 0) {
      auto r = std::find_if(s.pending_requests.begin(), s.pending_requests.end(),
                            [&p](const OperatorRequest& q) { return q.id == p.request_id; });
      if (r != s.pending_requests.end() && r->kind == OperatorKind::kRemoveNode &&
          s.members.contains(r->node)) {
        s.retired.insert(r->node);
      }
      RemoveRequest(p.request_id);
    }
  }

  void operator()(const StepStarted& x) {
    if (!ValidStep(x.plan_id, x.step)) return;
    s.plan->status[x.step] = StepStatus::kRunning;
  }

  void operator()(const StepProgress& x) {
    if (!ValidStep(x.plan_id, x.step)) return;
    auto& done = s.plan->slots_done[x.step];
    done.insert(done.end(), x.slots_done.begin(), x.slots_done.end());
    done = NormalizeRanges(std::move(done));
    s.plan->keys_moved[x.step] += x.keys_moved;
  }

  void operator()(const StepCompleted& x) {
    if (!ValidStep(x.plan_id, x.step)) return;
    s.plan->status[x.step] = StepStatus::kDone;
  }

  void operator()(const StepFailed& x) {
    if (!ValidStep(x.plan_id, x.step)) return;
    s.plan->status[x.step] = StepStatus::kFailed;
    s.plan->error = x.error;
  }

  void operator()(const PlanFinished& x) {
    if (!s.plan || s.plan->plan.id != x.plan_id) return;
    Finish(x.outcome, x.reason);
  }

  void operator()(const TopologyCommitted& t) {
    // Epochs only grow: a stale commit (replayed or raced) must not roll the topology back.
    if (s.topology.epoch != 0 && t.topology.epoch <= s.topology.epoch) return;
    s.topology = t.topology;
  }

  void operator()(const ControllerStarted&) {}
  void operator()(const ControllerStopped&) {}
  void operator()(const AlertRaised&) {}

  void operator()(const DiscoveryStatusChanged& d) {
    s.discovery_reachable = d.reachable;
    s.discovery_reason = d.reason;
    s.discovery_since_ms = e.time_ms;
    s.discovery_source = d.source;
  }

  bool ValidStep(uint64_t plan_id, uint32_t step) const {
    return s.plan && s.plan->plan.id == plan_id && step < s.plan->plan.steps.size();
  }

  void RemoveRequest(uint64_t id) {
    std::erase_if(s.pending_requests, [id](const OperatorRequest& r) { return r.id == id; });
  }

  void Finish(PlanOutcome outcome, std::string detail) {
    PlanSummary sum;
    sum.id = s.plan->plan.id;
    sum.reason = s.plan->plan.reason;
    sum.outcome = outcome;
    sum.origin = s.plan->plan.origin;
    sum.detail = std::move(detail);
    sum.proposed_seq = s.plan->proposed_seq;
    sum.finished_seq = e.seq;
    s.plan_history.push_back(std::move(sum));
    if (s.plan_history.size() > ClusterState::kMaxPlanHistory) {
      s.plan_history.erase(s.plan_history.begin());
    }
    s.plan.reset();
  }
};

}  // namespace

ClusterState Apply(ClusterState state, const Event& event) {
  std::visit(Folder{state, event}, event.payload);
  state.last_seq = event.seq;
  state.last_time_ms = event.time_ms;
  return state;
}

std::string_view EventKindName(const EventPayload& payload) {
  static constexpr std::string_view kNames[] = {
      "membership",         "node-health",        "node-observed", "operator-request",
      "operator-rejected",  "plan-proposed",      "step-started",  "step-progress",
      "step-completed",     "step-failed",        "plan-finished", "topology-committed",
      "controller-started", "controller-stopped", "alert",         "discovery-status"};
  static_assert(std::size(kNames) == std::variant_size_v<EventPayload>);
  return kNames[payload.index()];
}

}  // namespace rs::model
