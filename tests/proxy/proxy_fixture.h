// Test harness: a real Redis Cluster (LocalCluster) with an in-process redis-proxy in front of it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/proxy.h"
#include "support/local_cluster.h"
#include "support/redis_client.h"

namespace rs::test {

// Thread contract: owned by the test's main thread (which must start the cluster).
class ProxyHarness {
 public:
  // Starts `masters` masters with one replica each (see set_replicas_per_master), then a proxy on
  // 127.0.0.1:0 following them through --seeds (unless `config.controller` is set; then seeds are
  // left as given).
  Status Start(int masters, int node_timeout_ms, proxy::ProxyConfig config = {},
               bool use_seeds = true);
  // Only the cluster; StartProxy() later.
  Status StartCluster(int masters, int node_timeout_ms, const std::string& password = "");
  Status StartProxy(proxy::ProxyConfig config);
  void StopProxy();
  ~ProxyHarness();
  // Before Start/StartCluster: replicas per master (default 1).
  void set_replicas_per_master(int n) { replicas_per_master_ = n; }
  // Before Start/StartCluster: a redis.conf line for every node ("enable-debug-command yes").
  void add_node_config(std::string line) { node_config_.push_back(std::move(line)); }

  LocalCluster& cluster() { return *cluster_; }
  proxy::Proxy& proxy() { return *proxy_; }
  uint16_t port() const { return proxy_->port(); }
  // Until every replica reports master_link_status:up.
  Status WaitForReplicasInSync(std::chrono::milliseconds timeout);
  Result<RedisClient> Connect(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // A direct connection to the node at "host:port".
  Result<RedisClient> ConnectNode(const std::string& address);
  // The current master address serving `slot`, asked from the cluster (CLUSTER SLOTS).
  Result<std::string> OwnerOf(int slot);
  // The nodes that answer ROLE as masters now.
  std::vector<std::string> Masters();
  // Keys named `prefix`N, one on each master of a 3-master cluster (their slots have different
  // owners), ordered by their master's address.
  std::vector<std::string> KeyPerMaster(const std::string& prefix);

 private:
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<proxy::Proxy> proxy_;
  int replicas_per_master_ = 1;
  std::vector<std::string> node_config_;
};

// A raw TCP exchange: sends `bytes`, half-closes nothing, reads until the peer closes or
// `timeout` passes, returns what was read. `closed` says whether the peer closed.
std::string RawExchange(uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout,
                        bool* closed = nullptr);

// Runs the Python `script` (the proxy's port is its argv[1]) with the python3 that has Debian's
// python3-redis (the system interpreter's; PATH may put another python3 first). Passes when it
// exits 0 with `ok_line` in the last 3 lines of its output. gtest assertions: call from a test.
void ExpectPythonScriptPasses(std::string_view script, uint16_t port, std::string_view ok_line,
                              std::chrono::seconds timeout = std::chrono::seconds(60));

// Moves `slot` from the master at `from` to the master at `to` in Redis's safe order, with
// `between` run after the slot is MIGRATING/IMPORTING and before the keys move (for ASK tests).
Status MigrateSlot(ProxyHarness& h, int slot, const std::string& from, const std::string& to,
                   const std::function<void()>& between = nullptr);

// Moves slots between masters in the same safe order as MigrateSlot, over connections kept open,
// for tests that move many slots under load.
// Thread contract: not thread-safe; one owner.
class Migrator {
 public:
  static Result<Migrator> Create(ProxyHarness& h, const std::vector<std::string>& masters);
  // Moves `slot` from masters[from] to masters[to], and tells the other masters.
  Status Move(int slot, size_t from, size_t to);

 private:
  std::vector<RedisClient> clients_;
  std::vector<std::string> ids_;
  std::vector<std::string> addrs_;
};

}  // namespace rs::test
