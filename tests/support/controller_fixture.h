// A real redis-ctl process in front of real redis-server nodes, with a file discovery source the
// test edits, and a small cluster-aware client that follows MOVED/ASK to check keys.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/local_cluster.h"
#include "support/temp_dir.h"

namespace rs::test {

struct NodeLine {
  std::string id, address, master_id;
  bool master = false, myself = false, fail = false;
  int slots = 0;
};

class ControllerFixture : public ::testing::Test {
 protected:
  // Starts `nodes` empty cluster-enabled nodes over 127.0.0.1-3 (no cluster formed). Unless
  // `redis_default_replication`, with repl-diskless-sync-delay 0 (one replica per master: no
  // reason to wait 5 s for more before the first sync).
  void StartNodes(int nodes, int node_timeout_ms = 15000, bool redis_default_replication = false);
  // Writes the members file with these node indices ("host:port host-label" lines).
  void SetMembers(const std::vector<size_t>& indices);
  // Starts redis-ctl (binary `binary`, default the normal one) with extra flags and env.
  void StartController(std::vector<std::string> extra = {},
                       std::map<std::string, std::string> env = {}, std::string binary = "");
  // SIGTERM and wait; returns the exit status.
  int StopController();
  // SIGKILL.
  void KillController();
  bool ControllerRunning();
  std::string ControllerLog(size_t lines = 60);

  // Polls `pred` every 100 ms; false on timeout.
  bool WaitFor(std::chrono::milliseconds timeout, const std::function<bool()>& pred);

  // CLUSTER NODES as seen by node i (empty when it does not answer).
  std::vector<NodeLine> Nodes(size_t i);
  // True when every running member node reports cluster_state:ok, all 16384 slots, no open
  // slots, `masters` masters with slots and every one of them with at least `replicas` replicas.
  bool Converged(const std::vector<size_t>& members, int masters, int replicas);
  // Slots per master address (from node i's view).
  std::map<std::string, int> SlotCounts(size_t i);

  // Writes n keys key:<k> = val:<k> through a slot-aware client; returns false on any error.
  bool WriteKeys(int n, const std::string& prefix = "key:");
  // Reads them back following MOVED/ASK; returns the number missing or wrong.
  int MissingKeys(int n, const std::string& prefix = "key:");

  // GET on the admin API; "" on failure.
  std::string HttpGet(const std::string& path);

  void TearDown() override;

  std::unique_ptr<LocalCluster> cluster_;
  std::optional<TempDir> dir_;
  std::string members_file_;
  std::string discovery_;  // --discovery; "file:<members_file_>" when empty.
  std::string data_dir_;
  uint16_t admin_port_ = 0;
  // StartController with --listen 127.0.0.1:0, learning the port from --admin-port-file (a new
  // port at each start).
  bool listen_any_port_ = false;
  pid_t ctl_pid_ = -1;
  std::string ctl_log_;
};

// The redis-ctl binaries built with this test (set by CMake).
std::string RedisCtlBinary();
std::string RedisCtlCrashBinary();
std::string RedisSvcBinary();

}  // namespace rs::test
