#include "executor/steps.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "executor/crash_point.h"
#include "executor/diagnosis.h"
#include "executor/slot_list.h"
#include "health/cluster_nodes_parser.h"

namespace rs::executor {

using model::NodeRef;
using model::SlotRange;
using model::Step;
using model::StepKind;

namespace {

Result<health::ClusterNodes> ClusterNodes(AdminPool* pool, const std::string& address) {
  RS_ASSIGN_OR_RETURN(Reply r, ExpectOk(pool->Command(address, {"CLUSTER", "NODES"}),
                                        fmt::format("CLUSTER NODES on {}", address)));
  return health::ParseClusterNodes(r.str);
}

// Slot -> owner id, as a node sees it: each distinct id once and a small index per slot (a string
// per slot made every view about 1.5 MB; the commit reads one from each of 60 nodes per round).
class SlotOwnerMap {
 public:
  SlotOwnerMap() : owner_(model::kSlotCount, -1) {}
  // The owner's id, empty when the slot has none.
  const std::string& operator[](int slot) const {
    static const std::string kNone;
    int16_t i = owner_[static_cast<size_t>(slot)];
    return i < 0 ? kNone : ids_[static_cast<size_t>(i)];
  }
  bool empty() const { return ids_.empty(); }
  void Set(long long first, long long last, const std::string& id) {
    auto it = std::find(ids_.begin(), ids_.end(), id);
    if (it == ids_.end()) it = ids_.insert(ids_.end(), id);
    const auto index = static_cast<int16_t>(it - ids_.begin());
    for (long long s = std::max(first, 0LL); s <= last && s < model::kSlotCount; ++s) {
      owner_[static_cast<size_t>(s)] = index;
    }
  }

 private:
  std::vector<std::string> ids_;
  std::vector<int16_t> owner_;
};

// As `address` sees it (CLUSTER SLOTS).
Result<SlotOwnerMap> SlotOwners(AdminPool* pool, const std::string& address) {
  RS_ASSIGN_OR_RETURN(Reply r, ExpectOk(pool->Command(address, {"CLUSTER", "SLOTS"}),
                                        fmt::format("CLUSTER SLOTS on {}", address)));
  SlotOwnerMap owners;
  for (const Reply& range : r.elements) {
    if (range.elements.size() < 3 || range.elements[2].elements.size() < 3) continue;
    owners.Set(range.elements[0].integer, range.elements[1].integer,
               range.elements[2].elements[2].str);
  }
  return owners;
}

// ROLE: {"master"} or {"slave", master address}.
Result<std::pair<std::string, std::string>> Role(AdminPool* pool, const std::string& address) {
  RS_ASSIGN_OR_RETURN(Reply r, ExpectOk(pool->Command(address, {"ROLE"}),
                                        fmt::format("ROLE on {}", address)));
  if (r.elements.empty()) return Status::Internal(fmt::format("empty ROLE reply from {}", address));
  std::string role = r.elements[0].str;
  std::string master;
  if (role == "slave" && r.elements.size() >= 3) {
    master = fmt::format("{}:{}", r.elements[1].str, r.elements[2].integer);
  }
  return std::make_pair(role, master);
}

// True when `view` lists `node` by id, at its address, with the handshake done: a peer that has
// it at another address would send it traffic meant for it.
bool ListsAtItsAddress(const health::ClusterNodes& view, const NodeRef& node) {
  for (const model::PeerView& n : view.peers) {
    if (n.id == node.id && !n.handshake && n.address == node.address) return true;
  }
  return false;
}

}  // namespace

Result<std::vector<NodeRef>> KnownMasters(AdminPool* pool, const std::string& address) {
  RS_ASSIGN_OR_RETURN(auto nodes, ClusterNodes(pool, address));
  std::vector<NodeRef> out = {{address, nodes.myself.id}};
  for (const model::PeerView& n : nodes.peers) {
    if (n.role == model::Role::kMaster && !n.fail && !n.handshake && !n.address.empty()) {
      out.push_back({n.address, n.id});
    }
  }
  return out;
}

Status StepRunner::WaitFor(int timeout_ms, const std::function<Status()>& check) {
  return WaitFor(timeout_ms, /*interval_ms=*/20, check);
}

Status StepRunner::WaitFor(int timeout_ms, int interval_ms, const std::function<Status()>& check) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  Status last = check();
  while (!last.ok() && std::chrono::steady_clock::now() < deadline) {
    // A stop does not wait out a convergence (up to converge_timeout_ms): the step is resumed
    // on the next start, as after a crash.
    if (stop_ != nullptr && stop_->load()) return Status::Aborted("controller is stopping");
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    last = check();
  }
  return last;
}

Status StepRunner::Run(const Step& step, const std::vector<SlotRange>& done, StepHooks* hooks) {
  switch (step.kind) {
    case StepKind::kMeet: return Meet(step);
    case StepKind::kAssignSlots: return AssignSlots(step);
    case StepKind::kSetConfigEpoch: return SetConfigEpoch(step);
    case StepKind::kReplicate: return Replicate(step);
    case StepKind::kMigrate: return Migrate(step, done, hooks);
    case StepKind::kFailover: return Failover(step);
    case StepKind::kForget: return Forget(step);
    case StepKind::kReset: return Reset(step);
    case StepKind::kFixOpenSlot: return FixOpenSlots(step, hooks);
    case StepKind::kCommitTopology: return VerifyTopology(step);
    case StepKind::kUnknown:
      return Status::FailedPrecondition(
          "a step of a kind this redis-ctl does not know (the log was written by a newer one): "
          "upgrade redis-ctl, or abort the plan");
  }
  return Status::InvalidArgument("unknown step kind");
}

Status StepRunner::WaitUntilAcquainted(const NodeRef& a, const NodeRef& b) {
  // Why x does not know y, kept while waiting: a peer drops a failed handshake after the node
  // timeout, and with it the evidence of what went wrong.
  std::string why_ab, why_ba;
  std::optional<SourceConfig> config_a, config_b;
  auto knows = [&](const NodeRef& x, const NodeRef& y, std::string* why,
                   std::optional<SourceConfig>* y_config) -> Status {
    RS_ASSIGN_OR_RETURN(auto nodes, ClusterNodes(pool_, x.address));
    if (ListsAtItsAddress(nodes, y)) {
      why->clear();
      return Status::Ok();
    }
    if (!y_config->has_value()) *y_config = ReadSourceConfig(pool_, y.address);
    std::string now = ExplainUnknownPeer(x.address, nodes, y, **y_config);
    if (!now.empty()) *why = now;
    if (!why->empty()) return Status::Unavailable(*why);
    return Status::Unavailable(fmt::format("{} does not know {} yet{}", x.address, y.address,
                                           SourceHint(y, **y_config)));
  };
  return WaitFor(options_.converge_timeout_ms, [&]() -> Status {
    RS_RETURN_IF_ERROR(knows(a, b, &why_ab, &config_b));
    return knows(b, a, &why_ba, &config_a);
  });
}

Status StepRunner::Meet(const Step& step) {
  auto nodes = ClusterNodes(pool_, step.target.address);
  bool known = false;
  if (nodes.ok()) {
    for (const model::PeerView& n : nodes->peers) known |= n.id == step.peer.id;
  }
  if (!known) {
    CRASH_POINT("meet.before");
    RS_RETURN_IF_ERROR(ExpectOk(pool_->Command(step.target.address,
                                               {"CLUSTER", "MEET", HostOf(step.peer.address),
                                                PortOf(step.peer.address)}),
                                fmt::format("CLUSTER MEET on {}", step.target.address))
                           .status());
    CRASH_POINT("meet.after");
    // Meeting every master at once (not just one, leaving the rest to gossip) lets the new node
    // learn every slot's owner in one round, so it can import slots a moment later.
    auto masters = KnownMasters(pool_, step.peer.address);
    if (masters.ok()) {
      for (const NodeRef& m : *masters) {
        if (m.address == step.peer.address || m.address == step.target.address) continue;
        (void)pool_->Command(step.target.address,
                             {"CLUSTER", "MEET", HostOf(m.address), PortOf(m.address)});
      }
    }
  } else if (auto peer_view = ClusterNodes(pool_, step.peer.address);
             peer_view.ok() && !ListsAtItsAddress(*peer_view, step.target)) {
    // The target knows the peer, the peer not the target: the handshake the MEET started failed
    // and the peer dropped it. Meet again, so a retry tries it again and the peer's view shows
    // why it fails (a handshake from another address, for one).
    (void)pool_->Command(step.target.address,
                         {"CLUSTER", "MEET", HostOf(step.peer.address), PortOf(step.peer.address)});
  }
  // Done when the handshake finished both ways (later steps name each other by id).
  return WaitUntilAcquainted(step.target, step.peer);
}

Status StepRunner::AssignSlots(const Step& step) {
  RS_ASSIGN_OR_RETURN(auto owners, SlotOwners(pool_, step.target.address));
  std::vector<uint16_t> missing;
  for (uint16_t s : ExpandSlots(step.slots)) {
    if (owners[s] == step.target.id) continue;
    if (!owners[s].empty()) {
      return Status::FailedPrecondition(fmt::format(
          "slot {} is already owned by {} in the view of {}", s, owners[s], step.target.address));
    }
    missing.push_back(s);
  }
  if (missing.empty()) return Status::Ok();
  std::vector<std::string> cmd = {"CLUSTER", "ADDSLOTSRANGE"};
  for (const SlotRange& r : CompressSlots(missing)) {
    cmd.push_back(std::to_string(r.first));
    cmd.push_back(std::to_string(r.last));
  }
  CRASH_POINT("assign.before");
  return ExpectOk(pool_->Command(step.target.address, cmd),
                  fmt::format("CLUSTER ADDSLOTSRANGE on {}", step.target.address))
      .status();
}

Status StepRunner::SetConfigEpoch(const Step& step) {
  RS_ASSIGN_OR_RETURN(Reply info, ExpectOk(pool_->Command(step.target.address, {"CLUSTER", "INFO"}),
                                           "CLUSTER INFO"));
  if (info.str.find(fmt::format("cluster_my_epoch:{}\r", step.config_epoch)) != std::string::npos) {
    return Status::Ok();
  }
  CRASH_POINT("set_config_epoch.before");
  auto r = pool_->Command(step.target.address,
                          {"CLUSTER", "SET-CONFIG-EPOCH", std::to_string(step.config_epoch)});
  if (r.ok() && r->is_error()) {
    // A node that already met others refuses; its epoch is then Redis's business, not a failure
    // that can lose data. Bootstrap sets epochs before meeting, so this only happens on resume.
    spdlog::warn("SET-CONFIG-EPOCH {} on {}: {} (continuing)", step.config_epoch,
                 step.target.address, r->str);
    return Status::Ok();
  }
  return r.status();
}

Status StepRunner::Replicate(const Step& step) {
  auto is_replica = [&]() -> Status {
    RS_ASSIGN_OR_RETURN(auto role, Role(pool_, step.target.address));
    if (role.first == "slave" && role.second == step.peer.address) return Status::Ok();
    return Status::Unavailable(fmt::format("{} is not a replica of {} yet", step.target.address,
                                           step.peer.address));
  };
  // Done when the first sync completed: until then the replica protects nothing, and the
  // planner never promotes a replica that has not synced.
  auto synced = [&]() -> Status {
    RS_ASSIGN_OR_RETURN(Reply info, ExpectOk(pool_->Command(step.target.address,
                                                            {"INFO", "replication"}),
                                             "INFO replication"));
    if (info.str.find("master_link_status:up") != std::string::npos) return Status::Ok();
    return Status::Unavailable(fmt::format("{} has not completed its first sync from {}",
                                           step.target.address, step.peer.address));
  };
  // Once, when the wait is over: it tries a connection to the master.
  auto wait_synced = [&]() -> Status {
    Status s = WaitFor(options_.converge_timeout_ms, synced);
    if (s.code() != StatusCode::kUnavailable) return s;
    return Status::Unavailable(ExplainReplicaNotSynced(pool_, step.target, step.peer));
  };
  if (is_replica().ok()) return wait_synced();
  // The replica must know the master first. Gossip after its MEET with the first master takes a
  // moment, and at 30+ nodes up to several seconds: while it does not know the master, it meets
  // the master itself (again every 500 ms; a MEET of a known node only repeats a handshake).
  std::optional<std::chrono::steady_clock::time_point> met;
  RS_RETURN_IF_ERROR(WaitFor(options_.converge_timeout_ms, [&]() -> Status {
    auto r = pool_->Command(step.target.address, {"CLUSTER", "REPLICATE", step.peer.id});
    if (!r.ok()) return r.status();
    if (r->is_error()) {
      const auto now = std::chrono::steady_clock::now();
      if (r->ErrorStartsWith("ERR Unknown node") &&
          (!met || now - *met >= std::chrono::milliseconds(500))) {
        met = now;
        (void)pool_->Command(step.target.address, {"CLUSTER", "MEET", HostOf(step.peer.address),
                                                   PortOf(step.peer.address)});
      }
      return Status::Unavailable(
          fmt::format("CLUSTER REPLICATE {} on {}: {}", step.peer.id, step.target.address, r->str));
    }
    return Status::Ok();
  }));
  CRASH_POINT("replicate.after");
  RS_RETURN_IF_ERROR(WaitFor(options_.converge_timeout_ms, is_replica));
  return wait_synced();
}

Status StepRunner::Failover(const Step& step) {
  auto promoted = [&]() -> Status {
    RS_ASSIGN_OR_RETURN(auto role, Role(pool_, step.target.address));
    if (role.first == "master") return Status::Ok();
    return Status::Unavailable(fmt::format("{} is still a {}", step.target.address, role.first));
  };
  if (promoted().ok()) return Status::Ok();
  std::vector<std::string> cmd = {"CLUSTER", "FAILOVER"};
  if (step.mode == model::FailoverMode::kForce) cmd.push_back("FORCE");
  if (step.mode == model::FailoverMode::kTakeover) cmd.push_back("TAKEOVER");
  CRASH_POINT("failover.before");
  RS_RETURN_IF_ERROR(
      ExpectOk(pool_->Command(step.target.address, cmd),
               fmt::format("CLUSTER FAILOVER on {}", step.target.address)).status());
  CRASH_POINT("failover.after");
  // OK only schedules the failover: ROLE tells when it happened.
  return WaitFor(options_.failover_timeout_ms, promoted);
}

Status StepRunner::Forget(const Step& step) {
  // Every node must forget within Redis's 60 s ban window, so send them back to back.
  for (const NodeRef& n : step.nodes) {
    if (n.address == step.target.address) continue;
    auto r = pool_->Command(n.address, {"CLUSTER", "FORGET", step.target.id});
    if (!r.ok()) {
      return r.status().WithContext(fmt::format("CLUSTER FORGET {} on {}", step.target.id, n.address));
    }
    if (r->is_error() && !r->ErrorStartsWith("ERR Unknown node")) {
      return Status::Aborted(fmt::format("CLUSTER FORGET {} on {}: {}", step.target.address,
                                         n.address, r->str));
    }
    CRASH_POINT("forget.after_one");
  }
  return Status::Ok();
}

Status StepRunner::Reset(const Step& step) {
  RS_ASSIGN_OR_RETURN(auto nodes, ClusterNodes(pool_, step.target.address));
  if (nodes.peers.empty()) {
    bool has_slots = false;
    RS_ASSIGN_OR_RETURN(auto owners, SlotOwners(pool_, step.target.address));
    has_slots = !owners.empty();
    if (!has_slots) return Status::Ok();  // Already alone and empty: reset done.
  }
  RS_ASSIGN_OR_RETURN(Reply dbsize,
                      ExpectOk(pool_->Command(step.target.address, {"DBSIZE"}), "DBSIZE"));
  RS_ASSIGN_OR_RETURN(auto role, Role(pool_, step.target.address));
  if (role.first == "master" && dbsize.integer > 0) {
    return Status::FailedPrecondition(fmt::format(
        "refusing to reset {}: it is a master holding {} keys", step.target.address, dbsize.integer));
  }
  CRASH_POINT("reset.before");
  return ExpectOk(pool_->Command(step.target.address, {"CLUSTER", "RESET", "SOFT"}),
                  fmt::format("CLUSTER RESET on {}", step.target.address))
      .status();
}

Status StepRunner::VerifyOwnerFromPeers(const model::Topology& topology,
                                        const model::Shard& down) {
  for (const model::Shard& other : topology.shards) {
    if (other.master.address == down.master.address) continue;
    auto owners = SlotOwners(pool_, other.master.address);
    if (!owners.ok()) continue;
    std::vector<uint16_t> slots;
    for (int s = 0; s < kSlotCount; ++s) {
      if ((*owners)[s] == down.master.id) slots.push_back(static_cast<uint16_t>(s));
    }
    if (CompressSlots(slots) != down.slots) {
      return Status::FailedPrecondition(fmt::format(
          "{} (unreachable) owns {} in the view of {}, the plan says {}", down.master.address,
          model::RangesToString(CompressSlots(slots)), other.master.address,
          model::RangesToString(down.slots)));
    }
    return Status::Ok();
  }
  return Status::Unavailable(
      fmt::format("no master answers to confirm the slots of {}", down.master.address));
}

// The topology is committed, and every proxy following the controller routes by it, only once
// Redis serves it: every node that answers sees every slot where the topology puts it (not only
// each master its own: a node that has not heard of a master's slots yet answers CLUSTERDOWN),
// and, when every master answers, each master reports cluster_state:ok (a master can still be in
// its rejoin delay).
Status StepRunner::VerifyTopology(const Step& step) {
  // The plan's owner of every slot, and the views of the nodes that answer.
  std::vector<const NodeRef*> planned(model::kSlotCount, nullptr);
  for (const model::Shard& shard : step.topology.shards) {
    for (uint16_t slot : ExpandSlots(shard.slots)) planned[slot] = &shard.master;
  }
  // (owner, viewer) -> when the owner last met the viewer. A MEET can be lost: the owner may
  // have a handshake with that address in progress already, and then starts no other.
  std::map<std::pair<std::string, std::string>, std::chrono::steady_clock::time_point> announced;
  // Each round reads CLUSTER SLOTS from every node: at 60 nodes, every 20 ms cost redis-ctl
  // most of a core while gossip settled.
  return WaitFor(options_.converge_timeout_ms, /*interval_ms=*/100, [&]() -> Status {
    std::vector<std::pair<std::string, SlotOwnerMap>> views;
    std::set<std::string> down;  // Masters that do not answer: they announce nothing.
    for (const model::Shard& shard : step.topology.shards) {
      auto own_view = SlotOwners(pool_, shard.master.address);
      if (!own_view.ok() && (own_view.status().code() == StatusCode::kUnavailable ||
                             own_view.status().code() == StatusCode::kTimeout)) {
        // A master that is down keeps its slots in the topology (they must stay routed until
        // its replica takes over): check them in the view of the other masters instead.
        down.insert(shard.master.address);
        RS_RETURN_IF_ERROR(VerifyOwnerFromPeers(step.topology, shard));
        continue;
      }
      RS_ASSIGN_OR_RETURN(auto owners, std::move(own_view));
      views.emplace_back(shard.master.address, owners);
      std::vector<uint16_t> mine;
      for (int s = 0; s < model::kSlotCount; ++s) {
        if (owners[s] == shard.master.id) mine.push_back(static_cast<uint16_t>(s));
      }
      if (CompressSlots(mine) != shard.slots) {
        return Status::FailedPrecondition(
            fmt::format("{} owns {} in its own view, the plan says {}", shard.master.address,
                        model::RangesToString(CompressSlots(mine)),
                        model::RangesToString(shard.slots)));
      }
      RS_ASSIGN_OR_RETURN(auto nodes, ClusterNodes(pool_, shard.master.address));
      if (nodes.myself.id != shard.master.id) {
        return Status::FailedPrecondition(fmt::format("{} has node id {}, the plan says {}",
                                                      shard.master.address, nodes.myself.id,
                                                      shard.master.id));
      }
      if (!nodes.open_slots.empty()) {
        return Status::FailedPrecondition(
            fmt::format("{} still has open slots", shard.master.address));
      }
      for (const NodeRef& replica : shard.replicas) {
        auto role_or = Role(pool_, replica.address);
        if (!role_or.ok() && (role_or.status().code() == StatusCode::kUnavailable ||
                              role_or.status().code() == StatusCode::kTimeout)) {
          continue;  // A replica that is down cannot disagree; the prober reports it.
        }
        RS_ASSIGN_OR_RETURN(auto role, std::move(role_or));
        if (role.first != "slave" || role.second != shard.master.address) {
          return Status::FailedPrecondition(fmt::format("{} is not a replica of {}",
                                                        replica.address, shard.master.address));
        }
        if (auto view = SlotOwners(pool_, replica.address); view.ok()) {
          views.emplace_back(replica.address, std::move(*view));
        }
      }
    }
    // Every node that answers agrees on every planned slot's owner: until then a node that does
    // not know all the masters' slots says cluster_state:fail and answers CLUSTERDOWN.
    // A master tells a node its slots only in a ping, and at 60 nodes a node pings a given other
    // one about every cluster-node-timeout / 2 (7.5 s by default). A CLUSTER MEET from the owner
    // to a node that already knows it makes the owner send a MEET packet at once, from which the
    // node takes the owner's slots; the handshake it starts ends as soon as that node answers.
    Status disagreement;
    for (const auto& [viewer, owners] : views) {
      const NodeRef* last = nullptr;  // Slots come in ranges: one announce per owner and viewer.
      for (int slot = 0; slot < model::kSlotCount; ++slot) {
        const NodeRef* owner = planned[slot];
        if (owner == nullptr || owner == last || owners[slot] == owner->id) continue;
        last = owner;
        if (disagreement.ok()) {
          disagreement = Status::FailedPrecondition(
              fmt::format("slot {} is owned by {} in the view of {}, the plan says {}", slot,
                          owners[slot].empty() ? "no one" : owners[slot], viewer,
                          owner->address));
        }
        const auto now = std::chrono::steady_clock::now();
        auto [it, first] = announced.try_emplace({owner->address, viewer}, now);
        if (!down.contains(owner->address) &&
            (first || now - it->second >= std::chrono::milliseconds(500))) {
          it->second = now;
          (void)pool_->Command(owner->address,
                               {"CLUSTER", "MEET", HostOf(viewer), PortOf(viewer)});
        }
      }
    }
    RS_RETURN_IF_ERROR(disagreement);
    // With a master down its slots may be unserved until a failover: cluster_state is then
    // fail everywhere, and the topology must still be committed.
    if (!down.empty()) return Status::Ok();
    for (const model::Shard& shard : step.topology.shards) {
      RS_ASSIGN_OR_RETURN(Reply info, ExpectOk(pool_->Command(shard.master.address,
                                                              {"CLUSTER", "INFO"}),
                                               "CLUSTER INFO"));
      if (info.str.find("cluster_state:ok") == std::string::npos) {
        return Status::Unavailable(
            fmt::format("{} reports cluster_state:fail", shard.master.address));
      }
    }
    return Status::Ok();
  });
}

}  // namespace rs::executor
