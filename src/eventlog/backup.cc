#include "eventlog/backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/now.h"
#include "eventlog/svc_time.h"
#include "eventlog/verify.h"

namespace rs::eventlog {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kDefaultPrefix = "eventlog-";

bool IsGeneration(std::string_view g) {
  return g.size() == 32 && std::all_of(g.begin(), g.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Status SyncPath(const fs::path& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return Status::IoError(fmt::format("opening {}: {}", path.string(), strerror(errno)));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IoError(fmt::format("syncing {}: {}", path.string(), strerror(err)));
  return Status::Ok();
}

// The staging dir beside `target`: same file system, so the final rename is atomic.
fs::path StagingFor(const fs::path& target, std::string_view what) {
  fs::path t = target.lexically_normal();
  if (t.filename().empty()) t = t.parent_path();
  return t.parent_path() / fmt::format(".{}.{}-{}", t.filename().string(), what, getpid());
}

Status EnsureParent(const fs::path& target) {
  fs::path parent = fs::absolute(target).lexically_normal().parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) return Status::IoError(fmt::format("creating {}: {}", parent.string(), ec.message()));
  return Status::Ok();
}

std::string CompactUtc(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

Result<BackupInfo> VerifyBackup(const std::string& dir) {
  EventLogOptions o;
  o.mode = OpenMode::kReadOnly;
  auto log = EventLog::Open(dir, o);  // Checks the format marker and both ends.
  if (!log.ok()) return log.status().WithContext("backup " + dir);
  const std::string& generation = (*log)->generation();
  if (!IsGeneration(generation)) {
    return Status::Corruption(fmt::format(
        "backup {}: generation '{}' is not 32 hex digits (a log no redis-ctl of this version "
        "has opened has none)",
        dir, generation));
  }
  VerifyReport r = Verify(**log);
  if (!r.ok()) {
    std::string errors;
    for (size_t i = 0; i < r.errors.size() && i < 3; ++i) errors += "; " + r.errors[i];
    return Status::Corruption(
        fmt::format("backup {} fails verification ({} errors{})", dir, r.errors.size(), errors));
  }
  BackupInfo info;
  info.path = dir;
  info.generation = generation;
  info.first = r.first;
  info.last = r.last;
  info.records = r.records;
  info.size = (*log)->SizeOnDisk();
  return info;
}

Result<BackupInfo> CheckpointVerified(const EventLog& log, const std::string& to) {
  std::error_code ec;
  if (fs::exists(to, ec)) {
    return Status::FailedPrecondition(fmt::format("{} already exists; name a new directory", to));
  }
  RS_RETURN_IF_ERROR(EnsureParent(to));
  const Seq seen = log.last_seq();
  const fs::path staging = StagingFor(to, "partial");
  fs::remove_all(staging, ec);  // Our own leftover (same pid): never a user's directory.
  fs::remove_all(staging.string() + ".tmp", ec);  // RocksDB's own staging name.
  auto fail = [&](Status s) {
    fs::remove_all(staging, ec);
    return s;
  };
  if (Status s = log.Checkpoint(staging.string()); !s.ok()) return fail(s);
  auto info = VerifyBackup(staging.string());
  if (!info.ok()) return fail(info.status());
  if (info->generation != log.generation()) {
    return fail(Status::Corruption(
        fmt::format("the copy has generation {}, the log {}", info->generation, log.generation())));
  }
  if (info->last < seen) {
    return fail(Status::Corruption(fmt::format(
        "the copy ends at event {} but the log had event {} when it began", info->last, seen)));
  }
  fs::rename(staging, to, ec);
  if (ec) {
    return fail(
        Status::IoError(fmt::format("renaming {} to {}: {}", staging.string(), to, ec.message())));
  }
  RS_RETURN_IF_ERROR(SyncPath(fs::absolute(to).lexically_normal().parent_path(), true));
  info->path = to;
  return info;
}

Result<DataDirBackup> BackupDataDir(const std::string& data_dir, const std::string& to,
                                    int attempts) {
  std::error_code ec;
  if (fs::exists(to, ec)) {
    return Status::FailedPrecondition(fmt::format("{} already exists; name a new directory", to));
  }
  DataDirBackup out;
  out.writer = LockHolder(data_dir);
  std::string errors;
  for (int i = 1; i <= attempts; ++i) {
    out.attempts = i;
    EventLogOptions o;
    o.mode = out.writer ? OpenMode::kSecondary : OpenMode::kReadOnly;
    auto log = EventLog::Open(data_dir, o);
    if (!log.ok()) return log.status();  // Not a log, unreadable: another try will not help.
    auto info = CheckpointVerified(**log, to);
    if (info.ok()) {
      out.info = std::move(info).value();
      return out;
    }
    if (info.status().code() == StatusCode::kFailedPrecondition) return info.status();
    spdlog::warn("backup of {}, try {} of {}: {}", data_dir, i, attempts, info.status().message());
    errors += fmt::format("{}try {}: {}", errors.empty() ? "" : "; ", i, info.status().message());
  }
  return Status::Aborted(
      fmt::format("no verified backup of {} after {} tries: {}", data_dir, out.attempts, errors));
}

Result<RestoreResult> Restore(const std::string& from, const std::string& data_dir, bool force) {
  RestoreResult out;
  RS_ASSIGN_OR_RETURN(out.backup, VerifyBackup(from));
  std::error_code ec;
  const fs::path target = fs::absolute(data_dir).lexically_normal();
  const bool exists = fs::exists(target, ec);
  if (exists) {
    if (!fs::is_directory(target, ec)) {
      return Status::FailedPrecondition(fmt::format("{} exists and is not a directory", data_dir));
    }
    if (auto pid = LockHolder(target.string())) {
      return Status::FailedPrecondition(fmt::format(
          "{} is in use: {} holds its RocksDB lock; stop redis-ctl before restoring", data_dir,
          *pid > 0 ? fmt::format("process {}", *pid) : std::string("a process")));
    }
    if (!fs::is_empty(target, ec) && !force) {
      return Status::FailedPrecondition(
          fmt::format("{} is not empty; --force moves it aside (to {}.before-restore-<time>) "
                      "and restores in its place",
                      data_dir, target.filename().string()));
    }
  }
  RS_RETURN_IF_ERROR(EnsureParent(target));

  // Copy, never link: the restored log's writer rewrites its WAL and manifest, and the backup
  // must stay as it was.
  const fs::path staging = StagingFor(target, "restoring");
  fs::remove_all(staging, ec);  // Our own leftover (same pid).
  auto fail = [&](Status s) {
    fs::remove_all(staging, ec);
    return s;
  };
  fs::create_directory(staging, ec);
  if (ec) return Status::IoError(fmt::format("creating {}: {}", staging.string(), ec.message()));
  for (const auto& entry : fs::directory_iterator(from, ec)) {
    std::error_code kind_ec;
    if (!entry.is_regular_file(kind_ec)) continue;  // A checkpoint is flat.
    const fs::path dest = staging / entry.path().filename();
    fs::copy_file(entry.path(), dest, ec);
    if (ec) {
      return fail(Status::IoError(
          fmt::format("copying {} to {}: {}", entry.path().string(), dest.string(), ec.message())));
    }
    if (Status s = SyncPath(dest, false); !s.ok()) return fail(s);
  }
  if (ec) return fail(Status::IoError(fmt::format("reading {}: {}", from, ec.message())));
  {
    EventLogOptions o;
    o.mode = OpenMode::kReadWrite;
    o.new_generation = true;
    auto log = EventLog::Open(staging.string(), o);
    if (!log.ok()) return fail(log.status().WithContext("restoring"));
    out.generation = (*log)->generation();
  }  // Closing syncs and flushes.
  auto restored = VerifyBackup(staging.string());
  if (!restored.ok()) return fail(restored.status().WithContext("the restored copy"));
  if (restored->last != out.backup.last || restored->records != out.backup.records) {
    return fail(Status::Corruption(
        fmt::format("the restored copy has {} records up to event {}, the backup {} up to event {}",
                    restored->records, restored->last, out.backup.records, out.backup.last)));
  }

  if (exists) {
    if (fs::is_empty(target, ec)) {
      fs::remove(target, ec);  // Empty: nothing is lost.
    } else {
      const fs::path aside = target.string() + ".before-restore-" + CompactUtc(NowMs());
      fs::rename(target, aside, ec);
      if (ec) {
        return fail(Status::IoError(fmt::format("moving {} aside to {}: {}", target.string(),
                                                aside.string(), ec.message())));
      }
      out.moved_aside = aside.string();
    }
    if (ec) return fail(Status::IoError(fmt::format("replacing {}: {}", data_dir, ec.message())));
  }
  fs::rename(staging, target, ec);
  if (ec) {
    return fail(Status::IoError(
        fmt::format("renaming {} to {}: {}", staging.string(), target.string(), ec.message())));
  }
  RS_RETURN_IF_ERROR(SyncPath(target.parent_path(), true));
  return out;
}

bool ValidBackupName(std::string_view name) {
  if (name.empty() || name.size() > 100 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string DefaultBackupName(int64_t now_ms) {
  return std::string(kDefaultPrefix) + CompactUtc(now_ms);
}

Result<std::vector<std::string>> PruneBackups(const std::string& root, size_t keep) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    // Only what DefaultBackupName makes: "eventlog-" and 16 characters of UTC time.
    if (name.size() == kDefaultPrefix.size() + 16 && name.starts_with(kDefaultPrefix) &&
        name.back() == 'Z' && entry.is_directory()) {
      names.push_back(name);
    }
  }
  if (ec) return Status::IoError(fmt::format("listing {}: {}", root, ec.message()));
  std::sort(names.begin(), names.end());  // The time in the name sorts as text.
  std::vector<std::string> removed;
  for (size_t i = 0; i + keep < names.size(); ++i) {
    fs::remove_all(fs::path(root) / names[i], ec);
    if (ec) {
      return Status::IoError(
          fmt::format("removing backup {}/{}: {}", root, names[i], ec.message()));
    }
    removed.push_back(names[i]);
  }
  return removed;
}

}  // namespace rs::eventlog
