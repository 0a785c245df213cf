// EventLog: the controller's write-ahead log of events in RocksDB.
//
// Layout (column families): `events` 8-byte big-endian sequence -> packed capnp Event;
// `snapshots` 8-byte big-endian sequence -> packed capnp ClusterState; `meta` holds the format
// marker written at creation, without which Open refuses the directory, the generation and the
// index version; `index` is the history index (event_index.h), written with its events.
//
// Thread contract: every method from any thread. Writes serialise on a mutex held only for the
// sequence assignment and an unsynced RocksDB write (to the OS, no fsync); fsyncs happen outside
// it and are shared (SyncThrough), so a kGroup append never waits behind another thread's fsync.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"
#include "model/cluster_state.h"
#include "model/event.h"
#include "eventlog/event_codec.h"
#include "eventlog/event_index.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace rs::eventlog {

enum class Durability {
  kSync,   // fsync before Append returns: intent, plan, step, operator and topology events.
           // Concurrent synced appends share one fsync.
  kGroup,  // Written to the OS at once, fsynced by a background flush within
           // group_commit_interval: a burst of health events shares one fsync.
};

enum class OpenMode {
  kReadWrite,  // The controller: takes RocksDB's lock.
  kReadOnly,   // Tools: a consistent view as of Open, never takes the writer's lock.
  kSecondary,  // Tools that tail (--follow): CatchUp() sees the writer's new events.
};

struct EventLogOptions {
  OpenMode mode = OpenMode::kReadWrite;
  bool create_if_missing = false;  // Only with kReadWrite.
  std::chrono::milliseconds group_commit_interval{5};
  size_t keep_snapshots = 3;  // Older snapshots are deleted when a new one is saved.
  // Open always checks the first and last records; with this it also reads every record and
  // fails on the first gap or undecodable one (one sequential read of the log). Start-up through
  // StateStore checks every record after the newest snapshot either way.
  bool check_every_record = false;
  // Only with kReadWrite on an existing log: give it a new generation (synced) at Open. A
  // restore does this: the restored history diverges from what followers of the old log saw.
  bool new_generation = false;
  // Test hook (a slow disk): slept before each fsync (synced appends, snapshots, rewrites and the
  // group-commit flush). RS_TEST_LOG_SYNC_DELAY_MS in the environment, read at Open, overrides it.
  std::chrono::milliseconds test_sync_delay{0};
};

// The marker in `meta` that makes a RocksDB directory an event log.
inline constexpr std::string_view kFormatKey = "format";
inline constexpr std::string_view kFormatValue = "redis-service event log v1";

// The log's history generation: a random 128-bit id (32 lowercase hex digits) written when the
// log is created. A new log (a controller that lost its data dir) has a new one, so an observer
// that followed the old log's epochs can tell that they started over.
inline constexpr std::string_view kGenerationKey = "generation";

std::string SeqKey(Seq seq);  // 8-byte big-endian.
std::string NewGeneration();  // 32 random lowercase hex digits.

// The process holding `dir`'s RocksDB LOCK (this one included), read from /proc/locks, so it is
// safe to ask from a process that has the log open; nullopt when there is no LOCK file or nobody
// holds it, -1 when the holder's pid is not visible (another pid namespace).
std::optional<pid_t> LockHolder(const std::string& dir);

class EventLog {
 public:
  // Fails with a message naming the directory when it is missing (and create_if_missing is
  // false), is not a RocksDB directory, or is a RocksDB database without the format marker.
  // Checks that the first and last records decode and carry their key's sequence (every record
  // with check_every_record), failing with a message naming the sequence. A writer fails with
  // Unavailable (and only then) when another writer holds the log's lock.
  // A writer builds the history index when the log has none of this version (one sequential
  // read of the log, logged with its duration).
  static Result<std::unique_ptr<EventLog>> Open(const std::string& dir,
                                                const EventLogOptions& options);
  ~EventLog();  // Syncs pending group-commit writes.

  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Assigns the next sequence (and time_ms when 0) and writes the event; returns its sequence.
  Result<Seq> Append(Event event, Durability durability);
  // One WriteBatch for all: consecutive sequences, all or none. Returns the last sequence.
  Result<Seq> AppendBatch(std::vector<Event> events, Durability durability);
  // Makes every write so far durable (what the group-commit flusher does).
  Status Sync();

  // The two halves of an append, for a caller that does something between them in write order
  // (StateStore folds): Write assigns sequences (and time_ms when 0) and writes to the OS, no
  // fsync; with kGroup the flusher syncs it, with kSync the caller must SyncThrough(ticket)
  // before telling anyone the events are durable.
  struct Written {
    std::vector<Event> events;  // Sequence and time filled in.
    uint64_t ticket = 0;        // This write's place in the order of all writes.
  };
  Result<Written> Write(std::vector<Event> events, Durability durability);
  // Returns once an fsync that began after write `ticket` has completed: the calling thread
  // runs it, or waits for one already running (which may cover it) and then runs its own.
  Status SyncThrough(uint64_t ticket);

  // Set at Open: a writer gives a log created by an older binary its generation then (synced).
  // Empty only for a reader of such a log that no writer has opened since.
  const std::string& generation() const { return generation_; }

  Seq first_seq() const { return first_seq_.load(); }  // 0 when empty.
  Seq last_seq() const { return last_seq_.load(); }

  // Blocks until an event after `after` exists or the timeout passes; returns last_seq().
  Seq WaitForSeq(Seq after, std::chrono::milliseconds timeout);

  // Calls fn for each record from `from` to `to` (inclusive) in order until it returns false.
  // Fails, naming the sequence, on a gap, a key/sequence mismatch or an undecodable record.
  Status Scan(Seq from, Seq to, const std::function<bool(const DecodedEvent&)>& fn) const;
  // One record; NotFound when there is none with that sequence.
  Result<DecodedEvent> Read(Seq seq) const;
  // Raw records (key sequence, bytes), no checks: for verify and retention.
  Status ScanRaw(Seq from, Seq to, const std::function<bool(Seq, std::string_view)>& fn) const;
  // The same from `to` down to `from`.
  Status ScanRawDescending(Seq from, Seq to,
                           const std::function<bool(Seq, std::string_view)>& fn) const;

  // Whether the history index (event_index.h) is there to read: always for a writer; for a
  // reader, once a writer of this binary has opened the log.
  bool has_index() const { return has_index_.load(); }
  // Index entries under `prefix` (event_index.h's *IndexPrefix) with sequences in [from, to],
  // ascending or descending, until fn returns false. fn gets the sequence and the entry's value.
  Status ScanIndex(std::string_view prefix, Seq from, Seq to, bool descending,
                   const std::function<bool(Seq, std::string_view)>& fn) const;
  // The greatest sequence at or before `at` under `prefix`; 0 when none.
  Result<Seq> LastIndexed(std::string_view prefix, Seq at) const;
  // Overwrites one record as is (synced); retention (tombstones) and tests (corruption) use it. The index
  // is left as it is (see event_index.h for why a tombstone's entries still hold).
  Status PutRaw(Seq seq, std::string_view bytes);
  // Several rewrites in one WriteBatch, synced.
  Status PutRawBatch(const std::vector<std::pair<Seq, std::string>>& records);

  // Snapshot of `state` at state.last_seq; keeps the newest keep_snapshots.
  Status SaveSnapshot(const ClusterState& state);
  std::vector<Seq> SnapshotSeqs() const;  // Ascending.
  Result<ClusterState> ReadSnapshot(Seq seq) const;

  // kSecondary: pulls in what the writer wrote since; updates first/last_seq.
  Status CatchUp();

  // A RocksDB checkpoint of the log in `dir`, which must not exist (its parent must): SST files
  // hard-linked where the file system allows, the rest copied. On the writer's handle RocksDB
  // flushes the memtables first and pins the files while it copies; read-only and secondary
  // handles work too, but the writer may delete files under them (see redis-svc backup).
  Status Checkpoint(const std::string& dir) const;

  // Bytes on disk under the directory (SST, WAL, manifest).
  uint64_t SizeOnDisk() const;
  const std::string& dir() const { return dir_; }

 private:
  EventLog() = default;
  Status LoadBounds();
  // Writes `batch` unsynced under write_mu_ (held by the caller); returns its ticket.
  Result<uint64_t> WriteLocked(rocksdb::WriteBatch& batch, std::string_view what);
  Result<uint64_t> WriteEventsLocked(std::vector<Event>& events, Durability durability);
  Status BuildIndex();
  void ReadIndexMarker();
  void FlushLoop();

  std::string dir_;
  std::string generation_;
  std::string secondary_dir_;  // Removed on close.
  EventLogOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* snapshots_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* index_ = nullptr;  // Null for a reader of a log without one.
  std::atomic<bool> has_index_{false};
  std::unique_ptr<EventIndexer> indexer_;  // The writer's; under write_mu_.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;

  // options_.test_sync_delay, or RS_TEST_LOG_SYNC_DELAY_MS read once at Open by a writer (the
  // chaos suite's slow disk): slept before each fsync.
  std::chrono::milliseconds test_sync_delay_{0};

  std::mutex write_mu_;  // Sequence assignment and the unsynced write, so records land in order.
  std::atomic<Seq> first_seq_{0};
  std::atomic<Seq> last_seq_{0};
  std::atomic<uint64_t> written_{0};  // Tickets of the writes that reached the OS.

  std::mutex sync_mu_;  // Never held across the fsync itself.
  std::condition_variable synced_cv_;
  bool syncing_ = false;  // An fsync is running (at most one at a time).
  uint64_t synced_ = 0;   // Every write with a ticket up to this is durable.

  std::mutex wait_mu_;
  std::condition_variable appended_;

  std::mutex flush_mu_;
  std::condition_variable flush_cv_;
  bool dirty_ = false;
  bool stopping_ = false;
  std::thread flusher_;
};

}  // namespace rs::eventlog
