#include "executor/executor.h"

#include <chrono>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "executor/crash_point.h"

namespace rs::executor {

using model::PlanInFlight;
using model::Seq;
using model::StepKind;
using model::StepStatus;

namespace {

bool Transient(const Status& s) {
  return s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kTimeout;
}

// Reports migrate progress as events and honours stop, pause and abort between batches.
class Hooks : public StepHooks {
 public:
  Hooks(Journal* journal, uint64_t plan_id, uint32_t step, Seq cause,
        const std::atomic<bool>* stop, double max_keys_per_s)
      : journal_(journal), plan_id_(plan_id), step_(step), cause_(cause), stop_(stop),
        max_keys_per_s_(max_keys_per_s),
        window_start_(std::chrono::steady_clock::now()) {}

  Status Progress(const std::vector<model::SlotRange>& slots, uint64_t keys) override {
    model::StepProgress p{plan_id_, step_, slots, keys};
    return journal_->Record(p, cause_, /*sync=*/true).status();
  }

  Status Checkpoint(uint64_t keys_just_moved) override {
    if (max_keys_per_s_ > 0 && keys_just_moved > 0) {
      window_keys_ += keys_just_moved;
      auto elapsed = std::chrono::steady_clock::now() - window_start_;
      auto want = std::chrono::duration<double>(window_keys_ / max_keys_per_s_);
      if (want > elapsed) std::this_thread::sleep_for(want - elapsed);
    }
    // One look at the folded state answers both questions: aborted? paused (by an operator)?
    while (true) {
      if (stop_ && stop_->load()) return Status::Aborted("controller is stopping");
      auto state = journal_->State();
      if (state.plan && state.plan->plan.id == plan_id_ && state.plan->abort_requested) {
        return Status::Aborted("abort requested by an operator");
      }
      if (!state.paused) return Status::Ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

 private:
  Journal* journal_;
  uint64_t plan_id_;
  uint32_t step_;
  Seq cause_;
  const std::atomic<bool>* stop_;
  double max_keys_per_s_;
  std::chrono::steady_clock::time_point window_start_;
  uint64_t window_keys_ = 0;
};

}  // namespace

Status Executor::RunStepOnce(const PlanInFlight& plan, uint32_t index, AdminPool* pool,
                             const std::atomic<bool>* stop) {
  const model::Step& step = plan.plan.steps[index];
  RS_ASSIGN_OR_RETURN(Seq started,
                      journal_->Record(model::StepStarted{plan.plan.id, index},
                                       plan.proposed_seq, /*sync=*/true));
  CRASH_POINT("step.after_started");
  // Slots finished by an earlier run (progress events folded into the state).
  std::vector<model::SlotRange> done;
  {
    auto state = journal_->State();
    if (state.plan && state.plan->plan.id == plan.plan.id) done = state.plan->slots_done[index];
  }
  Hooks hooks(journal_, plan.plan.id, index, started, stop,
              config_.max_keys_per_second);
  StepRunner runner(pool, config_.step, stop);
  RS_RETURN_IF_ERROR(runner.Run(step, done, &hooks));
  CRASH_POINT("step.before_completed");
  if (step.kind == StepKind::kCommitTopology) {
    // Verified: the cluster matches the plan. Only now is the topology committed.
    RS_RETURN_IF_ERROR(
        journal_->Record(model::TopologyCommitted{step.topology}, started, true).status());
  }
  return journal_->Record(model::StepCompleted{plan.plan.id, index}, started, true).status();
}

Status Executor::RunStep(const PlanInFlight& plan, uint32_t index, const std::atomic<bool>* stop) {
  AdminPool pool(config_.connect);
  Status s;
  int backoff = config_.retry_backoff_ms;
  for (uint32_t attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    s = RunStepOnce(plan, index, &pool, stop);
    if (s.ok() || !Transient(s) || (stop && stop->load())) break;
    spdlog::warn("plan {} step {} attempt {}/{}: {}", plan.plan.id, index + 1, attempt,
                 config_.max_attempts, s.ToString());
    for (auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff);
         !(stop && stop->load()) && std::chrono::steady_clock::now() < until;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    backoff *= 2;
  }
  return s;
}

uint32_t Executor::ParallelEnd(const PlanInFlight& plan, uint32_t first) const {
  // Consecutive migrate steps, or consecutive replicate steps, go at once when no node is the
  // target (source, replica) of two of them or both a target and a peer (destination, master).
  // Several sources may feed one destination (it imports distinct slots from each); several
  // replicas may attach to one master (one sync can feed them all). One after another, each
  // replica would wait out its master's repl-diskless-sync-delay (5 s by default) on its own.
  const auto& steps = plan.plan.steps;
  const StepKind kind = steps[first].kind;
  uint32_t bound = kind == StepKind::kMigrate     ? config_.max_parallel_migrations
                   : kind == StepKind::kReplicate ? config_.max_parallel_replications
                                                  : 1;
  std::set<std::string> targets = {steps[first].target.address};
  std::set<std::string> peers = {steps[first].peer.address};
  uint32_t end = first + 1;
  while (end < steps.size() && end - first < bound && steps[end].kind == kind &&
         plan.status[end] != StepStatus::kDone && !targets.count(steps[end].target.address) &&
         !peers.count(steps[end].target.address) && !targets.count(steps[end].peer.address)) {
    targets.insert(steps[end].target.address);
    peers.insert(steps[end].peer.address);
    ++end;
  }
  return end;
}

Status Executor::RunPlan(const std::atomic<bool>* stop) {
  auto state = journal_->State();
  if (!state.plan) return Status::Ok();
  const PlanInFlight plan = *state.plan;
  const auto& steps = plan.plan.steps;
  spdlog::info("running {}", model::PlanToString(plan.plan));
  Status failure;
  uint32_t failed_step = 0;
  for (uint32_t i = 0; i < steps.size() && failure.ok();) {
    if (plan.status[i] == StepStatus::kDone) {
      ++i;
      continue;
    }
    const uint32_t end = ParallelEnd(plan, i);
    if (end == i + 1) {
      failure = RunStep(plan, i, stop);
      failed_step = i;
    } else {
      std::vector<Status> results(end - i);
      std::vector<std::thread> threads;
      for (uint32_t j = i; j < end; ++j) {
        threads.emplace_back([&, j] { results[j - i] = RunStep(plan, j, stop); });
      }
      for (auto& t : threads) t.join();
      for (uint32_t j = i; j < end && failure.ok(); ++j) {
        if (!results[j - i].ok()) {
          failure = results[j - i];
          failed_step = j;
        }
      }
    }
    i = end;
  }
  if (failure.ok()) {
    RS_RETURN_IF_ERROR(journal_->Record(model::PlanFinished{plan.plan.id,
                                                               model::PlanOutcome::kCompleted, ""},
                                        plan.proposed_seq, true)
                           .status());
    spdlog::info("plan {} completed", plan.plan.id);
    return Status::Ok();
  }
  if (stop && stop->load()) {
    // Not a failure: the plan stays in flight and resumes on the next start.
    spdlog::info("plan {} interrupted by shutdown at step {}", plan.plan.id, failed_step + 1);
    return failure;
  }
  auto now = journal_->State();
  bool aborted = failure.code() == StatusCode::kAborted && now.plan &&
                 now.plan->plan.id == plan.plan.id && now.plan->abort_requested;
  if (!aborted) {
    RS_RETURN_IF_ERROR(journal_->Record(model::StepFailed{plan.plan.id, failed_step,
                                                             failure.ToString()},
                                        plan.proposed_seq, true)
                           .status());
  }
  RS_RETURN_IF_ERROR(
      journal_->Record(model::PlanFinished{plan.plan.id,
                                              aborted ? model::PlanOutcome::kAborted
                                                      : model::PlanOutcome::kFailed,
                                              fmt::format("step {}: {}", failed_step + 1,
                                                          failure.ToString())},
                       plan.proposed_seq, true)
          .status());
  spdlog::error("plan {} {} at step {}: {}", plan.plan.id, aborted ? "aborted" : "failed",
                failed_step + 1, failure.ToString());
  return failure;
}

}  // namespace rs::executor
