// redis-svc's offline subcommands: they read a data dir directly (RocksDB read-only or as a
// secondary), never take the writer's lock, and are safe while redis-ctl runs.
// Each returns the process exit code. (Subcommands that talk to redis-ctl over HTTP, such as
// status, nodes, plans and migrate, live beside these in their own file.)
#pragma once

#include <optional>
#include <set>
#include <string>

namespace rs::svc {

struct LogArgs {
  std::string data_dir;
  std::optional<std::string> since, until;
  std::set<std::string> kinds;
  std::optional<std::string> node;
  std::optional<int> slot;
  bool json = false;
  bool follow = false;
  double poll_seconds = 0.5;  // --follow: how often to look for the writer's new events.
};
int RunLog(const LogArgs& args);

struct ReplayArgs {
  std::string data_dir;
  std::string at;
  bool json = false;
};
int RunReplay(const ReplayArgs& args);

struct AuditArgs {
  std::string data_dir;
  std::optional<int> slot;
  std::optional<std::string> node;
  std::optional<uint64_t> plan;
  bool json = false;
};
int RunAudit(const AuditArgs& args);

struct VerifyArgs {
  std::string data_dir;
  bool json = false;
};
int RunVerify(const VerifyArgs& args);

struct StatsArgs {
  std::string data_dir;
  bool json = false;
};
int RunStats(const StatsArgs& args);

}  // namespace rs::svc
