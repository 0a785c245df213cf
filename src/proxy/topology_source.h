// Where the routing table comes from: the controller's long-poll
// (GET /v1/topology?after=E&wait=S&generation=G) and/or CLUSTER SLOTS from reachable nodes (the
// nodes lainlet lists, the seeds and the nodes already known). With both, the controller wins and
// CLUSTER SLOTS is the fallback while the controller is unreachable; while it answers, a master
// whose connection fails still makes the proxy ask the other nodes who serves its slots now.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "proxy/proxy_config.h"
#include "proxy/routing_table.h"

namespace httplib {
class Client;
}

namespace rs::proxy {

class Proxy;
struct LainletFollower;

// What one FetchClusterSlots call learned of the nodes it asked.
struct AskOutcome {
  std::string answered;             // The node whose table was returned; empty when none was.
  std::vector<std::string> failed;  // Unreachable, refused, or no table; in the order asked.
};

// The replicas a master's INFO replication lists as online with an acknowledgement no older
// than `max_lag_seconds` ("host:port"; a replica without an ip takes the master's host).
std::set<std::string> HealthyReplicas(std::string_view master_host, std::string_view info,
                                      int max_lag_seconds);

// Asks the nodes of `addresses`, in order, for CLUSTER SLOTS until one answers with a table.
Result<RoutingTable> FetchClusterSlots(const std::vector<std::string>& addresses,
                                       const ProxyConfig& config, AskOutcome* outcome = nullptr);

// The order to ask `candidates` in: each address once, the one that answered last first, those
// in `failing` last (a dead host costs a whole connect timeout every time it is asked first), the
// rest in the given order.
std::vector<std::string> AskingOrder(const std::vector<std::string>& candidates,
                                     const std::string& answered_last,
                                     const std::set<std::string>& failing);

// What a table from the controller is to a proxy that took (generation, epoch) last.
enum class TopologyChange {
  kNewer,       // the same history, a higher epoch: take it
  kNewHistory,  // another generation (the controller lost its data, or the first table): take it
  kStale,       // the same history, an epoch not above the one taken: nothing new
};
TopologyChange ClassifyTopology(std::string_view taken_generation, uint64_t taken_epoch,
                                const RoutingTable& table);

// `current` with the slots of `suspects` (masters whose connections failed) routed to the owner
// `observed` (a CLUSTER SLOTS table) names for them, where it names another master: what a
// failover the controller has not committed yet looks like. nullptr when no slot changes owner;
// `moved` (optional) counts the slots that do.
RoutingTablePtr WithFailedOverSlots(const RoutingTable& current, const RoutingTable& observed,
                                    const std::set<std::string>& suspects, int* moved = nullptr);

// Thread contract: Start/Stop from the owner's thread; the others from any thread. Runs one
// thread per source (the lainlet watch on its own libuv loop) and publishes through
// Proxy::PublishTable.
class TopologySource {
 public:
  TopologySource(Proxy* proxy, const ProxyConfig& config);
  ~TopologySource();

  void Start();
  void Stop();
  // Coalesced: many requests before the next fetch make one fetch; at most one per 200 ms.
  void RequestRefresh();
  // A connection to `address` failed (refused, reset, timed out). When it is a master of the
  // current table it becomes a suspect: its slots' owner is asked of the other nodes (rate
  // limited, again every 500 ms while it stays one), even while following the controller.
  void ReportBackendFailure(const std::string& address);

  bool controller_reachable() const { return controller_ok_; }
  // The nodes lainlet listed last (an empty listing never replaces a non-empty one).
  std::vector<std::string> discovered_nodes() const;
  // INFO lines ("topology_discovery:...\r\n"...), empty without discovery.
  std::string DiscoveryInfo() const;

 private:
  void RunController();
  void RunSlots();
  // Following the controller: the slots of `suspects` that `observed` (CLUSTER SLOTS from
  // `answered`) gives to another master are routed there until the controller's next table.
  void FollowFailover(const RoutingTable& observed, const std::string& answered,
                      const std::set<std::string>& suspects);
  // --read-from other than master: which replicas are in sync, from each master's INFO
  // replication, every second.
  void RunReplicaHealth();
  void RunDiscovery();
  void OnDiscovered(std::vector<std::string> nodes);

  Proxy* proxy_;
  const ProxyConfig& config_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;     // guarded by mu_
  bool refresh_ = false;  // guarded by mu_
  std::vector<std::string> discovered_;  // guarded by mu_; sorted
  uint64_t discovery_snapshots_ = 0;     // guarded by mu_
  // Masters whose connection failed, with when it last did; guarded by mu_. Dropped when they
  // answer CLUSTER SLOTS, lose their slots to a failover, or after kSuspectFor.
  std::map<std::string, std::chrono::steady_clock::time_point> suspects_;
  // The controller answers (a table or 304): CLUSTER SLOTS is asked only about suspects.
  std::atomic<bool> controller_ok_{false};
  std::unique_ptr<httplib::Client> http_;
  std::thread controller_thread_;
  std::thread slots_thread_;
  std::thread health_thread_;
  std::unique_ptr<LainletFollower> lainlet_;
  std::thread discovery_thread_;
};

}  // namespace rs::proxy
