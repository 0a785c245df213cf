#include "planner/cluster_view.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

namespace rs::planner {

using model::ClusterState;
using model::Health;
using model::Role;
using model::SlotRange;

namespace {

struct UnionFind {
  std::vector<int> parent;
  explicit UnionFind(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  int Find(int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void Unite(int a, int b) {
    a = Find(a);
    b = Find(b);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
};

bool Clustered(const model::NodeObservation& o) {
  return !o.peers.empty() || !o.slots.empty() || o.role == Role::kReplica;
}

// The slots a node holds and the config epoch it holds them with, as the cluster knows it.
struct SlotClaim {
  const std::vector<SlotRange>* slots = nullptr;
  uint64_t config_epoch = 0;
};

// A node that is up speaks for itself. One that is not speaks from its last observation, which
// may predate the last slot moves (it died before the prober saw them): the live nodes of its
// cluster say what it holds now. The newest of their views wins (highest config epoch, then a
// master's: the executor tells masters of every slot move, replicas hear of it by gossip).
SlotClaim ClaimOf(const std::vector<NodeInfo*>& observed, size_t i) {
  const NodeInfo& n = *observed[i];
  SlotClaim own{&n.obs->slots, n.obs->config_epoch};
  if (n.up()) return own;
  const model::PeerView* best = nullptr;
  bool best_by_master = false;
  for (const NodeInfo* other : observed) {
    if (other == &n || !other->up() || other->component != n.component) continue;
    const auto& peers = other->obs->peers;  // Sorted by id.
    auto it = std::lower_bound(
        peers.begin(), peers.end(), n.id,
        [](const model::PeerView& p, const std::string& id) { return p.id < id; });
    if (it == peers.end() || it->id != n.id || it->handshake) continue;
    bool by_master = other->obs->role == Role::kMaster;
    if (best == nullptr || it->config_epoch > best->config_epoch ||
        (it->config_epoch == best->config_epoch && by_master && !best_by_master)) {
      best = &*it;
      best_by_master = by_master;
    }
  }
  return best ? SlotClaim{&best->slots, best->config_epoch} : own;
}

}  // namespace

std::string HostOf(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

model::NodeRef ClusterView::Ref(const std::string& address) const {
  const NodeInfo* n = Find(address);
  return {address, n ? n->id : std::string()};
}

ClusterView BuildView(const ClusterState& s) {
  ClusterView v;
  // The state's maps are all sorted by address: merging with a moving hint keeps this linear.
  auto merge = [&](auto& hint, const std::string& address) -> NodeInfo& {
    while (hint != v.nodes.end() && hint->first < address) ++hint;
    if (hint == v.nodes.end() || hint->first != address) {
      hint = v.nodes.emplace_hint(hint, address, NodeInfo{});
      hint->second.address = address;
      hint->second.host = HostOf(address);
    }
    return hint->second;
  };
  auto hint = v.nodes.begin();
  for (const auto& [addr, m] : s.members) {
    NodeInfo& n = merge(hint, addr);
    n.wanted = !s.retired.contains(addr);
    if (!m.host.empty()) n.host = m.host;
  }
  hint = v.nodes.begin();
  for (const auto& [addr, h] : s.health) merge(hint, addr).health = h;
  hint = v.nodes.begin();
  for (const auto& [addr, o] : s.observed) {
    if (o.id.empty()) continue;
    NodeInfo& n = merge(hint, addr);
    n.obs = &o;
    n.id = o.id;
    v.address_of[o.id] = addr;
  }

  // Clusters: Redis gossip makes every node of a cluster know all the others, and peers are
  // sorted by id, so joining each node with its lowest and highest known peer is enough to find
  // the components without walking every peer list (which is quadratic in the cluster size).
  std::vector<NodeInfo*> observed;
  std::map<std::string, int> index;
  for (auto& [addr, n] : v.nodes) {
    if (n.obs == nullptr) continue;
    if (!Clustered(*n.obs)) {
      n.fresh = true;
      continue;
    }
    index[n.id] = static_cast<int>(observed.size());
    observed.push_back(&n);
  }
  UnionFind uf(observed.size());
  for (size_t i = 0; i < observed.size(); ++i) {
    if (!observed[i]->up()) continue;
    const auto& peers = observed[i]->obs->peers;
    auto join = [&](const model::PeerView& p) {
      if (p.handshake) return false;
      auto it = index.find(p.id);
      if (it != index.end() && observed[it->second]->up())
        uf.Unite(static_cast<int>(i), it->second);
      return true;
    };
    for (auto it = peers.begin(); it != peers.end() && !join(*it); ++it) {
    }
    for (auto it = peers.rbegin(); it != peers.rend() && !join(*it); ++it) {
    }
  }
  // A node that is not up speaks from a stale observation: it belongs to a cluster only while
  // a live node of that cluster still knows it (a forgotten node must drop out).
  for (size_t i = 0; i < observed.size(); ++i) {
    if (observed[i]->up()) continue;
    int tried = 0;
    for (const model::PeerView& p : observed[i]->obs->peers) {
      auto it = index.find(p.id);
      if (it == index.end() || !observed[it->second]->up()) continue;
      const auto& theirs = observed[it->second]->obs->peers;
      auto known = std::lower_bound(
          theirs.begin(), theirs.end(), observed[i]->id,
          [](const model::PeerView& x, const std::string& id) { return x.id < id; });
      if (known != theirs.end() && known->id == observed[i]->id) {
        uf.Unite(static_cast<int>(i), it->second);
        break;
      }
      if (++tried == 3) break;
    }
  }
  std::map<int, int> component_of_root;
  for (size_t i = 0; i < observed.size(); ++i) {
    int root = uf.Find(static_cast<int>(i));
    auto [it, inserted] = component_of_root.try_emplace(root, v.components);
    if (inserted) ++v.components;
    observed[i]->component = it->second;
  }

  // Which component is ours: the one holding the committed masters; with nothing committed,
  // the only one holding slots.
  std::vector<int> topology_masters(v.components, 0), slots(v.components, 0);
  for (const NodeInfo* n : observed) slots[n->component] += model::CountSlots(n->obs->slots);
  for (const model::Shard& sh : s.topology.shards) {
    const NodeInfo* n = v.Find(sh.master.address);
    if (n && n->component >= 0) ++topology_masters[n->component];
  }
  int best = -1;
  for (int c = 0; c < v.components; ++c) {
    if (topology_masters[c] > 0 && (best < 0 || topology_masters[c] > topology_masters[best])) {
      best = c;
    }
  }
  if (best < 0) {
    std::vector<int> with_slots;
    for (int c = 0; c < v.components; ++c) {
      if (slots[c] > 0) with_slots.push_back(c);
    }
    if (with_slots.size() == 1) best = with_slots[0];
    if (with_slots.size() > 1) v.ambiguous = true;
  }
  v.managed = best;

  for (const auto& [addr, n] : v.nodes) {
    if (n.wanted && n.component >= 0 && n.component != v.managed) v.foreign.push_back(addr);
  }
  if (v.managed < 0) return v;

  // Layout of the managed cluster. Slot owners are resolved the way Redis does: the highest
  // config epoch wins (a stale observation of a master that was failed over loses).
  std::vector<SlotClaim> claims(observed.size());
  for (size_t i = 0; i < observed.size(); ++i) {
    if (observed[i]->component == v.managed) claims[i] = ClaimOf(observed, i);
  }
  // One int per slot (64 KiB) keeps this off mmap and page faults on every call.
  std::vector<int32_t> owner(model::kSlotCount, -1);  // Index into `observed`.
  auto wins = [&](int32_t mine, int32_t theirs) {
    if (theirs < 0) return true;
    uint64_t e1 = claims[mine].config_epoch, e2 = claims[theirs].config_epoch;
    if (e1 != e2) return e1 > e2;
    return observed[mine]->up() && !observed[theirs]->up();
  };
  for (size_t i = 0; i < observed.size(); ++i) {
    const NodeInfo* n = observed[i];
    if (n->component != v.managed) continue;
    LayoutNode& ln =
        v.layout.nodes.emplace_hint(v.layout.nodes.end(), n->address, LayoutNode{})->second;
    ln.id = n->id;
    ln.host = n->host;
    ln.down = n->down();
    if (n->obs->role == Role::kReplica) {
      auto it = v.address_of.find(n->obs->master_id);
      if (it != v.address_of.end()) {
        ln.master = false;
        ln.master_address = it->second;
      }
    }
    if (!ln.master) continue;
    for (const SlotRange& r : *claims[i].slots) {
      for (uint32_t slot = r.first; slot <= r.last; ++slot) {
        if (wins(static_cast<int32_t>(i), owner[slot])) owner[slot] = static_cast<int32_t>(i);
      }
    }
  }
  // By index into `observed`: a map keyed by address here would cost a string lookup per slot.
  std::vector<std::vector<SlotRange>> owned(observed.size());
  for (uint32_t slot = 0; slot < model::kSlotCount; ++slot) {
    if (owner[slot] < 0) continue;
    auto& ranges = owned[owner[slot]];
    if (!ranges.empty() && ranges.back().last + 1u == slot) {
      ranges.back().last = static_cast<uint16_t>(slot);
    } else {
      ranges.push_back({static_cast<uint16_t>(slot), static_cast<uint16_t>(slot)});
    }
  }
  for (size_t i = 0; i < observed.size(); ++i) {
    if (!owned[i].empty()) v.layout.nodes[observed[i]->address].slots = std::move(owned[i]);
  }
  // A replica whose master is not in the managed layout is treated as an empty master.
  for (auto& [addr, ln] : v.layout.nodes) {
    if (!ln.master && !v.layout.nodes.contains(ln.master_address)) {
      ln.master = true;
      ln.master_address.clear();
    }
  }
  return v;
}

namespace {

// One node as another node reports it: what the layout needs to agree on.
struct Seen {
  const std::string* id;
  Role role;
  const std::string* master_id;
  const std::vector<SlotRange>* slots;
  bool operator==(const Seen& o) const {
    return *id == *o.id && role == o.role && *master_id == *o.master_id && *slots == *o.slots;
  }
};

// The layout as node `n` reports it, sorted by id (its peers are, and it goes in its place). A
// node that is not up (by the controller's probes) counts only by the slots it is said to hold:
// its role may never settle (a master that died right after a failover is left a master in some
// views and a replica in others until it returns), nor whether every node still lists it.
std::vector<Seen> LayoutSeenBy(const ClusterView& v, const NodeInfo& n) {
  static const std::string kNone;
  auto up = [&v](const std::string& id) {
    auto it = v.address_of.find(id);
    const NodeInfo* x = it == v.address_of.end() ? nullptr : v.Find(it->second);
    return x != nullptr && x->up();
  };
  const model::NodeObservation& o = *n.obs;
  std::vector<Seen> out;
  out.reserve(o.peers.size() + 1);
  Seen self{&o.id, o.role, o.role == Role::kReplica ? &o.master_id : &kNone, &o.slots};
  bool placed = false;
  for (const model::PeerView& p : o.peers) {
    if (p.handshake || p.id.empty()) continue;
    if (!placed && o.id < p.id) {
      out.push_back(self);
      placed = true;
    }
    if (up(p.id)) {
      out.push_back({&p.id, p.role, p.role == Role::kReplica ? &p.master_id : &kNone, &p.slots});
    } else if (!p.slots.empty()) {
      out.push_back({&p.id, Role::kUnknown, &kNone, &p.slots});
    }
  }
  if (!placed) out.push_back(self);
  return out;
}

std::string Describe(const ClusterView& v, const Seen& s) {
  auto it = v.address_of.find(*s.id);
  return it != v.address_of.end() ? it->second : s.id->substr(0, 8);
}

}  // namespace

std::string Disagreement(const ClusterView& v) {
  if (v.managed < 0) return "";
  const NodeInfo* first = nullptr;
  std::vector<Seen> reference;
  for (const auto& [addr, n] : v.nodes) {
    if (n.component != v.managed || !n.up()) continue;
    std::vector<Seen> seen = LayoutSeenBy(v, n);
    if (first == nullptr) {
      first = &n;
      reference = std::move(seen);
      continue;
    }
    if (seen == reference) continue;
    // Name the first node they differ about.
    size_t i = 0;
    while (i < seen.size() && i < reference.size() && seen[i] == reference[i]) ++i;
    if (i < seen.size() && i < reference.size() && *seen[i].id == *reference[i].id) {
      return fmt::format("{} and {} report {} differently", first->address, addr,
                         Describe(v, seen[i]));
    }
    const Seen& about = i < reference.size() && (i >= seen.size() || *reference[i].id < *seen[i].id)
                            ? reference[i]
                            : seen[i];
    return fmt::format("{} and {} do not know the same nodes ({} is known to one only)",
                       first->address, addr, Describe(v, about));
  }
  return "";
}

}  // namespace rs::planner
