// redis-svc: the operator's tool for the controller's history and operations.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "common/logging.h"
#include "common/version.h"
#include "history_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"redis-svc: read, replay and audit redis-ctl's event log"};
  app.set_version_flag("--version", rs::kVersion);
  app.require_subcommand(0, 1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
      ->capture_default_str();

  // Offline subcommands: read a data dir directly, safe while redis-ctl runs.
  rs::svc::LogArgs log_args;
  auto* log_cmd = app.add_subcommand("log", "print events, one per line");
  log_cmd->add_option("--data-dir", log_args.data_dir, "redis-ctl's data dir")->required();
  log_cmd->add_option("--since", log_args.since, "first event: SEQ, RFC 3339 time or -1h");
  log_cmd->add_option("--until", log_args.until, "last event: SEQ, RFC 3339 time or -1h");
  log_cmd->add_option("--kind", log_args.kinds, "only these kinds (repeatable)");
  log_cmd->add_option("--node", log_args.node, "only events about this address");
  log_cmd->add_option("--slot", log_args.slot, "only events about this slot")
      ->check(CLI::Range(0, 16383));
  log_cmd->add_flag("--json", log_args.json, "JSON lines");
  log_cmd->add_flag("-f,--follow", log_args.follow, "keep printing new events");

  rs::svc::ReplayArgs replay_args;
  auto* replay_cmd = app.add_subcommand("replay", "the cluster as it was at a point in the log");
  replay_cmd->add_option("--data-dir", replay_args.data_dir, "redis-ctl's data dir")->required();
  replay_cmd->add_option("--at", replay_args.at, "SEQ, RFC 3339 time or -1h")->required();
  replay_cmd->add_flag("--json", replay_args.json, "JSON");

  rs::svc::AuditArgs audit_args;
  auto* audit_cmd = app.add_subcommand("audit", "history of a slot, node or plan with causes");
  audit_cmd->add_option("--data-dir", audit_args.data_dir, "redis-ctl's data dir")->required();
  auto* a_slot =
      audit_cmd->add_option("--slot", audit_args.slot, "a hash slot")->check(CLI::Range(0, 16383));
  auto* a_node = audit_cmd->add_option("--node", audit_args.node, "a node address");
  auto* a_plan = audit_cmd->add_option("--plan", audit_args.plan, "a plan id");
  a_slot->excludes(a_node)->excludes(a_plan);
  a_node->excludes(a_plan);
  audit_cmd->add_flag("--json", audit_args.json, "JSON lines");
  audit_cmd->callback([&] {
    if (!audit_args.slot && !audit_args.node && !audit_args.plan) {
      throw CLI::ValidationError("audit", "one of --slot, --node or --plan is required");
    }
  });

  rs::svc::VerifyArgs verify_args;
  auto* verify_cmd = app.add_subcommand(
      "verify", "decode every event, check continuity and snapshot == fold (exit 0/1)");
  verify_cmd->add_option("--data-dir", verify_args.data_dir, "redis-ctl's data dir")->required();
  verify_cmd->add_flag("--json", verify_args.json, "JSON");

  rs::svc::StatsArgs stats_args;
  auto* stats_cmd = app.add_subcommand("stats", "counts by kind, size on disk, time span");
  stats_cmd->add_option("--data-dir", stats_args.data_dir, "redis-ctl's data dir")->required();
  stats_cmd->add_flag("--json", stats_args.json, "JSON");

  CLI11_PARSE(app, argc, argv);
  auto format = rs::LogFormat::kPlain;
  if (rs::Status s = rs::SetupLogging(log_level, format); !s.ok()) {
    std::fprintf(stderr, "redis-svc: %s\n", s.message().c_str());
    return 2;
  }
  if (log_cmd->parsed()) return rs::svc::RunLog(log_args);
  if (replay_cmd->parsed()) return rs::svc::RunReplay(replay_args);
  if (audit_cmd->parsed()) return rs::svc::RunAudit(audit_args);
  if (verify_cmd->parsed()) return rs::svc::RunVerify(verify_args);
  if (stats_cmd->parsed()) return rs::svc::RunStats(stats_args);
  std::printf("%s", app.help().c_str());
  return 0;
}
