#include "controller/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/address.h"
#include "common/version.h"
#include "discovery/lainlet_address.h"

namespace rs::controller {

int ParseConfig(int argc, char** argv, Config* c) {
  CLI::App app{
      "redis-ctl: runs a Redis Cluster from what discovery says. Every fact it learns and every "
      "change it makes is an event in a RocksDB write-ahead log under --data-dir."};
  app.set_version_flag("--version", kVersion);
  app.add_option("--data-dir", c->data_dir, "Directory of the event log (created if missing)")
      ->required();
  app.add_option("--listen", c->listen,
                 "Admin HTTP address (API, /v1/topology, /healthz); port 0 picks a free one, "
                 "logged as 'admin listening on host:port'")
      ->capture_default_str();
  app.add_option("--admin-port-file", c->admin_port_file,
                 "Once listening, write the admin port to this file (for --listen host:0)");
  app.add_option("--discovery", c->discovery,
                 "Where the wanted members come from: lainlet[:URL] (default, URL from "
                 "LAINLET_ADDR, else lainlet.lain:9001), static:host:port,... or file:PATH "
                 "(one 'host:port [host-label]' per line; edits are picked up)");
  app.add_option("--appname", c->appname, "lain app to watch (default: $LAIN_APPNAME)");
  app.add_option("--redis-proc", c->redis_proc, "lain proc whose instances are the Redis nodes")
      ->capture_default_str();
  app.add_option("--replicas", c->replicas, "Replicas per master")->capture_default_str();
  app.add_option("--min-masters", c->min_masters, "Masters to form the cluster with")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--redis-user", c->redis_user, "ACL user for the Redis nodes");
  app.add_option("--redis-password", c->redis_password,
                 "Password of the Redis nodes (default: $REDIS_PASSWORD)");
  app.add_option("--admin-token", c->admin_tokens,
                 "Token for mutating admin calls, as name:secret (repeatable; default: "
                 "$REDIS_CTL_ADMIN_TOKEN)");
  app.add_option("--admin-token-file", c->admin_token_file,
                 "File of admin tokens, one name:secret per line ('#' comments)");
  app.add_option("--open-reads", c->open_reads,
                 "Whether admin API reads (GET /v1/...) work without a token (/v1/topology, "
                 "/metrics and health checks are always open)")
      ->capture_default_str();
  app.add_option("--alert-webhook", c->alert_webhook,
                 "URL (http://host:port/path) that alerts are POSTed to as JSON");
  app.add_option("--alert-cooldown-s", c->alert_cooldown_s,
                 "Seconds before the same alert subject is sent again")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400));
  app.add_option("--backup-dir", c->backup_dir,
                 "Directory under which POST /v1/backup writes its checkpoints (created if "
                 "missing); without it the admin API refuses backups");
  app.add_option("--log-format", c->log_format, "plain or json")->capture_default_str();
  app.add_option("--log-level", c->log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  app.add_option("--probe-interval-ms", c->probe_interval_ms, "Health probe interval")
      ->capture_default_str()
      ->check(CLI::Range(50, 60000));
  app.add_option("--probe-timeout-ms", c->probe_timeout_ms, "Health probe timeout")
      ->capture_default_str()
      ->check(CLI::Range(50, 60000));
  app.add_option("--probe-full-interval-ms", c->probe_full_interval_ms,
                 "Longest time between two full probes (CLUSTER NODES, ROLE, INFO) of a node; "
                 "rounds in between send CLUSTER INFO only, and a change seen anywhere makes the "
                 "next round of every node a full one. 0: every round is full")
      ->capture_default_str()
      ->check(CLI::Range(0, 600000));
  app.add_option("--probe-suspect-after", c->probe_suspect_after,
                 "Timed-out or failed probe rounds in a row before a node is suspect (a refused "
                 "connection is down at once; 3 in a row are down)")
      ->capture_default_str()
      ->check(CLI::Range(1, 3));
  app.add_option("--removal-grace-ms", c->removal_grace_ms,
                 "How long a member must be absent from discovery before it is drained")
      ->capture_default_str();
  app.add_option("--mass-removal-grace-ms", c->mass_removal_grace_ms,
                 "The same for an empty snapshot or one dropping more than half of the members")
      ->capture_default_str();
  app.add_option("--lainlet-unreachable-after-ms", c->lainlet_unreachable_after_ms,
                 "How long lainlet may give no good answer (event, heartbeat or 200 GET) before "
                 "it is recorded as unreachable and alerted on; heartbeats are asked for at "
                 "least three times as often")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1500}, int64_t{24 * 3600 * 1000}));
  app.add_option("--failover-grace-ms", c->failover_grace_ms,
                 "How long a master must refuse connections before its replica is promoted")
      ->capture_default_str();
  app.add_option("--snapshot-every", c->snapshot_every, "Events between state snapshots")
      ->capture_default_str();
  app.add_option("--retain-health-hours", c->retain_health_hours,
                 "Health and observation events older than this may be compacted, hourly "
                 "(0: keep all; plan, step, operator, membership and topology events are kept "
                 "forever)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{24 * 365 * 10}));
  app.add_option("--max-parallel-migrations", c->max_parallel_migrations,
                 "Migrate steps run at once (no node is the source of two, or both a source "
                 "and a destination)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--max-keys-per-second", c->max_keys_per_second,
                 "Rate limit for migrations (0: none)")
      ->capture_default_str();
  app.add_option("--rebalance-threshold", c->rebalance_threshold_pct,
                 "Percent of imbalance below which no slot moves")
      ->capture_default_str();
  app.add_flag("--allow-takeover", c->allow_takeover,
               "Allow CLUSTER FAILOVER TAKEOVER when no majority of masters is reachable");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return -1;
}

Status Validate(Config& c) {
  if (c.appname.empty()) {
    if (const char* env = std::getenv("LAIN_APPNAME")) c.appname = env;
  }
  if (c.redis_password.empty()) {
    if (const char* env = std::getenv("REDIS_PASSWORD")) c.redis_password = env;
  }
  if (c.admin_tokens.empty()) {
    if (const char* env = std::getenv("REDIS_CTL_ADMIN_TOKEN"); env && *env) {
      c.admin_tokens.push_back(env);
    }
  }
  if (!c.admin_token_file.empty()) {
    std::ifstream in(c.admin_token_file);
    if (!in) return Status::InvalidArgument("cannot read --admin-token-file " + c.admin_token_file);
    for (std::string line; std::getline(in, line);) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      c.admin_tokens.push_back(line);
    }
  }
  if (c.alert_webhook.rfind("http://", 0) != 0 && !c.alert_webhook.empty()) {
    return Status::InvalidArgument("--alert-webhook must be an http:// URL");
  }
  if (!c.backup_dir.empty()) {
    // Absolute, so POST /v1/backup answers with a path that means the same from anywhere.
    std::error_code ec;
    auto abs = std::filesystem::absolute(c.backup_dir, ec);
    if (ec) return Status::InvalidArgument("--backup-dir " + c.backup_dir + ": " + ec.message());
    c.backup_dir = abs.lexically_normal().string();
  }
  if (auto listen = Address::ParseListen(c.listen); !listen.ok()) {
    return listen.status().WithContext("--listen");
  }
  if (c.discovery.empty()) c.discovery = "lainlet";
  if (c.discovery == "lainlet" || c.discovery.rfind("lainlet:", 0) == 0) {
    auto lainlet = discovery::ParseLainletDiscovery(c.discovery);
    if (!lainlet.ok()) return lainlet.status().WithContext("--discovery");
    c.lainlet_url = "http://" + lainlet->ToString();
    c.discovery = "lainlet";
    if (c.appname.empty()) {
      return Status::InvalidArgument(
          "lainlet discovery needs --appname (or LAIN_APPNAME in the environment)");
    }
  }
  if (c.replicas > 5) return Status::InvalidArgument("--replicas above 5 is not supported");
  if (c.probe_timeout_ms > c.probe_interval_ms * 10) {
    return Status::InvalidArgument("--probe-timeout-ms must be at most 10 x --probe-interval-ms");
  }
  return Status::Ok();
}

}  // namespace rs::controller
