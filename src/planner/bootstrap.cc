// Bootstrap of a new cluster, adoption of an existing one, and committing what Redis changed.
#include <algorithm>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "planner/policies.h"

namespace rs::planner {

using model::SlotRange;
using model::StepKind;

namespace {

// One replica per master: a bipartite matching of masters to the hosts of the candidates (never
// the master's own host, each host as many times as it has candidates), augmenting paths so a
// greedy early choice never strands a later master. Unmatched masters then take what is left.
// Returns (replica, master) pairs.
std::vector<std::pair<std::string, std::string>> MatchRound(
    const ClusterView& v, const std::vector<std::string>& masters,
    const std::vector<std::string>& candidates) {
  std::map<std::string, std::vector<std::string>> by_host;
  for (const std::string& c : candidates) by_host[v.Find(c)->host].push_back(c);
  std::map<std::string, std::vector<size_t>> taken;  // Host -> masters matched to it.
  std::vector<std::string> match(masters.size());
  std::set<std::string> seen;
  std::function<bool(size_t)> augment = [&](size_t m) {
    const std::string& own = v.Find(masters[m])->host;
    for (const auto& [h, cands] : by_host) {
      if (h == own || seen.contains(h)) continue;
      seen.insert(h);
      std::vector<size_t>& on = taken[h];
      if (on.size() < cands.size()) {
        on.push_back(m);
        match[m] = h;
        return true;
      }
      for (size_t i = 0; i < on.size(); ++i) {
        size_t other = on[i];
        if (augment(other)) {
          on[i] = m;
          match[m] = h;
          return true;
        }
      }
    }
    return false;
  };
  for (size_t m = 0; m < masters.size(); ++m) {
    seen.clear();
    augment(m);
  }
  std::vector<std::pair<std::string, std::string>> out;
  std::map<std::string, size_t> used;
  for (size_t m = 0; m < masters.size(); ++m) {
    if (match[m].empty()) continue;
    out.push_back({by_host[match[m]][used[match[m]]++], masters[m]});
  }
  std::vector<std::string> left;
  for (const auto& [h, cands] : by_host) {
    for (size_t i = used[h]; i < cands.size(); ++i) left.push_back(cands[i]);
  }
  std::sort(left.begin(), left.end());
  size_t next = 0;
  for (size_t m = 0; m < masters.size() && next < left.size(); ++m) {
    if (match[m].empty()) out.push_back({left[next++], masters[m]});
  }
  return out;
}

}  // namespace

Decision Bootstrap(const Context& ctx) {
  const ClusterView& v = ctx.view;
  const Policy& p = ctx.policy;
  // Members already in some cluster are never reset to make a new one.
  std::vector<std::string> taken;
  std::vector<std::string> spares;
  for (const auto& [addr, n] : v.nodes) {
    if (!n.wanted) continue;
    if (n.component >= 0) taken.push_back(addr);
    if (n.fresh && n.up()) spares.push_back(addr);
  }
  if (!taken.empty()) {
    return Decision::Conflict(
        "members already belong to a cluster that holds no slots or is not ours; they are never "
        "reset by bootstrap",
        taken);
  }
  const size_t per_shard = 1 + static_cast<size_t>(std::max(0, p.replicas));
  const size_t need = static_cast<size_t>(std::max(1, p.min_masters)) * per_shard;
  if (spares.size() < need) {
    return Decision::Nothing(
        fmt::format("bootstrap waits for {} members up and observed, {} are", need, spares.size()));
  }

  // Masters spread over hosts: round-robin over hosts, the hosts with most members first.
  const size_t n_masters = spares.size() / per_shard;
  std::map<std::string, std::vector<std::string>> by_host;
  for (const std::string& a : spares) by_host[v.Find(a)->host].push_back(a);
  std::vector<std::pair<std::string, std::vector<std::string>>> hosts(by_host.begin(),
                                                                      by_host.end());
  std::stable_sort(hosts.begin(), hosts.end(),
                   [](const auto& a, const auto& b) { return a.second.size() > b.second.size(); });
  std::vector<std::string> masters;
  std::vector<size_t> next(hosts.size(), 0);
  while (masters.size() < n_masters) {
    for (size_t h = 0; h < hosts.size() && masters.size() < n_masters; ++h) {
      if (next[h] < hosts[h].second.size()) masters.push_back(hosts[h].second[next[h]++]);
    }
  }
  std::sort(masters.begin(), masters.end());
  std::vector<std::string> rest;
  for (const std::string& a : spares) {
    if (!std::binary_search(masters.begin(), masters.end(), a)) rest.push_back(a);
  }

  PlanBuilder b(ctx, fmt::format("bootstrap: {} members up, {} masters", spares.size(), n_masters),
                {ctx.state.membership_seq, ctx.state.last_seq});
  // Distinct config epochs and slots go in before the meet, as redis-cli --cluster create does.
  uint64_t epoch = 1;
  for (size_t i = 0; i < masters.size(); ++i) {
    model::Step s = MakeStep(StepKind::kSetConfigEpoch, v.Ref(masters[i]));
    s.config_epoch = epoch++;
    b.Add(std::move(s));
  }
  for (const std::string& a : rest) {
    model::Step s = MakeStep(StepKind::kSetConfigEpoch, v.Ref(a));
    s.config_epoch = epoch++;
    b.Add(std::move(s));
  }
  // The first master is the meeting point. Every master holds its slots before it meets: a
  // master never joins without them, and the executor runs the assignments and then the meets
  // side by side (executor/step_order.h).
  for (size_t i = 0; i < masters.size(); ++i) {
    b.Include(masters[i]);
    model::Step s = MakeStep(StepKind::kAssignSlots, v.Ref(masters[i]));
    uint32_t first = static_cast<uint32_t>(i * model::kSlotCount / masters.size());
    uint32_t last = static_cast<uint32_t>((i + 1) * model::kSlotCount / masters.size()) - 1;
    s.slots = {SlotRange{static_cast<uint16_t>(first), static_cast<uint16_t>(last)}};
    b.Add(std::move(s));
  }
  for (size_t i = 1; i < masters.size(); ++i) b.Meet(masters[i], masters[0]);
  for (const std::string& a : rest) b.Meet(a, masters[0]);
  // Replicas: round after round, each master takes one, matched so that as few as possible
  // share their master's host.
  while (!rest.empty()) {
    for (const auto& [replica, master] : MatchRound(v, masters, rest)) {
      b.Replicate(replica, master);
      std::erase(rest, replica);
    }
  }
  return Decision::Propose(b.Finish());
}

// A slot some observed node of the managed cluster gives to a live master that has not been
// observed itself yet (the probes of a fresh controller answer one by one), with that master's
// address; nullopt when there is none.
std::optional<std::pair<uint32_t, std::string>> OwnerNotYetObserved(const ClusterView& v) {
  std::vector<bool> covered(model::kSlotCount, false);
  for (const auto& [addr, n] : v.layout.nodes) {
    for (const SlotRange& r : n.slots) {
      for (uint32_t slot = r.first; slot <= r.last; ++slot) covered[slot] = true;
    }
  }
  for (const auto& [addr, n] : v.nodes) {
    if (n.obs == nullptr || n.component != v.managed) continue;
    for (const model::PeerView& p : n.obs->peers) {
      if (p.role != model::Role::kMaster || p.fail || p.slots.empty() || p.address.empty()) {
        continue;
      }
      const NodeInfo* owner = v.Find(p.address);
      if (owner != nullptr && (owner->obs != nullptr || owner->down())) continue;
      for (const SlotRange& r : p.slots) {
        for (uint32_t slot = r.first; slot <= r.last; ++slot) {
          if (!covered[slot]) return std::make_pair(slot, p.address);
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<Decision> Adopt(const Context& ctx) {
  if (ctx.state.topology.epoch != 0 || ctx.view.managed < 0) return std::nullopt;
  // Committing before every master was observed would commit a topology without its slots, and
  // every proxy following the controller would route them nowhere.
  if (auto missing = OwnerNotYetObserved(ctx.view)) {
    return Decision::Nothing(fmt::format("adoption waits for master {} (slot {} and others) to be "
                                         "observed",
                                         missing->second, missing->first));
  }
  PlanBuilder b(ctx,
                fmt::format("adopt the existing cluster of {} nodes as observed",
                            ctx.view.layout.nodes.size()),
                {ctx.state.last_seq});
  return Decision::Propose(b.Finish());
}

std::string Unsettled(const Context& ctx) {
  const ClusterView& v = ctx.view;
  if (v.components == 0) return "";
  if (ctx.state.last_time_ms - ctx.state.layout_changed_ms < ctx.policy.settle_ms) {
    return fmt::format("waiting for the layout Redis reports to stay unchanged for {} ms",
                       ctx.policy.settle_ms);
  }
  if (std::string d = Disagreement(v); !d.empty()) {
    return "waiting for the nodes to agree on the layout: " + d;
  }
  return "";
}

// Runs only on a settled view (see Unsettled): the nodes that answer agree, so a slot no one
// owns here is one no reachable master claims.
std::optional<Decision> CommitDrift(const Context& ctx) {
  model::Topology observed = ctx.view.layout.ToTopology(ctx.state.topology.epoch + 1);
  if (observed.shards == ctx.state.topology.shards) return std::nullopt;
  PlanBuilder b(ctx, "commit the layout Redis reports (it changed without a plan)",
                {ctx.state.last_seq});
  return Decision::Propose(b.Finish());
}

}  // namespace rs::planner
