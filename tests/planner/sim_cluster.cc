#include "planner/sim_cluster.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "planner/layout.h"

namespace rs::planner::sim {

using model::Health;
using model::HealthReason;
using model::NormalizeRanges;
using model::SlotRange;
using model::Step;
using model::StepKind;

namespace {

bool Contains(const std::vector<SlotRange>& held, const std::vector<SlotRange>& wanted) {
  return SubtractRanges(NormalizeRanges(wanted), held).empty();
}

}  // namespace

SimCluster::SimCluster(uint64_t seed) : rng_(seed) {}

std::string SimCluster::AddNode(const std::string& host, bool wanted) {
  int& port = next_port_[host];
  if (port == 0) port = 7000;
  SimNode n;
  n.address = fmt::format("{}:{}", host, port++);
  n.host = host;
  n.id = fmt::format("{:016x}{:016x}{:08x}", rng_(), rng_(), static_cast<uint32_t>(rng_()));
  n.wanted = wanted;
  nodes_[n.address] = n;
  return n.address;
}

void SimCluster::SetWanted(const std::string& address, bool wanted) {
  nodes_.at(address).wanted = wanted;
}

void SimCluster::Crash(const std::string& address, bool host_down) {
  SimNode& n = nodes_.at(address);
  n.alive = false;
  n.host_down = host_down;
  n.down_since_ms = now_ms_;
}

void SimCluster::Restart(const std::string& address) {
  SimNode& n = nodes_.at(address);
  n.alive = true;
  n.partitioned = false;
  n.host_down = false;
  n.open_slots.clear();
}

void SimCluster::Partition(const std::string& address, bool partitioned) {
  SimNode& n = nodes_.at(address);
  n.partitioned = partitioned;
  if (partitioned) n.down_since_ms = now_ms_;
}

void SimCluster::Form(const std::vector<std::string>& masters,
                      const std::vector<std::string>& replicas) {
  uint64_t epoch = 1;
  for (size_t i = 0; i < masters.size(); ++i) {
    SimNode& m = nodes_.at(masters[i]);
    m.in_cluster = true;
    m.master = true;
    m.config_epoch = epoch++;
    uint32_t first = static_cast<uint32_t>(i * model::kSlotCount / masters.size());
    uint32_t last = static_cast<uint32_t>((i + 1) * model::kSlotCount / masters.size()) - 1;
    m.slots = {{static_cast<uint16_t>(first), static_cast<uint16_t>(last)}};
  }
  for (size_t i = 0; i < replicas.size(); ++i) {
    SimNode& r = nodes_.at(replicas[i]);
    r.in_cluster = true;
    r.master = false;
    r.master_address = masters[i % masters.size()];
    r.config_epoch = epoch++;
  }
  // Formed long ago: every node knows every other.
  for (const auto& [a, n] : nodes_) {
    for (const auto& [b, p] : nodes_) {
      if (a != b && n.in_cluster && p.in_cluster) Learn(n, p);
    }
  }
}

uint64_t SimCluster::MaxEpoch() const {
  uint64_t e = 0;
  for (const auto& [a, n] : nodes_) e = std::max(e, n.config_epoch);
  return e;
}

model::NodeHealth SimCluster::HealthOf(const SimNode& n) const {
  model::NodeHealth h;
  if (!n.alive && n.host_down) {
    h = {Health::kDown, HealthReason::kTimeout, "timeout", n.down_since_ms};
  } else if (!n.alive) {
    h = {Health::kDown, HealthReason::kRefused, "connect: Connection refused", n.down_since_ms};
  } else if (n.partitioned) {
    h = {Health::kDown, HealthReason::kTimeout, "timeout", n.down_since_ms};
  } else {
    h = {Health::kUp, HealthReason::kNone, "", 0};
  }
  return h;
}

model::PeerView SimCluster::PeerTruth(const SimNode& p) const {
  model::PeerView v;
  v.id = p.id;
  v.address = p.address;
  v.role = p.master ? model::Role::kMaster : model::Role::kReplica;
  if (!p.master) v.master_id = nodes_.at(p.master_address).id;
  v.fail = !p.alive && now_ms_ - p.down_since_ms >= kNodeTimeoutMs;
  v.connected = p.alive;
  v.config_epoch = p.config_epoch;
  v.slots = p.slots;
  return v;
}

void SimCluster::Learn(const SimNode& observer, const SimNode& p) {
  known_[observer.address][p.address] = PeerTruth(p);
}

void SimCluster::Gossip() {
  std::bernoulli_distribution learns(gossip_);
  for (const auto& [addr, n] : nodes_) {
    auto& mine = known_[addr];
    if (!n.in_cluster) {
      mine.clear();
      continue;
    }
    std::erase_if(mine, [&](const auto& kv) { return !nodes_.at(kv.first).in_cluster; });
    if (!n.alive) continue;  // A dead node learns nothing; it speaks from what it knew.
    for (const auto& [pa, p] : nodes_) {
      if (pa == addr || !p.in_cluster) continue;
      auto it = mine.find(pa);
      model::PeerView truth = PeerTruth(p);
      // A dead node tells no one of its new role (a failed-over master's demotion): its peers
      // learn only that it failed and, from the new owners, that its slots moved.
      if (!p.alive && it != mine.end()) {
        truth.role = it->second.role;
        truth.master_id = it->second.master_id;
      }
      if (it != mine.end() && it->second == truth) continue;
      if (learns(rng_)) mine[pa] = std::move(truth);
    }
  }
}

model::NodeObservation SimCluster::Observe(const SimNode& n) const {
  model::NodeObservation o;
  o.id = n.id;
  o.role = n.master ? model::Role::kMaster : model::Role::kReplica;
  if (!n.master) o.master_id = nodes_.at(n.master_address).id;
  o.slots = n.slots;
  o.open_slots = n.open_slots;
  o.config_epoch = n.config_epoch;
  // Redis's currentEpoch: the highest epoch the node has seen (gossip spreads it cluster-wide).
  o.current_epoch = n.in_cluster ? MaxEpoch() : n.config_epoch;
  o.repl_offset = 1000;
  o.master_link_up = !n.master && nodes_.at(n.master_address).alive;
  o.cluster_ok = true;
  if (!n.in_cluster) return o;
  if (gossip_ < 1.0) {
    auto it = known_.find(n.address);
    if (it != known_.end()) {
      for (const auto& [pa, v] : it->second) o.peers.push_back(v);
    }
  } else {
    for (const auto& [addr, p] : nodes_) {
      if (addr != n.address && p.in_cluster) o.peers.push_back(PeerTruth(p));
    }
  }
  std::sort(o.peers.begin(), o.peers.end(),
            [](const model::PeerView& a, const model::PeerView& b) { return a.id < b.id; });
  return o;
}

void SimCluster::Emit(model::EventPayload payload) {
  model::Event e;
  e.seq = ++seq_;
  e.time_ms = now_ms_;
  e.source = "sim";
  e.payload = std::move(payload);
  state_ = model::Apply(std::move(state_), e);
}

void SimCluster::Sync() {
  if (gossip_ < 1.0) Gossip();
  model::MembershipChanged m;
  for (const auto& [addr, n] : nodes_) {
    if (n.wanted) m.members.push_back({static_cast<uint32_t>(m.members.size() + 1), addr, n.host});
  }
  bool changed = m.members.size() != state_.members.size();
  for (size_t i = 0; !changed && i < m.members.size(); ++i) {
    changed = state_.members.at(m.members[i].address) != m.members[i];
  }
  // The membership event comes last, as discovery's debounce would make it; the rest first.
  for (const auto& [addr, n] : nodes_) {
    model::NodeHealth h = HealthOf(n);
    auto it = state_.health.find(addr);
    if (it == state_.health.end() || it->second != h) Emit(model::NodeHealthChanged{addr, h});
    if (!n.alive || n.partitioned) continue;
    model::NodeObservation o = Observe(n);
    auto ot = state_.observed.find(addr);
    if (ot == state_.observed.end() || ot->second != o) Emit(model::NodeObserved{addr, o});
  }
  if (changed) {
    m.source = "sim";
    Emit(std::move(m));
  }
  // Time moves on with every round, as the prober's events would carry it.
  Emit(model::ControllerStarted{"sim-tick", ""});
}

void SimCluster::LoseControllerDisk() {
  state_ = model::ClusterState{};
  seq_ = 0;
}

void SimCluster::ProposeAndStart(const model::Plan& plan, uint32_t step, uint64_t request_id) {
  Emit(model::PlanProposed{plan, request_id});
  Emit(model::StepStarted{plan.id, step});
}

Status SimCluster::Execute(const model::Plan& plan, uint64_t request_id) {
  Emit(model::PlanProposed{plan, request_id});
  for (uint32_t i = 0; i < plan.steps.size(); ++i) {
    Emit(model::StepStarted{plan.id, i});
    Status s = Apply(plan.steps[i]);
    if (!s.ok()) {
      Emit(model::StepFailed{plan.id, i, s.message()});
      Emit(model::PlanFinished{plan.id, model::PlanOutcome::kFailed, s.message()});
      return s.WithContext(fmt::format("plan {} step {} ({})", plan.id, i + 1,
                                       model::StepToString(plan.steps[i])));
    }
    Emit(model::StepCompleted{plan.id, i});
  }
  Emit(model::PlanFinished{plan.id, model::PlanOutcome::kCompleted, ""});
  return Status::Ok();
}

Status SimCluster::Apply(const Step& step) {
  auto find = [&](const model::NodeRef& ref) -> SimNode* {
    auto it = nodes_.find(ref.address);
    if (it == nodes_.end() || it->second.id != ref.id) return nullptr;
    return &it->second;
  };
  SimNode* t = find(step.target);
  if (step.kind != StepKind::kCommitTopology && t == nullptr) {
    return Status::InvalidArgument(fmt::format("unknown target {}", step.target.address));
  }
  auto reachable = [](const SimNode* n) { return n != nullptr && n->alive && !n->partitioned; };
  switch (step.kind) {
    case StepKind::kSetConfigEpoch:
      if (!reachable(t) || t->in_cluster) return Status::FailedPrecondition("node knows others");
      t->config_epoch = step.config_epoch;
      return Status::Ok();
    case StepKind::kAssignSlots:
      if (!reachable(t) || !t->master) return Status::FailedPrecondition("not a live master");
      for (const auto& [a, n] : nodes_) {
        if (SubtractRanges(NormalizeRanges(step.slots), n.slots) != NormalizeRanges(step.slots)) {
          return Status::FailedPrecondition(fmt::format("slots already owned by {}", a));
        }
      }
      t->slots = NormalizeRanges([&] {
        auto s = t->slots;
        s.insert(s.end(), step.slots.begin(), step.slots.end());
        return s;
      }());
      return Status::Ok();
    case StepKind::kMeet: {
      SimNode* p = find(step.peer);
      if (!reachable(t) || !reachable(p)) return Status::Unavailable("meet needs both nodes up");
      t->in_cluster = p->in_cluster = true;
      // The executor's MEET completes when the two know each other; the rest learn by gossip.
      Learn(*t, *p);
      Learn(*p, *t);
      return Status::Ok();
    }
    case StepKind::kReplicate: {
      SimNode* p = find(step.peer);
      if (!reachable(t) || !reachable(p)) return Status::Unavailable("replicate needs both up");
      if (!t->in_cluster || !p->in_cluster || !p->master) {
        return Status::FailedPrecondition("peer is not a master of the cluster");
      }
      if (!t->slots.empty()) {
        return Status::FailedPrecondition("ERR To set a master the node must be empty");
      }
      t->master = false;
      t->master_address = p->address;
      return Status::Ok();
    }
    case StepKind::kMigrate: {
      SimNode* p = find(step.peer);
      if (!reachable(t) || !reachable(p)) return Status::Unavailable("migrate needs both up");
      if (!t->master || !p->master || !p->in_cluster)
        return Status::FailedPrecondition("not masters");
      if (!Contains(t->slots, step.slots)) {
        return Status::FailedPrecondition(
            fmt::format("source does not own {}", model::RangesToString(step.slots)));
      }
      for (SimNode* n : {t, p}) {
        std::erase_if(n->open_slots, [&](const model::OpenSlot& o) {
          return Contains(NormalizeRanges(step.slots), {{o.slot, o.slot}});
        });
      }
      t->slots = SubtractRanges(t->slots, NormalizeRanges(step.slots));
      auto s = p->slots;
      s.insert(s.end(), step.slots.begin(), step.slots.end());
      p->slots = NormalizeRanges(std::move(s));
      p->config_epoch = MaxEpoch() + 1;
      return Status::Ok();
    }
    case StepKind::kFailover: {
      SimNode* old = find(step.peer);
      if (!reachable(t) || old == nullptr) return Status::Unavailable("failover target not up");
      if (t->master || t->master_address != old->address) {
        return Status::FailedPrecondition("target is not a replica of peer");
      }
      if (step.mode != model::FailoverMode::kDefault && old->alive) {
        return Status::Internal(fmt::format("FORCE/TAKEOVER failover while master {} is alive{}",
                                            old->address,
                                            old->partitioned ? " (partitioned)" : ""));
      }
      if (step.mode == model::FailoverMode::kForce) {
        int masters = 0, voters = 0;
        for (const auto& [a, n] : nodes_) {
          if (!n.in_cluster || !n.master || n.slots.empty()) continue;
          ++masters;
          voters += n.alive ? 1 : 0;
        }
        if (voters < masters / 2 + 1) {
          return Status::Unavailable("FORCE failover without a majority of masters to vote");
        }
      }
      if (step.mode == model::FailoverMode::kDefault && !reachable(old)) {
        return Status::Unavailable("default failover needs the master");
      }
      for (auto& [a, n] : nodes_) {
        if (!n.master && n.master_address == old->address) n.master_address = t->address;
      }
      t->master = true;
      t->master_address.clear();
      t->slots = std::move(old->slots);
      old->slots.clear();
      t->config_epoch = MaxEpoch() + 1;
      // A returning (or handed-over) old master learns the higher epoch and follows.
      old->master = false;
      old->master_address = t->address;
      return Status::Ok();
    }
    case StepKind::kForget: {
      if (!t->slots.empty()) {
        return Status::Internal(fmt::format("forgetting {} which holds slots", t->address));
      }
      std::set<std::string> told;
      for (const model::NodeRef& r : step.nodes) told.insert(r.address);
      for (const auto& [a, n] : nodes_) {
        if (a != t->address && n.in_cluster && reachable(&n) && !told.contains(a)) {
          return Status::FailedPrecondition(fmt::format("forget misses live node {}", a));
        }
        if (n.in_cluster && !n.master && n.master_address == t->address && a != t->address &&
            reachable(&n)) {
          return Status::FailedPrecondition(fmt::format("{} still replicates {}", a, t->address));
        }
      }
      t->in_cluster = false;
      t->master = true;
      t->master_address.clear();
      // Others drop it as a master: its unreachable replicas are left masterless.
      for (auto& [a, n] : nodes_) {
        if (!n.master && n.master_address == t->address) {
          n.master = true;
          n.master_address.clear();
        }
      }
      return Status::Ok();
    }
    case StepKind::kReset:
      if (!reachable(t)) return Status::Unavailable("reset needs the node");
      if (!t->slots.empty()) return Status::Internal("reset of a master holding slots");
      t->in_cluster = false;
      t->master = true;
      t->master_address.clear();
      t->open_slots.clear();
      return Status::Ok();
    case StepKind::kFixOpenSlot: {
      // Never changes an owner: keys on the non-owner would go to the owner; the slot closes.
      std::erase_if(t->open_slots, [&](const model::OpenSlot& o) {
        return Contains(NormalizeRanges(step.slots), {{o.slot, o.slot}});
      });
      if (SimNode* p = find(step.peer)) {
        std::erase_if(p->open_slots, [&](const model::OpenSlot& o) {
          return Contains(NormalizeRanges(step.slots), {{o.slot, o.slot}});
        });
      }
      return Status::Ok();
    }
    case StepKind::kCommitTopology: {
      model::Topology truth = TruthTopology();
      truth.epoch = step.topology.epoch;
      if (truth != step.topology) {
        std::string want, got;
        for (const auto& sh : step.topology.shards) {
          want += fmt::format(" {}[{}]r{}", sh.master.address, model::RangesToString(sh.slots),
                              sh.replicas.size());
        }
        for (const auto& sh : truth.shards) {
          got += fmt::format(" {}[{}]r{}", sh.master.address, model::RangesToString(sh.slots),
                             sh.replicas.size());
        }
        return Status::FailedPrecondition(
            fmt::format("cluster does not match the plan's topology: want{} got{}", want, got));
      }
      Emit(model::TopologyCommitted{step.topology});
      return Status::Ok();
    }
    case StepKind::kUnknown:
      break;
  }
  return Status::Internal("unknown step");
}

model::Topology SimCluster::TruthTopology() const {
  model::Topology t;
  for (const auto& [addr, n] : nodes_) {
    if (!n.in_cluster || !n.master) continue;
    if ((!n.alive || n.partitioned) && n.slots.empty()) continue;
    model::Shard sh;
    sh.master = {addr, n.id};
    sh.slots = n.slots;
    for (const auto& [ra, r] : nodes_) {
      if (r.in_cluster && !r.master && r.master_address == addr && r.alive && !r.partitioned) {
        sh.replicas.push_back({ra, r.id});
      }
    }
    t.shards.push_back(std::move(sh));
  }
  return t;
}

Status SimCluster::CheckCommittedCoversServed() const {
  const model::Topology& t = state_.topology;
  if (t.epoch == 0) return Status::Ok();
  std::vector<const model::Shard*> owner(model::kSlotCount, nullptr);
  for (const model::Shard& sh : t.shards) {
    for (const SlotRange& r : sh.slots) {
      for (uint32_t s = r.first; s <= r.last; ++s) owner[s] = &sh;
    }
  }
  for (const auto& [addr, n] : nodes_) {
    if (!n.in_cluster || !n.master || !n.alive) continue;
    for (const SlotRange& r : n.slots) {
      for (uint32_t s = r.first; s <= r.last; ++s) {
        if (owner[s] == nullptr) {
          return Status::Internal(fmt::format(
              "epoch {} leaves slot {} uncovered, which {} serves", t.epoch, s, addr));
        }
        if (owner[s]->master.address != addr) {
          return Status::Internal(fmt::format("epoch {} gives slot {} to {}, which {} serves",
                                              t.epoch, s, owner[s]->master.address, addr));
        }
      }
    }
  }
  return Status::Ok();
}

Status SimCluster::CheckSlotOwners() const {
  std::vector<int> owners(model::kSlotCount, 0);
  bool any = false;
  for (const auto& [addr, n] : nodes_) {
    if (!n.in_cluster && !n.slots.empty()) {
      return Status::Internal(fmt::format("{} holds slots outside the cluster", addr));
    }
    for (const SlotRange& r : n.slots) {
      any = true;
      for (uint32_t s = r.first; s <= r.last; ++s) ++owners[s];
    }
  }
  if (!any) return Status::Ok();
  for (int s = 0; s < model::kSlotCount; ++s) {
    if (owners[s] != 1) {
      return Status::Internal(fmt::format("slot {} has {} owners", s, owners[s]));
    }
  }
  return Status::Ok();
}

}  // namespace rs::planner::sim
