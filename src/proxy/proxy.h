// redis-proxy as a whole: the workers, the topology source and the metrics endpoint.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "proxy/address_registry.h"
#include "proxy/proxy_config.h"
#include "proxy/pubsub.h"
#include "proxy/routing_table.h"
#include "proxy/slot_move_log.h"

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

  // Installs `table` in every worker (a new epoch, or a fresh CLUSTER SLOTS view), with the
  // replicas' health (--read-from) marked on it.
  void PublishTable(RoutingTablePtr table);
  // The same, unless the latest table is no longer of `base`'s epoch and generation (a table
  // patched from `base` must not replace a newer one the controller sent meanwhile).
  bool PublishTableOver(const RoutingTable& base, RoutingTablePtr table);
  // The replicas now fit to serve reads ("host:port"); republishes the table when that changed.
  void SetHealthyReplicas(std::set<std::string> healthy);
  RoutingTablePtr latest_table() const;
  // A worker saw MOVED or a dead node: one coalesced, rate-limited refresh follows.
  void RequestRefresh();
  // A worker's connection to `address` failed (refused, reset, timed out): see
  // TopologySource::ReportBackendFailure.
  void ReportBackendFailure(const std::string& address);

  // SCAN cursors: the proxy-wide names of masters and log of slot moves (thread-safe).
  const AddressRegistry& scan_ids() const { return *scan_ids_; }
  SlotMoveLog& scan_log() { return *scan_log_; }

  // The "# Proxy" section of INFO, summed over workers.
  std::string InfoSection() const;
  // Prometheus text exposition.
  std::string MetricsText() const;

  std::atomic<int> clients{0};
  // Until when (the loops' monotonic ms) a CLIENT PAUSE sent through this proxy holds the
  // masters; 0 when none does (Worker::ForPause).
  std::atomic<uint64_t> paused_until_ms{0};
  // Clients with CLIENT TRACKING on (INFO's tracking_clients: a client, not its sessions).
  std::atomic<int> tracking_clients{0};
  // What the workers have subscribed, for PUBSUB NUMSUB / NUMPAT.
  PubSubRegistry pubsub;

 private:
  void PublishLocked(RoutingTablePtr table);  // mu_ held

  ProxyConfig config_;
  std::string host_;
  uint16_t port_ = 0;
  // Before the workers, which use them until they stop.
  std::unique_ptr<AddressRegistry> scan_ids_;
  std::unique_ptr<SlotMoveLog> scan_log_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<TopologySource> topology_;
  std::unique_ptr<MetricsServer> metrics_;
  mutable std::mutex mu_;
  RoutingTablePtr latest_;  // guarded by mu_
  std::optional<std::set<std::string>> healthy_replicas_;  // guarded by mu_; unset: not probed
  uint64_t started_ms_ = 0;
};

}  // namespace rs::proxy
