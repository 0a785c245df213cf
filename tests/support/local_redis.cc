#include "support/local_redis.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include "support/free_port.h"
#include "support/subprocess.h"

namespace rs::test {
namespace {

constexpr int kMaxPortAttempts = 5;

bool LogSaysAddressInUse(const std::filesystem::path& log) {
  std::string tail = TailOfFile(log, 40);
  return tail.find("Address already in use") != std::string::npos;
}

}  // namespace

LocalRedis::LocalRedis(LocalRedisOptions options)
    : options_(std::move(options)), port_(options_.port) {}

LocalRedis::~LocalRedis() {
  PrintLogTailIfTestFailed(*this);
  if (running()) (void)TerminateChild(pid_, SIGKILL, std::chrono::seconds(5));
}

Status LocalRedis::WriteConfig() const {
  std::ofstream conf(dir_ / "redis.conf", std::ios::trunc);
  // bind-source-addr: outgoing bus and replication connections come from this node's own
  // address, as they would from a separate host (the kernel would pick 127.0.0.1 otherwise;
  // set_source_address false leaves it so, for the tests of that misconfiguration).
  conf << "bind " << options_.host << "\n";
  if (options_.set_source_address) conf << "bind-source-addr " << options_.host << "\n";
  conf << "port " << port_ << "\n"
       << "protected-mode no\n"
       << "daemonize no\n"
       << "dir \"" << dir_.string() << "\"\n"
       << "logfile \"\"\n"  // stdout, which Spawn appends to redis.log.
       << "save \"\"\n"
       << "appendonly no\n";
  if (options_.cluster_enabled) {
    conf << "cluster-enabled yes\n"
         << "cluster-config-file nodes.conf\n"
         << "cluster-node-timeout " << options_.cluster_node_timeout_ms << "\n";
    // Peers learn a node's address from what it announces, not from the connection's source.
    if (options_.set_source_address) conf << "cluster-announce-ip " << options_.host << "\n";
  }
  if (!options_.password.empty()) {
    conf << "requirepass " << options_.password << "\n"
         << "masterauth " << options_.password << "\n";
  }
  for (const auto& line : options_.extra_config) conf << line << "\n";
  conf.close();
  if (!conf) return Status::IoError("cannot write " + (dir_ / "redis.conf").string());
  return Status::Ok();
}

Status LocalRedis::Start() {
  if (running()) return Status::FailedPrecondition("redis " + address() + " already runs");
  if (dir_.empty()) {
    if (options_.dir.empty()) {
      RS_ASSIGN_OR_RETURN(TempDir tmp, TempDir::Create("rs-redis"));
      temp_dir_.emplace(std::move(tmp));
      dir_ = temp_dir_->path();
    } else {
      dir_ = options_.dir;
      std::error_code ec;
      std::filesystem::create_directories(dir_, ec);
      if (ec) return Status::IoError("mkdir " + dir_.string() + ": " + ec.message());
    }
  }
  bool choose_port = options_.port == 0 && port_ == 0;
  for (int attempt = 1;; ++attempt) {
    if (choose_port) {
      RS_ASSIGN_OR_RETURN(port_, FindFreePort(options_.host, options_.cluster_enabled));
    }
    Status s = Launch();
    if (s.ok() || !choose_port || attempt >= kMaxPortAttempts || !LogSaysAddressInUse(log_path())) {
      return s;
    }
    // Another process took the port between FindFreePort and the server's bind: pick again.
  }
}

Status LocalRedis::Launch() {
  RS_RETURN_IF_ERROR(WriteConfig());
  RS_ASSIGN_OR_RETURN(pid_,
                      Spawn({options_.server_binary, (dir_ / "redis.conf").string()}, log_path()));
  paused_ = false;
  Status ready = WaitUntilReady();
  if (!ready.ok() && pid_ > 0) {
    (void)TerminateChild(pid_, SIGKILL, std::chrono::seconds(5));
    pid_ = -1;
  }
  return ready;
}

Status LocalRedis::WaitUntilReady() {
  auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  std::string last_error = "no answer yet";
  while (std::chrono::steady_clock::now() < deadline) {
    if (!ChildRunning(pid_)) {
      pid_ = -1;
      return Status::Unavailable("redis-server " + address() + " exited during start-up; log:\n" +
                                 LogTail(15));
    }
    auto client = RedisClient::Connect(options_.host, port_, std::chrono::milliseconds(500),
                                       options_.password);
    if (client.ok()) {
      auto pong = client->CommandString("PING");
      if (pong.ok() && *pong == "PONG") return Status::Ok();
      last_error = pong.ok() ? *pong : pong.status().ToString();  // LOADING, ...
    } else {
      last_error = client.status().ToString();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Timeout("redis-server " + address() + " did not answer PING within " +
                         std::to_string(options_.start_timeout.count()) + " ms (" + last_error +
                         "); log:\n" + LogTail(15));
}

Status LocalRedis::Stop(std::chrono::milliseconds timeout) {
  if (!running()) return Status::Ok();
  auto r = TerminateChild(pid_, SIGTERM, timeout);
  pid_ = -1;
  paused_ = false;
  return r.ok() ? Status::Ok() : r.status();
}

Status LocalRedis::Kill() {
  if (!running()) return Status::Ok();
  auto r = TerminateChild(pid_, SIGKILL, std::chrono::seconds(5));
  pid_ = -1;
  paused_ = false;
  return r.ok() ? Status::Ok() : r.status();
}

Status LocalRedis::Pause() {
  if (!running()) return Status::FailedPrecondition("redis " + address() + " is not running");
  RS_RETURN_IF_ERROR(SignalChild(pid_, SIGSTOP));
  paused_ = true;
  return Status::Ok();
}

Status LocalRedis::Resume() {
  if (!running()) return Status::FailedPrecondition("redis " + address() + " is not running");
  RS_RETURN_IF_ERROR(SignalChild(pid_, SIGCONT));
  paused_ = false;
  return Status::Ok();
}

Status LocalRedis::Restart() {
  if (running()) RS_RETURN_IF_ERROR(Stop());
  if (dir_.empty() || port_ == 0) return Status::FailedPrecondition("Restart before Start");
  // The old process may have been killed a moment ago; its port frees up almost at once
  // (Redis sets SO_REUSEADDR), but give a few tries before giving up.
  Status s;
  for (int attempt = 0; attempt < 5; ++attempt) {
    s = Launch();
    if (s.ok() || !LogSaysAddressInUse(log_path())) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return s;
}

bool LocalRedis::running() const {
  if (pid_ > 0 && !ChildRunning(pid_)) pid_ = -1;
  return pid_ > 0;
}

Result<RedisClient> LocalRedis::Connect(std::chrono::milliseconds timeout) const {
  return RedisClient::Connect(options_.host, port_, timeout, options_.password);
}

Result<std::string> LocalRedis::NodeId() const {
  RS_ASSIGN_OR_RETURN(RedisClient client, Connect());
  return client.CommandString("CLUSTER", "MYID");
}

std::string LocalRedis::LogTail(size_t lines) const { return TailOfFile(log_path(), lines); }

void PrintLogTailIfTestFailed(const LocalRedis& redis, size_t lines) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr || !info->result()->Failed() || redis.dir().empty()) return;
  std::fprintf(stderr, "---- last %zu lines of redis %s (%s) ----\n%s----\n", lines,
               redis.address().c_str(), redis.log_path().c_str(), redis.LogTail(lines).c_str());
}

}  // namespace rs::test
