// StateStore: the event log plus the live ClusterState folded from it (leveldb's LogAndApply:
// write the event, and only once it is stored fold it in), with a snapshot every N events and on
// Close. Start-up is the newest valid snapshot plus the events after it.
//
// Thread contract: owned by the controller loop; Append and state() from that thread only.
// Other threads may read log() (Scan, WaitForSeq).
#pragma once

#include <cstdint>
#include <memory>
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

  // Writes the event, then folds it into state(). Returns the event's sequence.
  Result<Seq> Append(Event event, Durability durability);
  Result<Seq> AppendBatch(std::vector<Event> events, Durability durability);

  const ClusterState& state() const { return state_; }
  EventLog& log() { return *log_; }

  // Writes a snapshot of the current state now.
  Status Snapshot();
  // Applies the retention policy (retain_health_ms) as of now_ms; one sequential read of the
  // log up to the oldest snapshot, so the controller runs it rarely (e.g. hourly).
  Result<RetentionReport> CompactHistory(int64_t now_ms);
  // Clean shutdown: a final snapshot and a sync.
  Status Close();

 private:
  StateStore() = default;
  Status MaybeSnapshot();

  StateStoreOptions options_;
  std::unique_ptr<EventLog> log_;
  ClusterState state_;
  Seq last_snapshot_seq_ = 0;
  bool opened_ = false;  // Open completed: only then may the destructor snapshot and close.
  bool closed_ = false;
};

// Folds events (from, to] into `state`; unknown and compacted records are skipped (unknown
// ones with a warning). Fails, naming the sequence, on a gap or an undecodable record.
Status FoldInto(const EventLog& log, Seq to, ClusterState& state);

// The state as of event `at` (clamped to the last event): the newest valid snapshot at or
// before `at` (unless use_snapshots is false) plus the events after it.
Result<ClusterState> StateAt(const EventLog& log, Seq at, bool use_snapshots = true);

}  // namespace rs::eventlog
