// The executor: the only code that changes Redis. It carries out the plan in flight step by step
// with a write-ahead protocol: `step started` (synced) before the first side effect, `step
// progress` per chunk of migrated slots, `step completed` / `step failed` after. After a crash,
// the plan in flight (from the folded log) is resumed: finished steps and slots are skipped and
// the step in flight is re-run, which converges because every step is idempotent.
// Independent steps run at once (step_order.h), each on its own thread with its own synced
// `step started` / `step completed`, so a resume re-runs exactly the steps that had not completed.
// Thread contract: RunPlan is called by one thread; it runs steps on helper threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

#include "common/status.h"
#include "model/cluster_state.h"
#include "executor/redis_admin.h"
#include "executor/steps.h"

namespace rs::executor {

// Where the executor records what it does; implemented by the controller over the event log.
// Must be safe to call from several threads.
class Journal {
 public:
  virtual ~Journal() = default;
  // Appends (durably when `sync`) and folds the event; returns its sequence.
  virtual Result<model::Seq> Record(model::EventPayload payload, model::Seq cause,
                                       bool sync) = 0;
  // A copy of the current folded state.
  virtual model::ClusterState State() = 0;
};

struct ExecutorConfig {
  ExecutorOptions step;
  ConnectOptions connect;
  uint32_t max_parallel_steps = 16;         // Independent steps at once, of any kind.
  uint32_t max_parallel_migrations = 4;     // Of those, migrate steps (disjoint pairs).
  uint32_t max_parallel_replications = 16;  // Of those, replicate steps (distinct replicas).
  uint32_t max_attempts = 5;                // Per step, for transient errors.
  int retry_backoff_ms = 200;               // Doubles per attempt.
  double max_keys_per_second = 0;           // 0: no rate limit.
};

class Executor {
 public:
  Executor(ExecutorConfig config, Journal* journal) : config_(std::move(config)), journal_(journal) {}

  // Runs the plan in flight to its end and records PlanFinished. Returns Ok when there was no plan
  // or it completed; the failure or abort otherwise (already recorded).
  // `stop` set by another thread stops at the next safe point without finishing the plan (used on
  // SIGTERM: the plan is resumed on the next start).
  Status RunPlan(const std::atomic<bool>* stop);


 private:
  // Runs the steps [first, end) that are not done yet, each as soon as the earlier ones it must
  // follow (MustFollow) completed, within the bounds. After a failure or a stop it starts no
  // more and waits for those running; returns the failure of the lowest step (in *failed_step).
  Status RunBatch(const model::PlanInFlight& plan, uint32_t first, uint32_t end,
                  const std::atomic<bool>* stop, uint32_t* failed_step);
  Status RunStep(const model::PlanInFlight& plan, uint32_t index, const std::atomic<bool>* stop);
  Status RunStepOnce(const model::PlanInFlight& plan, uint32_t index, AdminPool* pool,
                     const std::atomic<bool>* stop);

  ExecutorConfig config_;
  Journal* journal_;
};

}  // namespace rs::executor
