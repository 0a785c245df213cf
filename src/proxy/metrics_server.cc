#include "proxy/metrics_server.h"

#include <httplib.h>

#include "common/address.h"

namespace rs::proxy {

MetricsServer::MetricsServer(std::function<std::string()> render) : render_(std::move(render)) {}

MetricsServer::~MetricsServer() { Stop(); }

Status MetricsServer::Start(const std::string& listen) {
  // Port 0 (any free port) is allowed here, which Address::Parse refuses.
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("metrics: expected host:port, got '" + listen + "'");
  }
  Address addr;
  addr.host = listen.substr(0, colon);
  char* end = nullptr;
  long port = std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) {
    return Status::InvalidArgument("metrics: bad port in '" + listen + "'");
  }
  addr.port = static_cast<uint16_t>(port);
  server_ = std::make_unique<httplib::Server>();
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(render_(), "text/plain; version=0.0.4");
  });
  if (addr.port == 0) {
    port_ = server_->bind_to_any_port(addr.host);
  } else {
    port_ = server_->bind_to_port(addr.host, addr.port) ? addr.port : -1;
  }
  if (port_ <= 0) return Status::IoError("metrics: cannot listen on " + listen);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::Ok();
}

void MetricsServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace rs::proxy
