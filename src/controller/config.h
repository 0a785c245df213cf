// redis-ctl's configuration: flags, with the lain environment as defaults. Validated once here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace rs::controller {

struct Config {
  std::string data_dir;
  std::string listen = "127.0.0.1:8080";  // Port 0: any free port.
  std::string admin_port_file;            // Written with the bound port once listening.
  std::string discovery;          // lainlet:URL | static:LIST | file:PATH
  std::string lainlet_url;        // Resolved for lainlet discovery: http://host:port
  std::string appname;            // Default $LAIN_APPNAME.
  std::string redis_proc = "redis";
  uint32_t replicas = 1;
  uint32_t min_masters = 3;
  std::string redis_user;
  std::string redis_password;
  std::vector<std::string> admin_tokens;  // "name:secret" or "secret".
  std::string admin_token_file;            // Lines "name:secret"; read at start-up.
  bool open_reads = true;                  // false: admin GETs need a token too.
  std::string alert_webhook;               // http://host:port/path for alert POSTs.
  int alert_cooldown_s = 300;              // Per subject.
  std::string backup_dir;                  // POST /v1/backup writes under it; empty: refused.
  std::string log_format = "plain";
  std::string log_level = "info";

  int probe_interval_ms = 500;
  int probe_timeout_ms = 1000;
  int probe_full_interval_ms = 5000;  // CLUSTER NODES, ROLE and INFO of a node at least this often.
  int probe_suspect_after = 2;        // Missed rounds in a row before a node is suspect.
  int64_t removal_grace_ms = 30'000;
  int64_t mass_removal_grace_ms = 120'000;
  int64_t lainlet_unreachable_after_ms = 60'000;  // No good contact this long: an alert.
  uint64_t snapshot_every = 10'000;
  int64_t retain_health_hours = 24 * 7;  // 0: keep every health/observation event.
  uint32_t max_parallel_migrations = 4;
  double max_keys_per_second = 0;
  bool allow_takeover = false;
  int64_t failover_grace_ms = 500;
  double rebalance_threshold_pct = 2;
};

// Parses argv (and LAIN_APPNAME, LAINLET_ADDR, REDIS_CTL_ADMIN_TOKEN from the environment).
// Returns the exit code to use when parsing ended the program (--help, --version, bad flags);
// otherwise fills `config` and returns -1.
int ParseConfig(int argc, char** argv, Config* config);

// Cross-field checks with clear messages.
Status Validate(Config& config);

}  // namespace rs::controller
