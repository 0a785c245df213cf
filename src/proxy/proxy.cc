#include "proxy/proxy.h"

#include <algorithm>
#include <csignal>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/address.h"
#include "common/version.h"
#include "proxy/metrics_server.h"
#include "proxy/topology_source.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

struct Totals {
  uint64_t clients = 0, clients_total = 0, rejected = 0, requests = 0, errors = 0, proxy_errors = 0,
           moved = 0, ask = 0, tryagain = 0, slow_consumers = 0, slow_requests = 0,
           protocol_errors = 0;
  std::vector<uint64_t> per_command;
};

Totals Sum(const std::vector<std::unique_ptr<Worker>>& workers) {
  Totals t;
  t.per_command.assign(CommandTable::Get().size() + 1, 0);
  for (const auto& w : workers) {
    const WorkerStats& s = w->stats();
    t.clients += s.clients.Get();
    t.clients_total += s.clients_total.Get();
    t.rejected += s.clients_rejected.Get();
    t.requests += s.requests.Get();
    t.errors += s.errors.Get();
    t.proxy_errors += s.proxy_errors.Get();
    t.moved += s.moved.Get();
    t.ask += s.ask.Get();
    t.tryagain += s.tryagain.Get();
    t.slow_consumers += s.slow_consumers.Get();
    t.slow_requests += s.slow_requests.Get();
    t.protocol_errors += s.protocol_errors.Get();
    for (size_t i = 0; i < t.per_command.size(); ++i) t.per_command[i] += s.per_command[i].Get();
  }
  return t;
}

}  // namespace

Proxy::Proxy(ProxyConfig config) : config_(std::move(config)) {
  // Random starts, so that a SCAN cursor of an earlier process is seldom read as one of ours
  // (such a cursor restarts its scan).
  std::random_device rd;
  scan_ids_ = std::make_unique<AddressRegistry>(static_cast<uint16_t>(1 + rd() % 16000));
  scan_log_ = std::make_unique<SlotMoveLog>(scan_ids_.get(), rd() % 16000);
}

Proxy::~Proxy() { Stop(); }

Status Proxy::Start() {
  // "host:port" or ":port" or "port"; port 0 picks a free one (Address::Parse refuses 0).
  std::string listen = config_.listen;
  size_t colon = listen.rfind(':');
  host_ = colon == std::string::npos || colon == 0 ? "0.0.0.0" : listen.substr(0, colon);
  if (host_.size() > 2 && host_.front() == '[') host_ = host_.substr(1, host_.size() - 2);
  std::string port_text = colon == std::string::npos ? listen : listen.substr(colon + 1);
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) {
    return Status::InvalidArgument("--listen: bad port in '" + listen + "'");
  }
  port_ = static_cast<uint16_t>(port);
  started_ms_ = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  // A client that goes away makes the next write to it raise SIGPIPE; the proxy handles EPIPE.
  signal(SIGPIPE, SIG_IGN);
  // Before the workers, which read it for INFO; it fetches nothing until Start().
  topology_ = std::make_unique<TopologySource>(this, config_);
  for (int i = 0; i < std::max(1, config_.threads); ++i) {
    auto w = std::make_unique<Worker>(this, i);
    Status s = w->Start(host_, port_);
    if (!s.ok()) {
      Stop();
      return s;
    }
    if (port_ == 0) port_ = w->bound_port();
    workers_.push_back(std::move(w));
  }
  if (!config_.metrics_listen.empty()) {
    metrics_ = std::make_unique<MetricsServer>([this] { return MetricsText(); });
    RS_RETURN_IF_ERROR(metrics_->Start(config_.metrics_listen));
  }
  topology_->Start();
  spdlog::info("redis-proxy listening on {}:{} with {} worker thread(s)", host_, port_,
               workers_.size());
  return Status::Ok();
}

void Proxy::Stop() {
  if (topology_) topology_->Stop();
  if (metrics_) metrics_->Stop();
  for (auto& w : workers_) w->Stop();
  workers_.clear();
  topology_.reset();
  metrics_.reset();
}

int Proxy::metrics_port() const { return metrics_ ? metrics_->port() : 0; }

namespace {

RoutingTablePtr WithHealth(const RoutingTablePtr& table, const std::set<std::string>& healthy) {
  auto copy = std::make_shared<RoutingTable>(*table);
  copy->replica_healthy.assign(copy->replicas.size(), {});
  for (size_t m = 0; m < copy->replicas.size(); ++m) {
    for (const std::string& r : copy->replicas[m]) {
      copy->replica_healthy[m].push_back(healthy.contains(r));
    }
  }
  return copy;
}

}  // namespace

void Proxy::PublishTable(RoutingTablePtr table) {
  std::lock_guard<std::mutex> lock(mu_);
  PublishLocked(std::move(table));
}

bool Proxy::PublishTableOver(const RoutingTable& base, RoutingTablePtr table) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!latest_ || latest_->epoch != base.epoch || latest_->generation != base.generation) {
    return false;
  }
  PublishLocked(std::move(table));
  return true;
}

void Proxy::PublishLocked(RoutingTablePtr table) {
  if (healthy_replicas_) table = WithHealth(table, *healthy_replicas_);
  if (Status s = scan_log_->Publish(table); !s.ok()) spdlog::warn("SCAN move log: {}", s.ToString());
  latest_ = table;
  for (auto& w : workers_) w->PostTable(table);
}

void Proxy::SetHealthyReplicas(std::set<std::string> healthy) {
  std::lock_guard<std::mutex> lock(mu_);
  if (healthy_replicas_ && *healthy_replicas_ == healthy) return;
  healthy_replicas_ = std::move(healthy);
  if (!latest_) return;
  latest_ = WithHealth(latest_, *healthy_replicas_);
  for (auto& w : workers_) w->PostTable(latest_);
}

RoutingTablePtr Proxy::latest_table() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_;
}

void Proxy::RequestRefresh() {
  if (topology_) topology_->RequestRefresh();
}

void Proxy::ReportBackendFailure(const std::string& address) {
  if (topology_) topology_->ReportBackendFailure(address);
}

std::string Proxy::InfoSection() const {
  Totals t = Sum(workers_);
  RoutingTablePtr table = latest_table();
  std::string out = "# Proxy\r\n";
  out += fmt::format("proxy_version:{}\r\nproxy_threads:{}\r\nproxy_port:{}\r\n", kVersion,
                     workers_.size(), port_);
  out += fmt::format(
      "proxy_connected_clients:{}\r\nproxy_total_connections_received:{}\r\n"
      "proxy_rejected_connections:{}\r\nproxy_total_commands:{}\r\nproxy_error_replies:{}\r\n"
      "proxy_errors:{}\r\nproxy_redirects_moved:{}\r\nproxy_redirects_ask:{}\r\n"
      "proxy_retries:{}\r\nproxy_protocol_errors:{}\r\nproxy_slow_consumers_disconnected:{}\r\n"
      "proxy_slow_requests:{}\r\n",
      t.clients, t.clients_total, t.rejected, t.requests, t.errors, t.proxy_errors, t.moved, t.ask,
      t.tryagain, t.protocol_errors, t.slow_consumers, t.slow_requests);
  out += fmt::format("topology_epoch:{}\r\ntopology_source:{}\r\ntopology_masters:{}\r\n",
                     table ? table->epoch : 0, table ? table->source : "none",
                     table ? table->masters.size() : 0);
  size_t replicas = 0, healthy = 0;
  if (table) {
    for (const auto& r : table->replicas) replicas += r.size();
    for (const auto& h : table->replica_healthy) healthy += std::count(h.begin(), h.end(), true);
  }
  out += fmt::format("topology_replicas:{}\r\n", replicas);
  if (config_.read_from != "master") {
    out += fmt::format("read_from:{}\r\nreplicas_in_sync:{}\r\n", config_.read_from, healthy);
  }
  out += fmt::format("topology_seeds:{}\r\n", config_.seeds.size());
  if (topology_) out += topology_->DiscoveryInfo();
  const CommandTable& ct = CommandTable::Get();
  for (size_t i = 0; i < t.per_command.size(); ++i) {
    if (t.per_command[i] == 0) continue;
    std::string_view name = i < ct.size() ? ct.at(i).name : "unknown";
    out += fmt::format("proxy_cmd_{}:calls={}\r\n", name, t.per_command[i]);
  }
  out += "\r\n";
  return out;
}

std::string Proxy::MetricsText() const {
  Totals t = Sum(workers_);
  RoutingTablePtr table = latest_table();
  std::string out;
  auto line = [&out](std::string_view name, std::string_view type, uint64_t v) {
    out += fmt::format("# TYPE redis_proxy_{} {}\nredis_proxy_{} {}\n", name, type, name, v);
  };
  line("connected_clients", "gauge", t.clients);
  line("connections_received_total", "counter", t.clients_total);
  line("connections_rejected_total", "counter", t.rejected);
  line("commands_total", "counter", t.requests);
  line("error_replies_total", "counter", t.errors);
  line("proxy_errors_total", "counter", t.proxy_errors);
  line("redirects_moved_total", "counter", t.moved);
  line("redirects_ask_total", "counter", t.ask);
  line("retries_total", "counter", t.tryagain);
  line("protocol_errors_total", "counter", t.protocol_errors);
  line("slow_consumers_total", "counter", t.slow_consumers);
  line("slow_requests_total", "counter", t.slow_requests);
  line("topology_epoch", "gauge", table ? table->epoch : 0);
  out += "# TYPE redis_proxy_command_calls_total counter\n";
  const CommandTable& ct = CommandTable::Get();
  for (size_t i = 0; i < t.per_command.size(); ++i) {
    if (t.per_command[i] == 0) continue;
    std::string_view name = i < ct.size() ? ct.at(i).name : "unknown";
    out += fmt::format("redis_proxy_command_calls_total{{command=\"{}\"}} {}\n", name,
                       t.per_command[i]);
  }
  return out;
}

}  // namespace rs::proxy
