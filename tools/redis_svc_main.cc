// redis-svc: the operator's tool for the controller's history and operations.
#include <cstdio>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "backup_commands.h"
#include "common/logging.h"
#include "common/version.h"
#include "history_commands.h"
#include "remote_commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "redis-svc: read, replay and audit redis-ctl's event log; operate a running redis-ctl"};
  app.set_version_flag("--version", rs::kVersion);
  app.require_subcommand(0, 1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
      ->capture_default_str();

  // A subcommand on redis-ctl's data dir (--data-dir, required).
  auto add_data_dir_cmd = [&](const std::string& name, const std::string& help,
                              std::string& data_dir) {
    auto* cmd = app.add_subcommand(name, help);
    cmd->add_option("--data-dir", data_dir, "redis-ctl's data dir")->required();
    return cmd;
  };

  // Offline subcommands: read a data dir directly, safe while redis-ctl runs.
  rs::svc::LogArgs log_args;
  auto* log_cmd = add_data_dir_cmd("log", "print events, one per line", log_args.data_dir);
  log_cmd->add_option("--since", log_args.since, "first event: SEQ, RFC 3339 time or -1h");
  log_cmd->add_option("--until", log_args.until, "last event: SEQ, RFC 3339 time or -1h");
  log_cmd->add_option("--kind", log_args.kinds, "only these kinds (repeatable)");
  log_cmd->add_option("--node", log_args.node, "only events about this address");
  log_cmd->add_option("--slot", log_args.slot, "only events about this slot")
      ->check(CLI::Range(0, 16383));
  log_cmd->add_flag("--json", log_args.json, "JSON lines");
  log_cmd->add_flag("-f,--follow", log_args.follow, "keep printing new events");

  rs::svc::ReplayArgs replay_args;
  auto* replay_cmd = add_data_dir_cmd("replay", "the cluster as it was at a point in the log",
                                      replay_args.data_dir);
  replay_cmd->add_option("--at", replay_args.at, "SEQ, RFC 3339 time or -1h")->required();
  replay_cmd->add_flag("--json", replay_args.json, "JSON");

  rs::svc::AuditArgs audit_args;
  auto* audit_cmd =
      add_data_dir_cmd("audit", "history of a slot, node or plan with causes", audit_args.data_dir);
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
  auto* verify_cmd = add_data_dir_cmd(
      "verify", "decode every event, check continuity and snapshot == fold (exit 0/1)",
      verify_args.data_dir);
  verify_cmd->add_flag("--json", verify_args.json, "JSON");

  rs::svc::StatsArgs stats_args;
  auto* stats_cmd =
      add_data_dir_cmd("stats", "counts by kind, size on disk, time span", stats_args.data_dir);
  stats_cmd->add_flag("--json", stats_args.json, "JSON");

  // Archive subcommands (backup_commands.h): safe while redis-ctl runs, except restore, which
  // refuses a data dir a running redis-ctl holds.
  rs::svc::BackupArgs backup_args;
  auto* backup_cmd = add_data_dir_cmd(
      "backup", "a verified RocksDB checkpoint of the event log, also while redis-ctl runs",
      backup_args.data_dir);
  backup_cmd->add_option("--to", backup_args.to, "the backup's directory (must not exist)")
      ->required();
  backup_cmd->add_flag("--json", backup_args.json, "JSON");

  rs::svc::RestoreArgs restore_args;
  auto* restore_cmd = app.add_subcommand(
      "restore", "verify a backup and make it a data dir (redis-ctl must be stopped)");
  restore_cmd->add_option("--from", restore_args.from, "a backup's directory")->required();
  restore_cmd->add_option("--data-dir", restore_args.data_dir, "the data dir to restore into")
      ->required();
  restore_cmd->add_flag("--force", restore_args.force,
                        "move a non-empty data dir aside (to DIR.before-restore-TIME) first");
  restore_cmd->add_flag("--json", restore_args.json, "JSON");

  rs::svc::ExportArgs export_args;
  auto* export_cmd = add_data_dir_cmd(
      "export", "every event as a JSON line (seq, time, kind, cause, data)", export_args.data_dir);
  export_cmd->add_option("--out", export_args.out, "a file instead of stdout");
  export_cmd->add_option("--from", export_args.from, "first sequence");
  export_cmd->add_option("--to", export_args.to, "last sequence");

  // Online subcommands: talk to a running redis-ctl (remote_commands.h).
  rs::svc::RemoteArgs remote;
  std::map<std::string, CLI::App*> remote_cmds;
  auto add_remote = [&](const std::string& name, const std::string& help) {
    auto* cmd = app.add_subcommand(name, help);
    cmd->add_option("--ctl", remote.ctl, "redis-ctl's admin URL")->capture_default_str();
    cmd->add_option("--token", remote.token, "admin token (default: $REDIS_SVC_TOKEN)");
    cmd->add_flag("--json", remote.json, "JSON");
    remote_cmds[name] = cmd;
    return cmd;
  };
  add_remote("status", "the cluster's state, epoch, slot coverage and health");
  add_remote("nodes", "nodes with role, health, memory, ops/s and keys");
  add_remote("plans", "the plan in flight with its steps, and past plans");
  auto operation = [&](const std::string& name, const std::string& help) {
    auto* cmd = add_remote(name, help);
    cmd->add_flag("--dry-run", remote.dry_run,
                  "show the plan the planner would run; record nothing");
    cmd->add_flag("--no-wait", remote.no_wait, "return once the request is recorded");
    return cmd;
  };
  auto* mig = operation("migrate", "move slots between masters (through the planner and executor)");
  mig->add_option("--from", remote.from, "source master address")->required();
  mig->add_option("--to", remote.to, "destination master address")->required();
  auto* mslots = mig->add_option("--slots", remote.slots, "slots, e.g. 0-100,200");
  auto* mcount = mig->add_option("--count", remote.count, "or a number of slots");
  mslots->excludes(mcount);
  auto* reb = operation("rebalance", "even out slots by weight");
  reb->add_option("--weight", remote.weights, "ADDR=WEIGHT (repeatable)");
  reb->add_option("--threshold", remote.threshold, "percent of imbalance to tolerate");
  auto* fo = operation("failover", "promote a replica (of NODE if it is a master)");
  fo->add_option("--node", remote.node, "node address")->required();
  fo->add_option("--mode", remote.mode, "default, force or takeover")
      ->check(CLI::IsMember({"default", "force", "takeover"}))
      ->capture_default_str();
  fo->add_flag("--i-accept-possible-data-loss", remote.yes_data_loss,
               "required for force and takeover: writes the old master acknowledged may be lost");
  auto* add = operation("add-node", "take a member into the cluster (ends its retirement)");
  add->add_option("--node", remote.node, "node address")->required();
  auto* rm = operation("remove-node",
                       "drain a node and keep it out while discovery still lists it (retire it)");
  rm->add_option("--node", remote.node, "node address")->required();
  operation("fix", "close open slots and cover uncovered ones");
  operation("pause", "stop automatic plans (safety failovers still run)");
  operation("resume", "resume automatic plans");

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
  if (backup_cmd->parsed()) return rs::svc::RunBackup(backup_args);
  if (restore_cmd->parsed()) return rs::svc::RunRestore(restore_args);
  if (export_cmd->parsed()) return rs::svc::RunExport(export_args);
  for (const auto& [name, cmd] : remote_cmds) {
    if (!cmd->parsed()) continue;
    if (name == "status") return rs::svc::RunStatus(remote);
    if (name == "nodes") return rs::svc::RunNodes(remote);
    if (name == "plans") return rs::svc::RunPlans(remote);
    return rs::svc::RunOperation(name, remote);
  }
  std::printf("%s", app.help().c_str());
  return 0;
}
