// The executor: the only code that changes Redis. It carries out the plan in flight step by step
// with a write-ahead protocol: `step started` (synced) before the first side effect, `step
// progress` per chunk of migrated slots, `step completed` / `step failed` after. After a crash,
// the plan in flight (from the folded log) is resumed: finished steps and slots are skipped and
// the step in flight is re-run, which converges because every step is idempotent.
// Thread contract: RunPlan is called by one thread; it may run migrate and replicate steps on
// helper threads.
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
  uint32_t max_parallel_migrations = 4;  // Disjoint source/target pairs at once.
  uint32_t max_parallel_replications = 8;  // Replicate steps (distinct replicas) at once.
  uint32_t max_attempts = 5;             // Per step, for transient errors.
  int retry_backoff_ms = 200;            // Doubles per attempt.
  double max_keys_per_second = 0;        // 0: no rate limit.
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
  // The end of the run of steps from `first` that may go at once (first + 1: it runs alone).
  uint32_t ParallelEnd(const model::PlanInFlight& plan, uint32_t first) const;
  Status RunStep(const model::PlanInFlight& plan, uint32_t index, const std::atomic<bool>* stop);
  Status RunStepOnce(const model::PlanInFlight& plan, uint32_t index, AdminPool* pool,
                     const std::atomic<bool>* stop);

  ExecutorConfig config_;
  Journal* journal_;
};

}  // namespace rs::executor
