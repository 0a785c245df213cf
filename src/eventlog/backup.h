// Backups of the event log: RocksDB checkpoints that count only once they verify, and restores
// that never overwrite a live or non-empty data dir by accident.
//
// A checkpoint needs a DB handle. RocksDB 7.8 (Debian 12) makes one from any handle: the
// writer's (redis-ctl, POST /v1/backup: memtables flushed, files pinned while it copies), a
// read-only one (no writer running) or a secondary one (beside a running writer). Under a
// secondary handle the writer may flush and delete files, so such a copy can miss a range; the
// verification below finds that (a gap, or a last event before the one seen) and it is retried.
//
// Thread contract: free functions; each opens and closes its own handles, except
// CheckpointVerified, which reads the caller's (thread-safe) log.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "eventlog/event_log.h"

namespace rs::eventlog {

struct BackupInfo {
  std::string path;
  std::string generation;
  Seq first = 0;
  Seq last = 0;
  uint64_t records = 0;
  uint64_t size = 0;  // Bytes on disk.
};

// Opens `dir` read-only and checks it as a backup: the format marker, a generation of 32 hex
// digits, and Verify (every record decodes, no gap, every snapshot equals the fold). Corruption
// carries Verify's first errors.
Result<BackupInfo> VerifyBackup(const std::string& dir);

// Checkpoints `log` into `to` (which must not exist; its parent is created) through a staging
// dir beside it, verifies the copy (and that it has the log's generation and at least the events
// the log had when it started), and only then renames it to `to`. A copy that fails is removed.
Result<BackupInfo> CheckpointVerified(const EventLog& log, const std::string& to);

// redis-svc backup: opens `data_dir` read-only when no writer holds it, as a secondary instance
// when one does, and makes a CheckpointVerified copy in `to`; up to `attempts` tries.
struct DataDirBackup {
  BackupInfo info;
  std::optional<pid_t> writer;  // The redis-ctl that held the log, if any.
  int attempts = 0;             // Tries it took.
};
Result<DataDirBackup> BackupDataDir(const std::string& data_dir, const std::string& to,
                                    int attempts = 3);

// redis-svc restore: verifies `from`, refuses a `data_dir` whose LOCK is held, refuses a
// non-empty one unless `force` (then renames it to "<data_dir>.before-restore-<time>", never
// deletes it), copies the backup through a staging dir beside `data_dir`, gives the copy a new
// generation (its history diverges from what followers of the old log saw), verifies it and
// renames it into place. A refusal is FailedPrecondition; a bad backup Corruption.
struct RestoreResult {
  BackupInfo backup;        // As verified before the copy.
  std::string generation;   // The restored log's new generation.
  std::string moved_aside;  // Where the old data dir went ("" when there was none).
};
Result<RestoreResult> Restore(const std::string& from, const std::string& data_dir, bool force);

// Names of backups under a backup root (POST /v1/backup). Named ones are one path component of
// [A-Za-z0-9._-], not starting with '.', at most 100 characters. The default name is
// "eventlog-20250105T021400Z" (UTC): PruneBackups only ever removes those.
bool ValidBackupName(std::string_view name);
std::string DefaultBackupName(int64_t now_ms);
// Removes default-named backups under `root` beyond the newest `keep`; returns their names.
Result<std::vector<std::string>> PruneBackups(const std::string& root, size_t keep);

}  // namespace rs::eventlog
