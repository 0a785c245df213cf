// StateStore: the event log plus the live ClusterState folded from it (leveldb's LogAndApply:
// write the event, and only once it is stored fold it in), with a snapshot every N events and on
// Close. Start-up is the newest valid snapshot plus the events after it.
//
// Thread contract: every method from any thread (Close once the others stopped appending).
// Appends serialise on mu_, held for the unsynced write (to the OS) and the fold only, never
// across an fsync, a snapshot or a compaction, so the order of sequences is the order of
// folding; a synced append then waits for its own fsync.
// State() may include events not yet fsynced (a kGroup event until the group commit, a kSync one
// until its fsync); a crash loses at most that tail, and whoever acts on an event first appends
// a synced one, whose fsync covers everything before it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/cluster_state.h"
#include "eventlog/event_log.h"
#include "eventlog/retention.h"

namespace rs::eventlog {

struct StateStoreOptions {
  EventLogOptions log;
  uint64_t snapshot_every = 10000;  // Events between snapshots; 0 disables periodic ones.
  // Health/observation events older than this may be compacted by CompactHistory (see
  // retention.h for what an audit loses); 0 keeps everything forever.
  int64_t retain_health_ms = 0;
};

class StateStore {
 public:
  static Result<std::unique_ptr<StateStore>> Open(const std::string& dir,
                                                  const StateStoreOptions& options);
  ~StateStore();  // Close() if not closed yet; errors are logged.

  // Writes the event, then folds it into the state, then (kSync) waits for its fsync. Returns
  // the event's sequence, already in State(). A due periodic snapshot is written after the fold,
  // outside mu_, by the appending thread.
  Result<Seq> Append(Event event, Durability durability);
  Result<Seq> AppendBatch(std::vector<Event> events, Durability durability);

  ClusterState State() const;  // A copy.
  // Blocks until an event after `after` is folded in or the timeout passes; returns the last
  // folded sequence.
  Seq WaitForState(Seq after, std::chrono::milliseconds timeout) const;
  EventLog& log() { return *log_; }

  // Writes a snapshot of the current state now.
  Status Snapshot();
  // Applies the retention policy (retain_health_ms) as of now_ms; one sequential read of the
  // log up to the oldest snapshot, so the controller runs it rarely (e.g. hourly). Runs without
  // mu_: appends go on meanwhile (it rewrites only events before the oldest snapshot).
  Result<RetentionReport> CompactHistory(int64_t now_ms);
  // Clean shutdown: a final snapshot and a sync.
  Status Close();

 private:
  StateStore() = default;
  Result<Seq> AppendEvents(std::vector<Event> events, Durability durability);
  Status SaveSnapshot(const ClusterState& state);

  StateStoreOptions options_;
  std::unique_ptr<EventLog> log_;

  mutable std::mutex mu_;  // state_ and the write that precedes each fold.
  mutable std::condition_variable folded_;
  ClusterState state_;
  bool snapshot_due_taken_ = false;  // Under mu_: a thread is writing the periodic snapshot.

  std::mutex snapshot_mu_;  // One snapshot write at a time; never taken under mu_.
  std::atomic<Seq> last_snapshot_seq_{0};
  bool opened_ = false;  // Open completed: only then may the destructor snapshot and close.
  std::atomic<bool> closed_{false};
};

// Folds events (from, to] into `state`; unknown and compacted records are skipped (unknown
// ones with a warning). Fails, naming the sequence, on a gap or an undecodable record.
Status FoldInto(const EventLog& log, Seq to, ClusterState& state);

// The state as of event `at` (clamped to the last event): the newest valid snapshot at or
// before `at` (unless use_snapshots is false) plus the events after it.
Result<ClusterState> StateAt(const EventLog& log, Seq at, bool use_snapshots = true);

}  // namespace rs::eventlog
