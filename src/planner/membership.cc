// Scale in (drain, re-home, forget, reset), scale out and replica repair, anti-affinity.
#include <algorithm>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "planner/policies.h"

namespace rs::planner {

using model::StepKind;

namespace {

bool Up(const ClusterView& v, const std::string& address) {
  const NodeInfo* n = v.Find(address);
  return n != nullptr && n->up();
}

bool Wanted(const ClusterView& v, const std::string& address) {
  const NodeInfo* n = v.Find(address);
  return n != nullptr && n->wanted;
}

// Live (not down) replicas per master address, in one pass over the layout.
std::map<std::string, size_t> LiveReplicaCounts(const Layout& layout) {
  std::map<std::string, size_t> out;
  for (const auto& [addr, n] : layout.nodes) {
    if (!n.master && !n.down) ++out[n.master_address];
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace

std::optional<model::Plan> DrainPlan(const Context& ctx, const std::string& address,
                                        const std::string& reason, std::string* why) {
  const ClusterView& v = ctx.view;
  auto it = v.layout.nodes.find(address);
  if (it == v.layout.nodes.end()) {
    *why = fmt::format("{} is not in the cluster", address);
    return std::nullopt;
  }
  const LayoutNode& x = it->second;
  const bool up = Up(v, address);
  PlanBuilder b(ctx, reason, {ctx.state.membership_seq, ctx.state.last_seq});
  if (x.master && !x.slots.empty()) {
    if (!up) {
      *why = fmt::format("{} holds slots and is not up: it waits for a failover", address);
      return std::nullopt;
    }
    std::vector<MasterLoad> loads;
    for (const auto& [addr, n] : v.layout.nodes) {
      if (!n.master) continue;
      if (addr != address && !n.slots.empty() && !Up(v, addr)) {
        // Spreading over the masters that happen to be up would pile the slots onto them.
        *why = fmt::format("draining {} waits for master {} to be up", address, addr);
        return std::nullopt;
      }
      if (addr == address) {
        loads.push_back({addr, n.slots, 0.0});
      } else if (Up(v, addr) && Wanted(v, addr)) {
        loads.push_back({addr, n.slots, 1.0});
      }
    }
    if (loads.size() > 1) {
      for (const SlotMove& m : Rebalance(loads, ctx.policy.rebalance_threshold_pct)) b.Migrate(m);
    } else {
      // The last master with data: hand over to a replica (lossless FAILOVER), or keep it.
      std::optional<std::string> heir;
      for (const std::string& r : v.layout.ReplicasOf(address)) {
        if (Up(v, r) && Wanted(v, r)) {
          heir = r;
          break;
        }
      }
      if (!heir) {
        *why = fmt::format("{} is the last master with slots and has nowhere to put them", address);
        return std::nullopt;
      }
      model::Step s = MakeStep(StepKind::kFailover, v.Ref(*heir), v.Ref(address));
      s.mode = model::FailoverMode::kDefault;
      b.Add(std::move(s));
    }
  }
  if (b.layout().nodes.at(address).master) {
    // Re-home the replicas: to the masters with fewest live replicas, on another host if possible.
    std::map<std::string, size_t> live = LiveReplicaCounts(b.layout());
    for (const std::string& r : b.layout().ReplicasOf(address)) {
      if (!Up(v, r)) continue;
      const std::string* best = nullptr;
      std::tuple<size_t, bool> best_key{};
      for (const auto& [addr, n] : b.layout().nodes) {
        if (!n.master || addr == address || !Up(v, addr) || !Wanted(v, addr)) continue;
        std::tuple<size_t, bool> key{live[addr], n.host == b.layout().nodes.at(r).host};
        if (best == nullptr || key < best_key) {
          best = &addr;
          best_key = key;
        }
      }
      if (best) {
        ++live[*best];
        b.Replicate(r, *best);
      }
    }
  }
  b.Forget(address);
  if (up) b.Reset(address);
  return b.Finish();
}

std::optional<Decision> ScaleIn(const Context& ctx) {
  for (const auto& [addr, n] : ctx.view.layout.nodes) {
    if (Wanted(ctx.view, addr)) continue;
    std::string why;
    auto plan = DrainPlan(ctx, addr, fmt::format("scale in: {} is no longer wanted", addr), &why);
    if (plan) return Decision::Propose(std::move(*plan));
  }
  return std::nullopt;
}

std::optional<Decision> ScaleOutAndRepair(const Context& ctx, const std::string* only) {
  const ClusterView& v = ctx.view;
  const Policy& p = ctx.policy;
  std::vector<std::string> spares;
  for (const auto& [addr, n] : v.nodes) {
    if (n.wanted && n.fresh && n.up() && (only == nullptr || *only == addr)) spares.push_back(addr);
  }
  std::string anchor;
  for (const auto& [addr, n] : v.layout.nodes) {
    if (n.master && !n.slots.empty() && Up(v, addr)) {
      anchor = addr;
      break;
    }
  }
  if (anchor.empty()) return std::nullopt;

  PlanBuilder b(ctx, "", {ctx.state.membership_seq, ctx.state.last_seq});
  std::vector<std::string> reasons;

  // A returning old master that Redis left empty becomes a replica of whoever owns its slots.
  if (only == nullptr) {
    for (const model::Shard& sh : ctx.state.topology.shards) {
      auto it = v.layout.nodes.find(sh.master.address);
      if (sh.slots.empty() || it == v.layout.nodes.end()) continue;
      const LayoutNode& ln = it->second;
      if (!ln.master || !ln.slots.empty() || !Up(v, sh.master.address)) continue;
      if (!v.layout.ReplicasOf(sh.master.address).empty()) continue;
      for (const auto& [addr, n] : v.layout.nodes) {
        if (n.master &&
            std::any_of(n.slots.begin(), n.slots.end(), [&](const model::SlotRange& r) {
              return r.first <= sh.slots.front().first && sh.slots.front().first <= r.last;
            })) {
          b.Replicate(sh.master.address, addr);
          reasons.push_back(fmt::format("{} returns as a replica of {}", sh.master.address, addr));
          break;
        }
      }
    }
  }

  // Masters lacking replicas get spares: first only from other hosts, then from any.
  // Masters holding slots first, then the empty ones; each group in address order.
  std::vector<std::string> needy, empty;
  for (const auto& [addr, n] : b.layout().nodes) {
    if (n.master && !n.down && Up(v, addr) && Wanted(v, addr)) {
      (n.slots.empty() ? empty : needy).push_back(addr);
    }
  }
  needy.insert(needy.end(), empty.begin(), empty.end());
  const size_t want = static_cast<size_t>(std::max(0, p.replicas));
  std::map<std::string, size_t> live = LiveReplicaCounts(b.layout());
  for (bool same_host : {false, true}) {
    for (const std::string& m : needy) {
      while (!spares.empty() && live[m] < want) {
        auto pick = PickReplica(v, b.layout(), m, spares, same_host);
        if (!pick) break;
        b.Meet(*pick, anchor);
        b.Replicate(*pick, m);
        ++live[m];
        reasons.push_back(fmt::format("{} joins as a replica of {}", *pick, m));
        std::erase(spares, *pick);
      }
    }
  }

  // Still lacking: a surplus replica of another master moves over (Redis's own replica
  // migration does the same when cluster-migration-barrier allows it).
  for (bool same_host : {false, true}) {
    for (const std::string& m : needy) {
      if (live[m] >= want) continue;
      std::vector<std::string> surplus;
      for (const auto& [addr, n] : b.layout().nodes) {
        if (!n.master && !n.down && Up(v, addr) && Wanted(v, addr) && n.master_address != m &&
            live[n.master_address] > want) {
          surplus.push_back(addr);
        }
      }
      auto pick = PickReplica(v, b.layout(), m, surplus, same_host);
      if (!pick) continue;
      --live[b.layout().nodes.at(*pick).master_address];
      b.Replicate(*pick, m);
      ++live[m];
      reasons.push_back(fmt::format("surplus replica {} moves to {}", *pick, m));
    }
  }

  // The rest become masters, each paired with a replica when one more is there.
  bool new_masters = false;
  while (!spares.empty()) {
    auto master = PickReplica(v, b.layout(), "", spares, true);
    b.Meet(*master, anchor);
    std::erase(spares, *master);
    new_masters = true;
    std::string why = fmt::format("{} joins as a master", *master);
    for (size_t i = 0; i < want && !spares.empty(); ++i) {
      auto replica = PickReplica(v, b.layout(), *master, spares, true);
      b.Meet(*replica, anchor);
      b.Replicate(*replica, *master);
      std::erase(spares, *replica);
      why += fmt::format(" with replica {}", *replica);
    }
    reasons.push_back(std::move(why));
  }

  // Masters are kept balanced by a minimal-movement rebalance (nothing moves within the
  // threshold), once every master holding slots can take part (a rebalance around a down master
  // would be undone later). New and emptied masters get their slots this way, and so does a
  // master left half-filled by a plan that failed part-way; an operator's layout is left alone.
  std::vector<MasterLoad> loads;
  bool empty_master = false;
  std::string blocked;
  for (const auto& [addr, n] : b.layout().nodes) {
    if (!n.master) continue;
    if (n.down || !Up(v, addr) || !Wanted(v, addr)) {
      if (!n.slots.empty() && blocked.empty()) blocked = addr;
      continue;
    }
    loads.push_back({addr, n.slots, 1.0});
    empty_master = empty_master || n.slots.empty();
  }
  // A layout an operator chose (a completed operator plan since members were last added or
  // removed: membership_seq ignores events that change no address) stands: automation
  // rebalances again only when members change or a master is new or empty.
  bool operator_layout = false;
  for (auto it = ctx.state.plan_history.rbegin(); it != ctx.state.plan_history.rend(); ++it) {
    if (it->proposed_seq < ctx.state.membership_seq) break;
    if (it->outcome == model::PlanOutcome::kCompleted &&
        it->origin == model::PlanOrigin::kOperator) {
      operator_layout = true;
      break;
    }
  }
  if (!blocked.empty()) {
    if ((new_masters || empty_master) && !b.empty()) {
      reasons.push_back(fmt::format("rebalance waits for {}", blocked));
    }
  } else if (new_masters || empty_master || !operator_layout) {
    std::vector<SlotMove> moves = Rebalance(loads, p.rebalance_threshold_pct);
    uint32_t moved = 0;
    for (const SlotMove& m : moves) {
      b.Migrate(m);
      moved += model::CountSlots(m.slots);
    }
    if (moved > 0) reasons.push_back(fmt::format("rebalance moves {} slots", moved));
  }
  if (b.empty()) return std::nullopt;
  model::Plan plan = b.Finish();
  plan.reason = (new_masters ? "scale out: " : "repair: ") + Join(reasons);
  return Decision::Propose(std::move(plan));
}

std::optional<Decision> FixAntiAffinity(const Context& ctx) {
  const ClusterView& v = ctx.view;
  const Layout& l = v.layout;
  struct Pair {
    const std::string* replica;
    const std::string* master;
    const std::string* host;
    const std::string* master_host;
  };
  std::vector<Pair> pairs;  // Live replicas of live masters, in address order.
  for (const auto& [r, rn] : l.nodes) {
    if (rn.master || !Up(v, r) || !Up(v, rn.master_address)) continue;
    auto m = l.nodes.find(rn.master_address);
    if (m == l.nodes.end()) continue;
    pairs.push_back({&r, &m->first, &rn.host, &m->second.host});
  }
  PlanBuilder b(ctx, "", {ctx.state.last_seq});
  std::vector<std::string> reasons;
  std::vector<bool> moved(pairs.size(), false);
  for (size_t i = 0; i < pairs.size(); ++i) {
    const Pair& p = pairs[i];
    if (moved[i] || *p.host != *p.master_host) continue;
    // Swap with a replica R2 of another master M2 so that neither pair shares a host.
    for (size_t j = 0; j < pairs.size(); ++j) {
      const Pair& q = pairs[j];
      if (j == i || moved[j] || *q.master == *p.master) continue;
      if (*q.master_host == *p.host || *q.host == *p.master_host) continue;
      b.Replicate(*p.replica, *q.master);
      b.Replicate(*q.replica, *p.master);
      moved[i] = moved[j] = true;
      reasons.push_back(fmt::format("{} shares a host with its master {}: swap with {}", *p.replica,
                                    *p.master, *q.replica));
      break;
    }
  }
  if (b.empty()) return std::nullopt;
  model::Plan plan = b.Finish();
  plan.reason = "anti-affinity: " + Join(reasons);
  return Decision::Propose(std::move(plan));
}

}  // namespace rs::planner
