// --metrics-listen: Prometheus text on GET /metrics, served from its own thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"

namespace httplib {
class Server;
}

namespace rs::proxy {

// Thread contract: Start/Stop from the owner's thread; `render` runs on the server's thread.
class MetricsServer {
 public:
  explicit MetricsServer(std::function<std::string()> render);
  ~MetricsServer();
  Status Start(const std::string& listen);
  void Stop();
  int port() const { return port_; }

 private:
  std::function<std::string()> render_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace rs::proxy
