#include "executor/executor.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "executor/crash_point.h"
#include "executor/step_order.h"

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

Status Executor::RunBatch(const PlanInFlight& plan, uint32_t first, uint32_t end,
                          const std::atomic<bool>* stop, uint32_t* failed_step) {
  const auto& steps = plan.plan.steps;
  const uint32_t n = end - first;
  // waits[j]: the steps of the batch that j must follow and that have not completed yet.
  std::vector<uint32_t> waits(n, 0);
  std::vector<std::vector<uint32_t>> followers(n);
  std::vector<bool> pending(n, false);
  for (uint32_t j = 0; j < n; ++j) {
    if (plan.status[first + j] == StepStatus::kDone) continue;
    pending[j] = true;
    for (uint32_t i = 0; i < j; ++i) {
      if (plan.status[first + i] != StepStatus::kDone &&
          MustFollow(steps[first + i], steps[first + j])) {
        ++waits[j];
        followers[i].push_back(j);
      }
    }
  }
  auto bound = [&](StepKind kind) {
    uint32_t b = kind == StepKind::kMigrate     ? config_.max_parallel_migrations
                 : kind == StepKind::kReplicate ? config_.max_parallel_replications
                                                : config_.max_parallel_steps;
    return std::max<uint32_t>(1, b);
  };
  const uint32_t max_running = std::max<uint32_t>(1, config_.max_parallel_steps);

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<uint32_t, Status>> finished;  // Guarded by mu.
  std::map<uint32_t, std::thread> threads;
  std::map<StepKind, uint32_t> running_of_kind;
  uint32_t running = 0;
  auto run = [&](uint32_t j) {
    Status s = RunStep(plan, first + j, stop);
    std::lock_guard<std::mutex> lock(mu);
    finished.emplace_back(j, std::move(s));
    cv.notify_one();
  };
  Status failure;
  while (true) {
    if (failure.ok() && !(stop && stop->load())) {
      // In plan order, so a bound favours the steps the plan lists first.
      for (uint32_t j = 0; j < n && running < max_running; ++j) {
        const StepKind kind = steps[first + j].kind;
        if (!pending[j] || waits[j] > 0 || running_of_kind[kind] >= bound(kind)) continue;
        pending[j] = false;
        ++running;
        ++running_of_kind[kind];
        threads.emplace(j, std::thread(run, j));
      }
    }
    if (running == 0) break;
    std::vector<std::pair<uint32_t, Status>> done;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !finished.empty(); });
      done.swap(finished);
    }
    for (auto& [j, s] : done) {
      threads[j].join();
      threads.erase(j);
      --running;
      --running_of_kind[steps[first + j].kind];
      if (s.ok()) {
        for (uint32_t f : followers[j]) --waits[f];
      } else if (failure.ok() || first + j < *failed_step) {
        failure = s;
        *failed_step = first + j;
      }
    }
  }
  if (failure.ok()) {
    // Stopped before starting them all: the plan stays in flight, resumed on the next start.
    for (uint32_t j = 0; j < n; ++j) {
      if (pending[j]) {
        *failed_step = first + j;
        return Status::Aborted("controller is stopping");
      }
    }
  }
  return failure;
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
    if (!RunsBesideOthers(steps[i].kind)) {
      failure = RunStep(plan, i, stop);
      failed_step = i;
      ++i;
      continue;
    }
    uint32_t end = i + 1;
    while (end < steps.size() && RunsBesideOthers(steps[end].kind)) ++end;
    failure = RunBatch(plan, i, end, stop, &failed_step);
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
