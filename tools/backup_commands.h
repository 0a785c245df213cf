// redis-svc's archive subcommands: backup and restore of a data dir (RocksDB checkpoints, verified
// before they count; see eventlog/backup.h) and export of the events as JSON lines for other
// tools. Each returns the process exit code: 0 done, 1 a backup that fails verification, 2 an
// error or a refusal.
#pragma once

#include <optional>
#include <string>

namespace rs::svc {

struct BackupArgs {
  std::string data_dir;
  std::string to;
  bool json = false;
};
int RunBackup(const BackupArgs& args);

struct RestoreArgs {
  std::string from;
  std::string data_dir;
  bool force = false;
  bool json = false;
};
int RunRestore(const RestoreArgs& args);

struct ExportArgs {
  std::string data_dir;
  std::string out;  // "" or "-": stdout.
  std::optional<uint64_t> from, to;
};
int RunExport(const ExportArgs& args);

}  // namespace rs::svc
