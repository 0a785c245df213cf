// Open slots and uncovered slots.
//
// The rule for open slots without a recorded intent (see docs/planner.md):
//  - MIGRATING on the owner A to B and IMPORTING on B from A: someone started the move and keys
//    may already be split over both; it is rolled forward (a kMigrate step A -> B).
//  - Any one-sided state: a kFixOpenSlot step, which never changes the owner: keys of the slot
//    found on the other node are moved to the owner, then the slot is made stable on both.
#include <fmt/format.h>

#include "planner/policies.h"

namespace rs::planner {

using eventlog::SlotRange;
using eventlog::StepKind;

namespace {

bool HasOpen(const NodeInfo* n, uint16_t slot, bool migrating, const std::string& peer_id) {
  if (n == nullptr || !n->up()) return false;
  for (const eventlog::OpenSlot& o : n->obs->open_slots) {
    if (o.slot == slot && o.migrating == migrating && o.peer_id == peer_id) return true;
  }
  return false;
}

bool Owns(const LayoutNode& n, uint16_t slot) {
  for (const SlotRange& r : n.slots) {
    if (r.first <= slot && slot <= r.last) return true;
  }
  return false;
}

}  // namespace

std::optional<Decision> RepairSlots(const Context& ctx, bool operator_fix) {
  const ClusterView& v = ctx.view;
  using Pair = std::pair<std::string, std::string>;
  std::map<Pair, std::vector<SlotRange>> roll_forward, close;
  std::map<Pair, eventlog::NodeRef> peers;
  for (const auto& [addr, ln] : v.layout.nodes) {
    const NodeInfo* n = v.Find(addr);
    if (n == nullptr || !n->up()) continue;
    for (const eventlog::OpenSlot& o : n->obs->open_slots) {
      auto it = v.address_of.find(o.peer_id);
      std::string peer_addr = it == v.address_of.end() ? "" : it->second;
      const NodeInfo* peer = peer_addr.empty() ? nullptr : v.Find(peer_addr);
      Pair key{addr, peer_addr};
      peers[key] = {peer_addr, o.peer_id};
      if (o.migrating) {
        if (Owns(ln, o.slot) && HasOpen(peer, o.slot, false, n->id) &&
            v.layout.nodes.contains(peer_addr)) {
          roll_forward[key].push_back({o.slot, o.slot});
        } else {
          close[key].push_back({o.slot, o.slot});
        }
      } else if (!HasOpen(peer, o.slot, true, n->id)) {
        close[key].push_back({o.slot, o.slot});
      }  // Else the migrating side handles it.
    }
  }

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
    uncovered = SubtractRanges({{0, eventlog::kSlotCount - 1}}, eventlog::NormalizeRanges(all));
  }
  if (roll_forward.empty() && close.empty() && uncovered.empty()) return std::nullopt;

  PlanBuilder b(ctx, "", {ctx.state.last_seq});
  std::vector<std::string> reasons;
  for (auto& [key, slots] : close) {
    eventlog::Step s = MakeStep(StepKind::kFixOpenSlot, v.Ref(key.first), peers[key]);
    s.slots = eventlog::NormalizeRanges(std::move(slots));
    reasons.push_back(
        fmt::format("close open slots {} on {}", eventlog::RangesToString(s.slots), key.first));
    b.Add(std::move(s));
  }
  for (auto& [key, slots] : roll_forward) {
    SlotMove m{key.first, key.second, eventlog::NormalizeRanges(std::move(slots))};
    reasons.push_back(fmt::format("roll forward the migration of {} from {} to {}",
                                  eventlog::RangesToString(m.slots), m.from, m.to));
    b.Migrate(m);
  }
  if (!uncovered.empty()) {
    // Each uncovered range goes to the master holding fewest slots at that point.
    for (const SlotRange& r : uncovered) {
      const std::string* best = nullptr;
      uint32_t fewest = 0;
      for (const auto& [addr, ln] : b.layout().nodes) {
        if (!ln.master) continue;
        uint32_t held = eventlog::CountSlots(ln.slots);
        if (best == nullptr || held < fewest) {
          best = &addr;
          fewest = held;
        }
      }
      if (best == nullptr) break;
      eventlog::Step s = MakeStep(StepKind::kAssignSlots, v.Ref(*best));
      s.slots = {r};
      reasons.push_back(
          fmt::format("cover slots {} on {}", eventlog::RangesToString(s.slots), *best));
      b.Add(std::move(s));
    }
  }
  if (b.empty()) return std::nullopt;
  eventlog::Plan plan = b.Finish();
  std::string all;
  for (const std::string& r : reasons) all += (all.empty() ? "" : "; ") + r;
  plan.reason = (operator_fix ? "fix: " : "repair: ") + all;
  return Decision::Propose(std::move(plan));
}

}  // namespace rs::planner
