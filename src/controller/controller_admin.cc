// admin::ControllerView beyond State/WaitForEvent/Ready: what the admin API reads from the
// controller (the log, the prober's samples, the planner's dry run, the admin settings, backups).
#include <chrono>

#include <fmt/format.h>

#include "common/now.h"
#include "controller/controller.h"
#include "eventlog/backup.h"
#include "planner/planner.h"

namespace rs::controller {

Status Controller::ScanEvents(model::Seq from, model::Seq to,
                              const std::function<bool(const eventlog::DecodedEvent&)>& fn) {
  // The store outlives the admin server; the log is thread-safe.
  return store_->log().Scan(from, to, fn);
}

const eventlog::EventLog& Controller::Log() {
  return store_->log();  // The store outlives the admin server; the log is thread-safe.
}

std::vector<admin::MetricSample> Controller::Samples(const std::string& address) {
  std::vector<admin::MetricSample> out;
  if (!prober_) return out;
  for (const health::Sample& s : prober_->Samples(address)) {
    out.push_back({s.time_ms, s.ops_per_sec, s.used_memory, s.keys});
  }
  return out;
}

admin::DryRunResult Controller::DryRun(const model::OperatorRequest& request) {
  model::ClusterState state = State();
  const int64_t now = NowMs();
  const uint64_t id = state.next_request_id;
  model::Event e;
  e.seq = state.last_seq + 1;
  e.time_ms = now;
  e.source = "operator";
  e.payload = model::OperatorRequested{request};
  // The same fold and planner the controller runs, on a copy: nothing is recorded.
  state = model::Apply(std::move(state), e);
  state.last_time_ms = now;
  planner::Decision d = planner::Make(state, policy_);
  admin::DryRunResult r;
  if (d.request_id == id && d.kind == planner::DecisionKind::kPlan) {
    r.kind = admin::DryRunResult::Kind::kPlan;
    r.plan = std::move(d.plan);
  } else if (d.request_id == id && d.kind == planner::DecisionKind::kReject) {
    r.kind = admin::DryRunResult::Kind::kReject;
    r.reason = d.reason;
  } else if (state.plan) {
    r.reason = fmt::format("waits for plan {} ({}) to finish", state.plan->plan.id,
                           state.plan->plan.reason);
  } else if (d.kind == planner::DecisionKind::kPlan) {
    r.reason = fmt::format("the planner first runs: {}", d.plan.reason);
  } else if (request.kind == model::OperatorKind::kPause ||
             request.kind == model::OperatorKind::kResume) {
    r.reason = state.paused ? "automation will be paused" : "automation will run";
  } else {
    r.reason = d.reason.empty() ? "the planner has nothing to do for it" : d.reason;
  }
  return r;
}

admin::AdminSettings Controller::Settings() {
  admin::AdminSettings s;
  s.tokens = config_.admin_tokens;
  s.open_reads = config_.open_reads;
  s.alert_webhook = config_.alert_webhook;
  s.alert_cooldown_s = config_.alert_cooldown_s;
  s.backup_dir = config_.backup_dir;
  return s;
}

Result<eventlog::BackupInfo> Controller::Backup(const std::string& dir) {
  // As in ScanEvents: the copy runs beside the writer.
  return eventlog::CheckpointVerified(store_->log(), dir);
}

}  // namespace rs::controller
