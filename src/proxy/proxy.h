// redis-proxy as a whole: the workers, the topology source and the metrics endpoint.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "proxy/proxy_config.h"
#include "proxy/pubsub.h"
#include "proxy/routing_table.h"

namespace rs::proxy {

class Worker;
class TopologySource;
class MetricsServer;

// Thread contract: Start/Stop from the main thread; the other methods from any thread.
class Proxy {
 public:
  explicit Proxy(ProxyConfig config);
  ~Proxy();

  // Binds every worker's listening socket (port 0 picks one, shared by all workers), starts the
  // topology source and the metrics endpoint.
  Status Start();
  void Stop();

  const ProxyConfig& config() const { return config_; }
  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  // The metrics endpoint's port (for --metrics-listen with port 0), or 0 when off.
  int metrics_port() const;

  // Installs `table` in every worker (a new epoch, or a fresh CLUSTER SLOTS view).
  void PublishTable(RoutingTablePtr table);
  RoutingTablePtr latest_table() const;
  // A worker saw MOVED or a dead node: one coalesced, rate-limited refresh follows.
  void RequestRefresh();

  // The "# Proxy" section of INFO, summed over workers.
  std::string InfoSection() const;
  // Prometheus text exposition.
  std::string MetricsText() const;

  std::atomic<int> clients{0};
  // What the workers have subscribed, for PUBSUB NUMSUB / NUMPAT.
  PubSubRegistry pubsub;

 private:
  ProxyConfig config_;
  std::string host_;
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<TopologySource> topology_;
  std::unique_ptr<MetricsServer> metrics_;
  mutable std::mutex mu_;
  RoutingTablePtr latest_;  // guarded by mu_
  uint64_t started_ms_ = 0;
};

}  // namespace rs::proxy
