// LocalRedis: one real redis-server process for a test, on a loopback address and a free port.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "support/redis_client.h"
#include "support/temp_dir.h"

namespace rs::test {

struct LocalRedisOptions {
  // Any 127.x.y.z: 127.0.0.2, 127.0.0.3 ... stand in for different hosts.
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: a free port (with a free cluster bus port) is chosen.
  bool cluster_enabled = true;
  int cluster_node_timeout_ms = 15000;
  // false: neither bind-source-addr nor cluster-announce-ip, as with Redis's defaults. A node on
  // 127.0.0.2 then connects from 127.0.0.1 (the kernel's pick), and peers take that for its address.
  bool set_source_address = true;
  std::string password;                   // Sets requirepass and masterauth.
  std::vector<std::string> extra_config;  // redis.conf lines appended verbatim.
  std::filesystem::path dir;              // Empty: a fresh temp dir, removed on destruction.
  std::string server_binary = "redis-server";
  std::chrono::milliseconds start_timeout = std::chrono::seconds(10);
};

// Thread contract: not thread-safe; owned by the test (main) thread, which must also be the thread
// that starts it (the server dies with that thread, see Spawn).
// The destructor kills the server if it still runs and, when the current test has failed, prints
// the tail of the server's log to stderr.
class LocalRedis {
 public:
  explicit LocalRedis(LocalRedisOptions options = {});
  LocalRedis(const LocalRedis&) = delete;
  LocalRedis& operator=(const LocalRedis&) = delete;
  ~LocalRedis();

  // Writes redis.conf, starts redis-server and waits until it answers PING. When the port was
  // chosen here and another process grabbed it first, retries on a new port.
  Status Start();
  // SIGTERM, then SIGKILL if it has not exited within `timeout`.
  Status Stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // kill -9: no shutdown work at all, like a crashed host.
  Status Kill();
  // SIGSTOP / SIGCONT: the node stops answering but keeps its sockets, like a hung host.
  Status Pause();
  Status Resume();
  // Starts again on the same port and dir after Stop/Kill (stopping first if it runs), so
  // nodes.conf keeps the node id.
  Status Restart();

  bool running() const;
  bool paused() const { return paused_; }
  pid_t pid() const { return pid_; }
  const std::string& host() const { return options_.host; }
  uint16_t port() const { return port_; }
  std::string address() const { return host() + ":" + std::to_string(port_); }
  const std::string& password() const { return options_.password; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path log_path() const { return dir_ / "redis.log"; }

  // A new connection (AUTH done when there is a password).
  Result<RedisClient> Connect(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  // CLUSTER MYID.
  Result<std::string> NodeId() const;
  std::string LogTail(size_t lines = 30) const;

 private:
  Status WriteConfig() const;
  Status Launch();
  Status WaitUntilReady();

  LocalRedisOptions options_;
  std::optional<TempDir> temp_dir_;
  std::filesystem::path dir_;
  uint16_t port_ = 0;
  mutable pid_t pid_ = -1;  // -1 once reaped, so a recycled pid is never signalled.
  bool paused_ = false;
};

// Prints the tail of `redis`'s log to stderr if the running gtest test has failed.
void PrintLogTailIfTestFailed(const LocalRedis& redis, size_t lines = 20);

}  // namespace rs::test
