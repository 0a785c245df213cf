// Carrying out one plan step against real Redis nodes. Every step is idempotent: running it again
// after a crash at any point converges to the same end state without losing a key.
// Thread contract: a StepRunner is used by one thread; it owns no threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/status.h"
#include "model/plan.h"
#include "executor/redis_admin.h"

namespace rs::executor {

struct ExecutorOptions {
  uint32_t batch_keys_min = 16;      // MIGRATE ... KEYS batch size adapts between these.
  uint32_t batch_keys_max = 2000;
  uint32_t batch_bytes_max = 8 << 20;  // Shrink the batch when a batch carried more.
  int migrate_timeout_ms = 10000;
  uint32_t slots_per_chunk = 128;    // SETSLOT calls are pipelined for this many slots at once.
  int converge_timeout_ms = 20000;   // Waiting for gossip (meet, replicate, failover, commit).
  int failover_timeout_ms = 10000;
};

// What a step reports back while it runs; implemented by the executor over the event log.
class StepHooks {
 public:
  virtual ~StepHooks() = default;
  // Slots fully moved (owned by the destination everywhere it matters) and keys moved since the
  // last call. Must be durable when it returns: on resume those slots are skipped.
  virtual Status Progress(const std::vector<model::SlotRange>& slots, uint64_t keys) = 0;
  // Called between batches: may block while automation is paused or to honour a rate limit, and
  // returns Aborted to stop at this safe point.
  virtual Status Checkpoint(uint64_t keys_just_moved) = 0;
};

class StepRunner {
 public:
  // `stop` (may be null), set by another thread, ends a wait for convergence at once with Aborted.
  StepRunner(AdminPool* pool, ExecutorOptions options, const std::atomic<bool>* stop = nullptr)
      : pool_(pool), options_(options), stop_(stop) {}

  // Runs `step`; `done` holds the slots of a migrate step already finished (from the log).
  Status Run(const model::Step& step, const std::vector<model::SlotRange>& done,
             StepHooks* hooks);

 private:
  Status Meet(const model::Step& step);
  Status AssignSlots(const model::Step& step);
  Status SetConfigEpoch(const model::Step& step);
  Status Replicate(const model::Step& step);
  Status Migrate(const model::Step& step, const std::vector<model::SlotRange>& done,
                 StepHooks* hooks);
  Status Failover(const model::Step& step);
  Status Forget(const model::Step& step);
  Status Reset(const model::Step& step);
  Status FixOpenSlots(const model::Step& step, StepHooks* hooks);
  Status VerifyTopology(const model::Step& step);
  Status VerifyOwnerFromPeers(const model::Topology& topology, const model::Shard& down);

  // Moves the keys of `slots` (already IMPORTING/MIGRATING) from source to destination.
  Result<uint64_t> MoveKeys(const model::NodeRef& source, const model::NodeRef& dest,
                            const std::vector<uint16_t>& slots, StepHooks* hooks);
  std::vector<std::string> MigrateCommand(const model::NodeRef& dest,
                                          const std::vector<std::string>& keys,
                                          bool replace) const;
  Status ResolveBusyKeys(const model::NodeRef& source, const model::NodeRef& dest,
                         const std::vector<std::string>& keys);
  // Tells every master the cluster knows (from dest's view) that dest owns `slots`.
  Status BroadcastOwner(const model::NodeRef& source, const model::NodeRef& dest,
                        const std::vector<uint16_t>& slots);
  // Waits until each of a and b lists the other by id, at its address, with a completed
  // handshake; the error says why not (diagnosis.h).
  Status WaitUntilAcquainted(const model::NodeRef& a, const model::NodeRef& b);
  // Polls `check` until it returns Ok or the timeout passes; returns its last error (Aborted
  // when stop_ was set meanwhile).
  Status WaitFor(int timeout_ms, const std::function<Status()>& check);  // Every 20 ms.
  Status WaitFor(int timeout_ms, int interval_ms, const std::function<Status()>& check);

  AdminPool* pool_;
  ExecutorOptions options_;
  const std::atomic<bool>* stop_;
  uint32_t batch_keys_ = 100;
};

// The addresses of every master (with its id) that `address` knows, from CLUSTER NODES.
Result<std::vector<model::NodeRef>> KnownMasters(AdminPool* pool, const std::string& address);

}  // namespace rs::executor
