// LocalCluster: several LocalRedis nodes in cluster mode, optionally formed into a Redis Cluster
// with `redis-cli --cluster create` (for tests that do not involve the controller).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "support/local_redis.h"
#include "support/temp_dir.h"

namespace rs::test {

struct LocalClusterOptions {
  int masters = 3;
  int replicas_per_master = 1;
  // Nodes are spread over these addresses round-robin, so replicas can land on other "hosts".
  std::vector<std::string> hosts = {"127.0.0.1"};
  int cluster_node_timeout_ms = 15000;
  std::string password;
  std::vector<std::string> extra_config;
  std::string redis_cli = "redis-cli";
  // How long Create waits for cluster_state:ok on every node.
  std::chrono::milliseconds ok_timeout = std::chrono::seconds(30);
};

// Thread contract: not thread-safe; owned by the test (main) thread. Node data lives in one temp
// dir (node-<i>/ per node), removed on destruction after every node is stopped.
class LocalCluster {
 public:
  explicit LocalCluster(LocalClusterOptions options = {});
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;
  ~LocalCluster();

  // Starts masters × (1 + replicas_per_master) empty cluster-enabled nodes; forms no cluster.
  Status StartNodes();
  // `redis-cli --cluster create ... --cluster-replicas N --cluster-yes`, then WaitForClusterOk.
  Status Create();
  // StartNodes() then Create().
  Status Start();

  // Waits until every running, unpaused node reports cluster_state:ok with all 16384 slots
  // assigned.
  Status WaitForClusterOk(std::chrono::milliseconds timeout);
  Status WaitForClusterOk() { return WaitForClusterOk(options_.ok_timeout); }

  // Stops every node (SIGTERM, then SIGKILL); safe to call twice.
  Status StopAll();

  size_t size() const { return nodes_.size(); }
  LocalRedis& node(size_t i) { return *nodes_.at(i); }
  const LocalRedis& node(size_t i) const { return *nodes_.at(i); }
  // "host:port" of every node, in index order.
  std::vector<std::string> Addresses() const;
  // Pids of the nodes that run now.
  std::vector<pid_t> Pids() const;
  // Index of the node listening on host:port, or -1.
  int IndexOf(const std::string& address) const;
  // Index of the master serving `slot`, as CLUSTER SLOTS of the first reachable node says.
  Result<int> IndexOfSlotOwner(int slot) const;
  // A connection to the master serving `key`'s slot, so a test can write without redirects.
  Result<RedisClient> ConnectForKey(std::string_view key) const;
  // Log tails of every node, for failure messages.
  std::string LogTails(size_t lines = 15) const;

 private:
  LocalClusterOptions options_;
  std::unique_ptr<TempDir> dir_;
  std::vector<std::unique_ptr<LocalRedis>> nodes_;
};

}  // namespace rs::test
