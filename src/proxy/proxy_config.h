// redis-proxy's settings, filled from flags once at startup and read-only afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rs::proxy {

struct ProxyConfig {
  std::string listen = "127.0.0.1:8889";
  int threads = 1;
  std::string controller;           // "http://host:port"; empty: none
  std::vector<std::string> seeds;   // "host:port"
  // --discovery lainlet: the pods of `redis_proc` in lainlet's procwatcher for `appname` are seeds
  // too, followed as they change. Empty host: no discovery.
  std::string lainlet_host;
  uint16_t lainlet_port = 0;
  std::string appname;
  std::string redis_proc = "redis";
  int topology_wait_seconds = 30;   // the long-poll's wait
  int refresh_interval_ms = 10000;  // CLUSTER SLOTS refresh when following seeds
  int backend_timeout_ms = 2000;
  int reconnect_interval_ms = 200;
  int connect_timeout_ms = 1000;
  int max_clients = 10000;
  int client_timeout_s = 0;  // idle timeout, 0: none
  size_t max_pending_per_client = 8192;
  size_t max_output_per_client = 512u * 1024 * 1024;
  std::string requirepass;
  std::string backend_user;
  std::string backend_password;
  bool allow_admin_commands = false;
  std::string metrics_listen;  // "host:port"; empty: none
  int64_t slowlog_usec = 0;    // 0: off
  int busy_poll_usec = 0;      // poll without sleeping this long after the last input; 0: off
  int max_retries = 10;        // TRYAGAIN / CLUSTERDOWN retries
  int retry_backoff_ms = 20;
  // Session connections (transactions, WATCH, blocking commands, WAIT) in use per worker.
  int max_sessions = 10000;
  int session_idle_ms = 30000;  // an idle pooled session connection is closed after this
  // Where read-only commands of a client that sent READONLY go: "master", "prefer-replica" or
  // "replica" (healthy replicas only; the master when none is).
  std::string read_from = "master";
  // A replica whose last acknowledgement to its master is older than this is not read from.
  int replica_max_lag_s = 2;
  // Diagnostic: every subscribed client gets its own subscriber connections instead of sharing
  // the worker's (to measure what multiplexing saves; see docs/proxy.md).
  bool pubsub_connection_per_client = false;
};

}  // namespace rs::proxy
