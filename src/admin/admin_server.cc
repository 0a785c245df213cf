#include "admin/admin_server.h"

#include <httplib.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "admin/topology_json.h"
#include "common/address.h"

namespace rs::admin {
namespace {

void JsonReply(httplib::Response& res, int code, const nlohmann::json& body) {
  res.status = code;
  res.set_content(body.dump(), "application/json");
}

void ErrorReply(httplib::Response& res, int code, const std::string& message) {
  JsonReply(res, code, {{"error", message}});
}

// Parses a non-negative integer query parameter; `fallback` when absent.
Result<uint64_t> UintParam(const httplib::Request& req, const char* name, uint64_t fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument(fmt::format("{} must be a non-negative integer, got '{}'", name, v));
  }
  return std::stoull(v);
}

}  // namespace

AdminServer::AdminServer(AdminServerOptions options, ControllerView* view)
    : options_(std::move(options)), view_(view), server_(std::make_unique<httplib::Server>()) {
  int threads = options_.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  Routes();
}

AdminServer::~AdminServer() { Stop(); }

void AdminServer::Routes() {
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    if (view_->Ready()) {
      res.set_content("ready\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("replaying the event log\n", "text/plain");
    }
  });
  // GET /v1/topology[?after=EPOCH&wait=SECONDS]: with `after`, waits until the committed epoch is
  // greater than EPOCH (or `wait` passes, then answers 304 Not Modified).
  server_->Get("/v1/topology", [this](const httplib::Request& req, httplib::Response& res) {
    auto after = UintParam(req, "after", 0);
    auto wait = UintParam(req, "wait", 0);
    if (!after.ok()) return ErrorReply(res, 400, after.status().message());
    if (!wait.ok()) return ErrorReply(res, 400, wait.status().message());
    const bool poll = req.has_param("after");
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::seconds(std::min<uint64_t>(*wait, options_.max_wait_seconds));
    while (true) {
      eventlog::ClusterState state = view_->State();
      if (!poll || state.topology.epoch > *after) {
        return JsonReply(res, 200, TopologyToJson(state.topology));
      }
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        res.status = 304;
        return;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      view_->WaitForEvent(state.last_seq, std::min(left, std::chrono::milliseconds(1000)));
    }
  });
}

Status AdminServer::Start() {
  RS_ASSIGN_OR_RETURN(Address addr, Address::Parse(options_.listen));
  if (addr.port == 0) return Status::InvalidArgument("admin listen port must not be 0");
  if (!server_->bind_to_port(addr.host, addr.port)) {
    return Status::Unavailable(fmt::format("cannot listen on {} (address in use?)", options_.listen));
  }
  port_ = addr.port;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  spdlog::info("admin HTTP on {}", options_.listen);
  return Status::Ok();
}

void AdminServer::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace rs::admin
