#include "admin/metrics.h"

#include <fmt/format.h>

#include "admin/decision_timing.h"
#include "admin/operation_json.h"
#include "eventlog/event_format.h"

namespace rs::admin {
namespace {

std::string StepKindLabel(model::StepKind k) {
  model::Plan p;
  p.steps.push_back({});
  p.steps[0].kind = k;
  return PlanStepsToJson(p)[0]["kind"].get<std::string>();
}

}  // namespace

void MetricsFollower::Observe(const eventlog::DecodedEvent& d) {
  std::lock_guard lock(mu_);
  events_by_kind_[svc::KindName(d)]++;
  if (d.kind != eventlog::RecordKind::kEvent) return;
  const auto& p = d.event.payload;
  const int64_t t = d.event.time_ms;
  if (const auto* pp = std::get_if<model::PlanProposed>(&p)) {
    auto& kinds = plan_steps_[pp->plan.id];
    for (const auto& s : pp->plan.steps) kinds.push_back(s.kind);
    // Keep memory bounded on long logs: only plans that may still run matter.
    while (plan_steps_.size() > 16) plan_steps_.erase(plan_steps_.begin());
  } else if (const auto* s = std::get_if<model::StepStarted>(&p)) {
    step_started_ms_[{s->plan_id, s->step}] = t;
  } else if (std::holds_alternative<model::StepCompleted>(p) ||
             std::holds_alternative<model::StepFailed>(p)) {
    uint64_t plan = 0;
    uint32_t step = 0;
    if (const auto* c = std::get_if<model::StepCompleted>(&p)) {
      plan = c->plan_id, step = c->step;
    } else {
      const auto& f = std::get<model::StepFailed>(p);
      plan = f.plan_id, step = f.step;
    }
    auto it = step_started_ms_.find({plan, step});
    auto kinds = plan_steps_.find(plan);
    if (it != step_started_ms_.end() && kinds != plan_steps_.end() && step < kinds->second.size()) {
      Duration& dur = step_seconds_[StepKindLabel(kinds->second[step])];
      dur.sum_s += std::max<int64_t>(0, t - it->second) / 1000.0;
      dur.count++;
    }
    if (it != step_started_ms_.end()) step_started_ms_.erase(it);
  } else if (const auto* pr = std::get_if<model::StepProgress>(&p)) {
    slots_migrated_ += model::CountSlots(pr->slots_done);
    keys_migrated_ += pr->keys_moved;
  } else if (const auto* f = std::get_if<model::PlanFinished>(&p)) {
    plans_by_outcome_[std::string(svc::OutcomeName(f->outcome))]++;
    plan_steps_.erase(f->plan_id);
  } else if (std::holds_alternative<model::OperatorRequested>(p)) {
    operator_requests_++;
  } else if (std::holds_alternative<model::AlertRaised>(p)) {
    alerts_++;
  }
}

std::string MetricsFollower::Render(const model::ClusterState& state) const {
  std::string out;
  auto header = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  {
    std::lock_guard lock(mu_);
    header("redis_ctl_events_total", "counter", "Events appended to the log, by kind.");
    for (const auto& [k, n] : events_by_kind_) {
      out += fmt::format("redis_ctl_events_total{{kind=\"{}\"}} {}\n", k, n);
    }
    header("redis_ctl_plans_total", "counter", "Finished plans, by outcome.");
    for (const char* o : {"completed", "failed", "aborted", "superseded"}) {
      auto it = plans_by_outcome_.find(o);
      out += fmt::format("redis_ctl_plans_total{{outcome=\"{}\"}} {}\n", o,
                         it == plans_by_outcome_.end() ? 0 : it->second);
    }
    header("redis_ctl_step_duration_seconds", "summary", "Time from step start to its end.");
    for (const auto& [k, d] : step_seconds_) {
      out += fmt::format("redis_ctl_step_duration_seconds_sum{{step=\"{}\"}} {:.3f}\n", k, d.sum_s);
      out += fmt::format("redis_ctl_step_duration_seconds_count{{step=\"{}\"}} {}\n", k, d.count);
    }
    header("redis_ctl_slots_migrated_total", "counter", "Slots moved by migrate steps.");
    out += fmt::format("redis_ctl_slots_migrated_total {}\n", slots_migrated_);
    header("redis_ctl_keys_migrated_total", "counter", "Keys moved by migrate steps.");
    out += fmt::format("redis_ctl_keys_migrated_total {}\n", keys_migrated_);
    header("redis_ctl_operator_requests_total", "counter", "Operator requests recorded.");
    out += fmt::format("redis_ctl_operator_requests_total {}\n", operator_requests_);
    header("redis_ctl_alerts_total", "counter", "Alert events recorded (mutes included).");
    out += fmt::format("redis_ctl_alerts_total {}\n", alerts_);
  }
  header("redis_ctl_node_health", "gauge",
         "1 for the node's current health (unknown, up, suspect, down), else 0.");
  for (const auto& [addr, h] : state.health) {
    for (auto v : {model::Health::kUnknown, model::Health::kUp, model::Health::kSuspect,
                   model::Health::kDown}) {
      out += fmt::format("redis_ctl_node_health{{node=\"{}\",health=\"{}\"}} {}\n", addr,
                         model::HealthName(v), h.health == v ? 1 : 0);
    }
  }
  header("redis_ctl_topology_epoch", "gauge", "Epoch of the committed topology.");
  out += fmt::format("redis_ctl_topology_epoch {}\n", state.topology.epoch);
  header("redis_ctl_last_seq", "gauge", "Sequence of the last event folded.");
  out += fmt::format("redis_ctl_last_seq {}\n", state.last_seq);
  header("redis_ctl_paused", "gauge", "1 while automation is paused.");
  out += fmt::format("redis_ctl_paused {}\n", state.paused ? 1 : 0);
  header("redis_ctl_plan_in_flight", "gauge", "1 while a plan runs.");
  out += fmt::format("redis_ctl_plan_in_flight {}\n", state.plan ? 1 : 0);
  header("redis_ctl_discovery_reachable", "gauge",
         "0 while discovery cannot reach its source (lainlet), else 1.");
  out += fmt::format("redis_ctl_discovery_reachable {}\n", state.discovery_reachable ? 1 : 0);
  DecisionTotals planner = DecisionTiming::Planner().Read();
  header("redis_ctl_planner_decisions_total", "counter", "Planner decisions made (planner::Make).");
  out += fmt::format("redis_ctl_planner_decisions_total {}\n", planner.decisions);
  header("redis_ctl_planner_decision_seconds_total", "counter", "Time spent in those decisions.");
  out += fmt::format("redis_ctl_planner_decision_seconds_total {:.6f}\n", planner.nanos / 1e9);
  return out;
}

}  // namespace rs::admin
