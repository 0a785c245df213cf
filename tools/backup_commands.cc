#include "backup_commands.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "eventlog/backup.h"
#include "eventlog/event_format.h"
#include "eventlog/event_log.h"

namespace rs::svc {
namespace {

using namespace rs::eventlog;
using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // The backup (or the copy just made) fails verification.
constexpr int kExitError = 2;   // Bad arguments, an unreadable dir, or a refusal.

int Fail(const Status& s) {
  std::fprintf(stderr, "redis-svc: %s\n", s.message().c_str());
  return s.code() == StatusCode::kCorruption ? kExitFailed : kExitError;
}

json InfoJson(const BackupInfo& b) {
  return json{{"path", b.path},     {"generation", b.generation}, {"first_seq", b.first},
              {"last_seq", b.last}, {"records", b.records},       {"size", b.size}};
}

std::string Mib(uint64_t bytes) {
  return fmt::format("{:.2f} MiB", static_cast<double>(bytes) / (1 << 20));
}

}  // namespace

int RunBackup(const BackupArgs& args) {
  auto r = BackupDataDir(args.data_dir, args.to);
  if (!r.ok()) {
    // Every try failed verification: the log's copies, not the arguments, are at fault.
    std::fprintf(stderr, "redis-svc: %s\n", r.status().message().c_str());
    return r.status().code() == StatusCode::kAborted ? kExitFailed : kExitError;
  }
  const BackupInfo& b = r->info;
  if (args.json) {
    json j = InfoJson(b);
    j["writer_pid"] = r->writer ? json(*r->writer) : json();
    j["attempts"] = r->attempts;
    std::printf("%s\n", j.dump().c_str());
    return kExitOk;
  }
  if (r->writer) {
    std::printf("redis-ctl (pid %d) holds %s: checkpoint taken from a secondary instance%s\n",
                static_cast<int>(*r->writer), args.data_dir.c_str(),
                r->attempts > 1 ? fmt::format(" (try {})", r->attempts).c_str() : "");
  }
  std::printf("backup %s: events %llu..%llu (%llu records), generation %s, %s, verified\n",
              b.path.c_str(), static_cast<unsigned long long>(b.first),
              static_cast<unsigned long long>(b.last), static_cast<unsigned long long>(b.records),
              b.generation.c_str(), Mib(b.size).c_str());
  return kExitOk;
}

int RunRestore(const RestoreArgs& args) {
  auto r = Restore(args.from, args.data_dir, args.force);
  if (!r.ok()) return Fail(r.status());
  if (args.json) {
    json j = InfoJson(r->backup);
    j["data_dir"] = args.data_dir;
    j["generation"] = r->generation;
    j["backup_generation"] = r->backup.generation;
    j["moved_aside"] = r->moved_aside.empty() ? json() : json(r->moved_aside);
    std::printf("%s\n", j.dump().c_str());
    return kExitOk;
  }
  if (!r->moved_aside.empty()) {
    std::printf("the old %s is now %s\n", args.data_dir.c_str(), r->moved_aside.c_str());
  }
  std::printf("restored %s into %s: events %llu..%llu (%llu records), verified\n",
              args.from.c_str(), args.data_dir.c_str(),
              static_cast<unsigned long long>(r->backup.first),
              static_cast<unsigned long long>(r->backup.last),
              static_cast<unsigned long long>(r->backup.records));
  std::printf("new generation %s (the backup's was %s): proxies take it as a new history\n",
              r->generation.c_str(), r->backup.generation.c_str());
  return kExitOk;
}

int RunExport(const ExportArgs& args) {
  EventLogOptions o;
  o.mode = OpenMode::kReadOnly;
  auto log = EventLog::Open(args.data_dir, o);
  if (!log.ok()) return Fail(log.status());
  const Seq from = args.from.value_or(1);
  const Seq to = args.to.value_or(UINT64_MAX);
  if (from > to) {
    return Fail(Status::InvalidArgument(fmt::format("--from {} is after --to {}", from, to)));
  }
  std::FILE* out = stdout;
  const bool to_file = !args.out.empty() && args.out != "-";
  if (to_file) {
    out = std::fopen(args.out.c_str(), "w");
    if (!out) {
      return Fail(Status::IoError(fmt::format("opening {}: {}", args.out, std::strerror(errno))));
    }
  }
  uint64_t written = 0;
  Status s = (*log)->Scan(from, to, [&](const DecodedEvent& d) {
    std::string line = EventToJson(d).dump();
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) return false;
    ++written;
    return true;
  });
  const bool write_failed = std::ferror(out) != 0;
  const bool close_failed = to_file ? std::fclose(out) != 0 : std::fflush(out) != 0;
  if (!s.ok()) return Fail(s);
  if (write_failed || close_failed) {
    return Fail(Status::IoError(
        fmt::format("writing {}: {}", to_file ? args.out : "stdout", std::strerror(errno))));
  }
  if (to_file) {
    std::fprintf(stderr, "%llu events written to %s\n", static_cast<unsigned long long>(written),
                 args.out.c_str());
  }
  return kExitOk;
}

}  // namespace rs::svc
