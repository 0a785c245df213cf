// redis-proxy: what clients connect to. Routes Redis commands to the right cluster node, splits
// multi-key commands and follows the controller's committed topology (or CLUSTER SLOTS).
#include <signal.h>
#include <sys/resource.h>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "common/logging.h"
#include "common/version.h"
#include "discovery/lainlet_address.h"
#include "proxy/proxy.h"

namespace {

rs::Status RaiseFileLimit(int clients) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return rs::Status::Ok();
  rlim_t want = static_cast<rlim_t>(clients) + 1024;
  if (rl.rlim_cur < want) {
    rl.rlim_cur = std::min(want, rl.rlim_max);
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  return rs::Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"redis-proxy: one Redis endpoint in front of a Redis Cluster"};
  app.set_version_flag("--version", rs::kVersion);
  rs::proxy::ProxyConfig cfg;
  std::string seeds, discovery;
  std::string log_level = "info", log_format = "plain";
  app.add_option("--listen", cfg.listen, "host:port to accept clients on (port 0: any)")
      ->capture_default_str();
  app.add_option("--threads", cfg.threads, "worker threads, each with its own loop and socket")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--controller", cfg.controller,
                 "controller URL (http://host:port); long-polls GET /v1/topology");
  app.add_option("--seeds", seeds, "host:port,... of cluster nodes to learn CLUSTER SLOTS from");
  app.add_option("--discovery", discovery,
                 "lainlet[:host:port]: the redis proc's pods that lainlet lists are seeds too, "
                 "followed as they change (lainlet's address defaults to LAINLET_ADDR, else "
                 "lainlet.lain:9001)");
  app.add_option("--appname", cfg.appname,
                 "the lain app whose pods --discovery follows (default: LAIN_APPNAME)");
  app.add_option("--redis-proc", cfg.redis_proc, "the proc of the Redis nodes in that app")
      ->capture_default_str();
  app.add_option("--topology-wait", cfg.topology_wait_seconds, "long-poll wait, seconds")
      ->capture_default_str();
  app.add_option("--refresh-interval-ms", cfg.refresh_interval_ms,
                 "CLUSTER SLOTS refresh period when not following the controller")
      ->capture_default_str();
  app.add_option("--backend-timeout", cfg.backend_timeout_ms,
                 "ms before requests to an unresponsive node fail")
      ->capture_default_str();
  app.add_option("--reconnect-interval", cfg.reconnect_interval_ms,
                 "ms between reconnect attempts to a failed node")
      ->capture_default_str();
  app.add_option("--max-clients", cfg.max_clients)->capture_default_str();
  app.add_option("--client-timeout", cfg.client_timeout_s, "idle client timeout, s (0: none)")
      ->capture_default_str();
  app.add_option("--max-pending", cfg.max_pending_per_client,
                 "per-client pipelined requests in flight before reading pauses")
      ->capture_default_str();
  app.add_option("--max-output", cfg.max_output_per_client,
                 "per-client output buffer bytes before the client is disconnected")
      ->capture_default_str();
  app.add_option("--requirepass", cfg.requirepass,
                 "password clients must AUTH with (default: $REDIS_PROXY_PASSWORD)");
  app.add_option("--backend-user", cfg.backend_user, "ACL user for the nodes");
  app.add_option("--backend-password", cfg.backend_password,
                 "password for the nodes (default: $REDIS_PASSWORD)");
  app.add_flag("--allow-admin-commands", cfg.allow_admin_commands,
               "allow FLUSHALL, KEYS, CONFIG SET, ... (refused by default)");
  app.add_option("--metrics-listen", cfg.metrics_listen, "host:port for Prometheus /metrics");
  app.add_option("--busy-poll-usec", cfg.busy_poll_usec,
                 "after input, poll without sleeping for this long: lower latency for more CPU "
                 "(0: off)")
      ->check(CLI::Range(0, 10'000'000));
  app.add_option("--slowlog-usec", cfg.slowlog_usec, "log requests slower than this (0: off)")
      ->capture_default_str();
  app.add_option("--max-sessions", cfg.max_sessions,
                 "session connections (transactions, WATCH, blocking commands, WAIT) in use per "
                 "worker thread; beyond it such requests get an error")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--session-idle-ms", cfg.session_idle_ms,
                 "an idle pooled session connection is closed after this")
      ->capture_default_str()
      ->check(CLI::Range(0, 86'400'000));
  app.add_option("--read-from", cfg.read_from,
                 "where read-only commands of a client that sent READONLY go: master, "
                 "prefer-replica or replica (in-sync replicas only)")
      ->capture_default_str()
      ->check(CLI::IsMember({"master", "prefer-replica", "replica"}));
  app.add_option("--replica-max-lag", cfg.replica_max_lag_s,
                 "seconds since a replica's last acknowledgement beyond which it is not read from")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
  // A diagnostic (hidden from --help): one subscriber connection per client and node instead of
  // the worker's shared one, to compare the two (docs/proxy.md).
  app.add_flag("--pubsub-connection-per-client", cfg.pubsub_connection_per_client)->group("");
  app.add_option("--log-level", log_level)->capture_default_str();
  app.add_option("--log-format", log_format, "plain or json")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // From the environment, passwords stay out of the command line that ps shows everyone.
  if (const char* env = std::getenv("REDIS_PROXY_PASSWORD"); env && cfg.requirepass.empty()) {
    cfg.requirepass = env;
  }
  if (const char* env = std::getenv("REDIS_PASSWORD"); env && cfg.backend_password.empty()) {
    cfg.backend_password = env;
  }
  auto format = rs::ParseLogFormat(log_format);
  if (!format.ok() || !rs::SetupLogging(log_level, *format).ok()) {
    std::fprintf(stderr, "redis-proxy: bad --log-level or --log-format\n");
    return 2;
  }
  std::string_view rest = seeds;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view one = rest.substr(0, comma);
    if (!one.empty()) cfg.seeds.emplace_back(one);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  if (!discovery.empty()) {
    auto lainlet = rs::discovery::ParseLainletDiscovery(discovery);
    if (!lainlet.ok()) {
      std::fprintf(stderr, "redis-proxy: --discovery: %s\n", lainlet.status().ToString().c_str());
      return 2;
    }
    cfg.lainlet_host = lainlet->host;
    cfg.lainlet_port = lainlet->port;
    if (cfg.appname.empty()) {
      const char* env = std::getenv("LAIN_APPNAME");
      if (env != nullptr) cfg.appname = env;
    }
    if (cfg.appname.empty() || cfg.redis_proc.empty()) {
      std::fprintf(stderr,
                   "redis-proxy: --discovery lainlet needs --appname (or LAIN_APPNAME) and a "
                   "--redis-proc\n");
      return 2;
    }
  }
  if (cfg.seeds.empty() && cfg.controller.empty() && cfg.lainlet_host.empty()) {
    std::fprintf(stderr, "redis-proxy: give --seeds, --discovery and/or --controller\n");
    return 2;
  }
  (void)RaiseFileLimit(cfg.max_clients);

  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  rs::proxy::Proxy proxy(cfg);
  rs::Status s = proxy.Start();
  if (!s.ok()) {
    spdlog::error("redis-proxy: {}", s.ToString());
    return 1;
  }
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("redis-proxy: signal {}, stopping", sig);
  proxy.Stop();
  return 0;
}
