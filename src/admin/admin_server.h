// The controller's HTTP server: health checks and the topology long-poll the proxies follow.
// (The full admin API and the console build on it.)
// Thread contract: Start/Stop from the owner; handlers run on the server's own thread pool and
// reach controller state only through ControllerView, which must be thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"
#include "eventlog/cluster_state.h"

namespace httplib {
class Server;
}

namespace rs::admin {

class ControllerView {
 public:
  virtual ~ControllerView() = default;
  virtual eventlog::ClusterState State() = 0;
  // Blocks until an event after `after` is folded or the timeout passes; returns the last seq.
  virtual eventlog::Seq WaitForEvent(eventlog::Seq after, std::chrono::milliseconds timeout) = 0;
  // True once the controller has replayed its log and is running its loop.
  virtual bool Ready() = 0;
};

struct AdminServerOptions {
  std::string listen = "127.0.0.1:8080";
  int max_wait_seconds = 60;  // Cap on ?wait= for long-polls.
  int threads = 64;           // Long-polls hold a thread each.
};

class AdminServer {
 public:
  AdminServer(AdminServerOptions options, ControllerView* view);
  ~AdminServer();

  // Binds and starts serving on a background thread. Fails when the address is taken.
  Status Start();
  void Stop();
  int port() const { return port_; }

 private:
  void Routes();

  AdminServerOptions options_;
  ControllerView* view_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace rs::admin
