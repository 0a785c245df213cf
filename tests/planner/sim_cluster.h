// SimCluster: an in-memory Redis Cluster for planner tests. It reports itself to a ClusterState
// the way discovery and the prober would (membership, health, observations, as folded events),
// and carries out plan steps the way the executor would, refusing what Redis would refuse and
// what the planner must never ask (FORCE on a live master, forgetting a node with slots, ...).
// Thread contract: single-threaded test object.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/cluster_state.h"

namespace rs::planner::sim {

struct SimNode {
  std::string address;
  std::string host;
  std::string id;
  bool wanted = true;
  bool alive = true;
  bool partitioned = false;  // Alive, but the controller's probes time out.
  bool host_down = false;    // Dead with its host: probes time out instead of being refused.
  bool in_cluster = false;
  bool master = true;
  std::string master_address;
  std::vector<model::SlotRange> slots;
  std::vector<model::OpenSlot> open_slots;
  uint64_t config_epoch = 0;
  int64_t down_since_ms = 0;
};

class SimCluster {
 public:
  static constexpr int64_t kNodeTimeoutMs = 1000;  // Peers flag a dead node fail after this.

  explicit SimCluster(uint64_t seed = 1);

  // The world.
  std::string AddNode(const std::string& host, bool wanted = true);  // A fresh redis-server.
  void SetWanted(const std::string& address, bool wanted);
  void Crash(const std::string& address, bool host_down = false);
  void Restart(const std::string& address);
  void Partition(const std::string& address, bool partitioned);
  void Advance(int64_t ms) { now_ms_ += ms; }
  // Gossip lag: in each Sync() round a node learns the current state of each other node of the
  // cluster with this probability (1: every node knows everything at once, the default). A node
  // always knows itself; MEET makes its two nodes know each other at once, and FORGET reaches
  // every node at once (the executor tells them all); the rest spreads round by round.
  void SetGossip(double learn_probability) { gossip_ = learn_probability; }
  // Forms a cluster directly (as if an earlier controller had): masters split the slots evenly,
  // replicas[i] replicates masters[i % masters.size()].
  void Form(const std::vector<std::string>& masters, const std::vector<std::string>& replicas);

  // The controller's side.
  void Sync();  // Emits membership, health and observation events for what changed.
  void Emit(model::EventPayload payload);
  void Request(model::OperatorRequest request) { Emit(model::OperatorRequested{request}); }
  void LoseControllerDisk();  // A fresh ClusterState; Sync() re-reports the world.
  const model::ClusterState& state() const { return state_; }
  model::ClusterState& mutable_state() { return state_; }

  // The executor: proposes the plan and carries out every step, then commits its topology.
  Status Execute(const model::Plan& plan, uint64_t request_id = 0);
  // Proposes the plan and starts (but does not finish) step `step`: a plan in flight.
  void ProposeAndStart(const model::Plan& plan, uint32_t step, uint64_t request_id = 0);

  // Invariants.
  Status CheckSlotOwners() const;  // Every slot exactly one owner, once any slot is assigned.
  // The committed topology gives every slot some master serves to that master.
  Status CheckCommittedCoversServed() const;
  model::Topology TruthTopology() const;  // Alive replicas only, masters with slots or alive.

  std::map<std::string, SimNode>& nodes() { return nodes_; }
  const std::map<std::string, SimNode>& nodes() const { return nodes_; }
  SimNode& node(const std::string& address) { return nodes_.at(address); }
  int64_t now_ms() const { return now_ms_; }

 private:
  Status Apply(const model::Step& step);
  model::NodeObservation Observe(const SimNode& n) const;
  model::PeerView PeerTruth(const SimNode& p) const;  // How an up-to-date peer sees node p.
  void Gossip();
  void Learn(const SimNode& observer, const SimNode& p);
  model::NodeHealth HealthOf(const SimNode& n) const;
  uint64_t MaxEpoch() const;

  std::mt19937_64 rng_;
  std::map<std::string, SimNode> nodes_;
  std::map<std::string, int> next_port_;  // Per host.
  model::ClusterState state_;
  model::Seq seq_ = 0;
  int64_t now_ms_ = 1'000'000;
  double gossip_ = 1.0;
  // Observer address -> what it knows of each other node, by address (gossip_ < 1 only).
  std::map<std::string, std::map<std::string, model::PeerView>> known_;
};

}  // namespace rs::planner::sim
