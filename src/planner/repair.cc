// Open slots and uncovered slots.
//
// The rule for open slots without a recorded intent (see docs/planner.md; the executor's
// kFixOpenSlot and kMigrate implement it): a half-done move is always finished toward the
// importing side, since keys may already be on both sides, and nothing is ever deleted.
//  - MIGRATING on the owner A to B, or IMPORTING on B from the owner A, with A and B both live
//    masters of the cluster: rolled forward by a kMigrate step A -> B (the executor re-asserts
//    IMPORTING/MIGRATING, moves the remaining keys, then SETSLOT NODE on B first).
//  - Anything else (the peer is unknown, down or not a master; the MIGRATING node does not own
//    the slot; the IMPORTING node's peer is not the owner): a kFixOpenSlot step on that node with
//    no peer, which makes the slot STABLE there and never changes its owner.
#include <set>

#include <fmt/format.h>

#include "planner/policies.h"

namespace rs::planner {

using model::SlotRange;
using model::StepKind;

namespace {

const std::string* OwnerOf(const Layout& l, uint16_t slot) {
  for (const auto& [addr, n] : l.nodes) {
    if (!n.master) continue;
    for (const SlotRange& r : n.slots) {
      if (r.first <= slot && slot <= r.last) return &addr;
    }
  }
  return nullptr;
}

}  // namespace

std::optional<Decision> RepairSlots(const Context& ctx, bool operator_fix) {
  const ClusterView& v = ctx.view;
  using Pair = std::pair<std::string, std::string>;
  std::map<Pair, std::set<uint16_t>> roll_forward;  // (owner, importer) -> slots.
  std::map<std::string, std::set<uint16_t>> stabilize;
  auto live_master = [&](const std::string& addr) {
    auto it = v.layout.nodes.find(addr);
    const NodeInfo* n = v.Find(addr);
    return it != v.layout.nodes.end() && it->second.master && n != nullptr && n->up();
  };
  for (const auto& [addr, ln] : v.layout.nodes) {
    const NodeInfo* n = v.Find(addr);
    if (n == nullptr || !n->up()) continue;
    for (const model::OpenSlot& o : n->obs->open_slots) {
      auto it = v.address_of.find(o.peer_id);
      std::string peer = it == v.address_of.end() ? "" : it->second;
      const std::string* owner = OwnerOf(v.layout, o.slot);
      const bool both_live = !peer.empty() && live_master(addr) && live_master(peer);
      if (o.migrating && both_live && owner != nullptr && *owner == addr) {
        roll_forward[{addr, peer}].insert(o.slot);
      } else if (!o.migrating && both_live && owner != nullptr && *owner == peer) {
        roll_forward[{peer, addr}].insert(o.slot);
      } else {
        stabilize[addr].insert(o.slot);
      }
    }
  }
  auto ranges = [](const std::set<uint16_t>& slots) {
    std::vector<SlotRange> out;
    for (uint16_t s : slots) out.push_back({s, s});
    return model::NormalizeRanges(std::move(out));
  };

  // Uncovered slots, only when every node is up and observed: an unobserved node may own them.
  std::vector<SlotRange> uncovered;
  bool all_up = !v.layout.nodes.empty();
  for (const auto& [addr, ln] : v.layout.nodes) {
    const NodeInfo* n = v.Find(addr);
    all_up = all_up && n != nullptr && n->up();
  }
  if (all_up) {
    std::vector<SlotRange> all;
    for (const auto& [addr, ln] : v.layout.nodes)
      all.insert(all.end(), ln.slots.begin(), ln.slots.end());
    uncovered = SubtractRanges({{0, model::kSlotCount - 1}}, model::NormalizeRanges(all));
  }
  if (roll_forward.empty() && stabilize.empty() && uncovered.empty()) return std::nullopt;

  PlanBuilder b(ctx, "", {ctx.state.last_seq});
  std::vector<std::string> reasons;
  for (const auto& [addr, slots] : stabilize) {
    model::Step s = MakeStep(StepKind::kFixOpenSlot, v.Ref(addr));
    s.slots = ranges(slots);
    reasons.push_back(
        fmt::format("make open slots {} stable on {}", model::RangesToString(s.slots), addr));
    b.Add(std::move(s));
  }
  for (const auto& [key, slots] : roll_forward) {
    SlotMove m{key.first, key.second, ranges(slots)};
    reasons.push_back(fmt::format("roll forward the migration of {} from {} to {}",
                                  model::RangesToString(m.slots), m.from, m.to));
    b.Migrate(m);
  }
  if (!uncovered.empty()) {
    // Each uncovered range goes to the master holding fewest slots at that point.
    for (const SlotRange& r : uncovered) {
      const std::string* best = nullptr;
      uint32_t fewest = 0;
      for (const auto& [addr, ln] : b.layout().nodes) {
        if (!ln.master) continue;
        uint32_t held = model::CountSlots(ln.slots);
        if (best == nullptr || held < fewest) {
          best = &addr;
          fewest = held;
        }
      }
      if (best == nullptr) break;
      model::Step s = MakeStep(StepKind::kAssignSlots, v.Ref(*best));
      s.slots = {r};
      reasons.push_back(
          fmt::format("cover slots {} on {}", model::RangesToString(s.slots), *best));
      b.Add(std::move(s));
    }
  }
  if (b.empty()) return std::nullopt;
  model::Plan plan = b.Finish();
  std::string all;
  for (const std::string& r : reasons) all += (all.empty() ? "" : "; ") + r;
  plan.reason = (operator_fix ? "fix: " : "repair: ") + all;
  plan.origin = model::PlanOrigin::kRepair;
  return Decision::Propose(std::move(plan));
}

}  // namespace rs::planner
