// ClusterView: ClusterState digested for planning: every known node with its health and role,
// which nodes form the managed cluster, who owns each slot. Built once per Make() call.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/cluster_state.h"
#include "planner/layout.h"

namespace rs::planner {

struct NodeInfo {
  std::string address;
  std::string host;
  std::string id;  // Empty until observed.
  bool wanted = false;  // Listed by discovery and not retired by an operator.
  model::NodeHealth health;
  const model::NodeObservation* obs = nullptr;  // Points into the ClusterState.
  bool fresh = false;  // Observed, knows no other node, holds no slots: free to bootstrap or join.
  int component = -1;  // Index of the cluster it belongs to; -1 when fresh or unobserved.

  bool up() const { return obs != nullptr && health.health == model::Health::kUp; }
  bool down() const { return health.health == model::Health::kDown; }
};

struct ClusterView {
  std::map<std::string, NodeInfo> nodes;          // Members, probed and observed nodes, by address.
  std::map<std::string, std::string> address_of;  // Node id -> address.
  int components = 0;                             // Distinct clusters seen among observed nodes.
  int managed = -1;        // The component we manage, -1 when there is none (or it is ambiguous).
  bool ambiguous = false;  // Several clusters hold slots and none is ours by the topology.
  Layout layout;           // The managed cluster, slot owners resolved by config epoch.
  std::vector<std::string> foreign;  // Wanted members that belong to another cluster, sorted.

  const NodeInfo* Find(const std::string& address) const {
    auto it = nodes.find(address);
    return it == nodes.end() ? nullptr : &it->second;
  }
  bool InCluster(const std::string& address) const { return layout.nodes.contains(address); }
  model::NodeRef Ref(const std::string& address) const;
};

ClusterView BuildView(const model::ClusterState& state);

// Empty when every node of the managed cluster that is up reports the same layout in its CLUSTER
// NODES: the same nodes that are up (handshakes aside), each with the same role, master and
// slots, and the same slots for nodes that are not up. Otherwise which two nodes differ and about
// what. Flags that are one node's opinion (pfail, links) and config epochs do not count.
std::string Disagreement(const ClusterView& view);

// "host" of "host:port" (the anti-affinity key for nodes discovery does not describe).
std::string HostOf(const std::string& address);

}  // namespace rs::planner
