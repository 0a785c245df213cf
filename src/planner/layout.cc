#include "planner/layout.h"

#include <algorithm>

namespace rs::planner {

using model::NormalizeRanges;
using model::SlotRange;
using model::Step;
using model::StepKind;

std::vector<SlotRange> SubtractRanges(const std::vector<SlotRange>& from,
                                      const std::vector<SlotRange>& remove) {
  std::vector<SlotRange> out;
  size_t j = 0;
  for (SlotRange r : from) {
    uint32_t first = r.first;
    const uint32_t last = r.last;
    while (j < remove.size() && remove[j].last < first) ++j;
    size_t k = j;
    while (first <= last && k < remove.size() && remove[k].first <= last) {
      if (remove[k].first > first) {
        out.push_back({static_cast<uint16_t>(first), static_cast<uint16_t>(remove[k].first - 1)});
      }
      first = static_cast<uint32_t>(remove[k].last) + 1;
      ++k;
    }
    if (first <= last) out.push_back({static_cast<uint16_t>(first), static_cast<uint16_t>(last)});
  }
  return out;
}

model::NodeRef Layout::Ref(const std::string& address) const {
  auto it = nodes.find(address);
  return {address, it == nodes.end() ? std::string() : it->second.id};
}

std::vector<std::string> Layout::ReplicasOf(const std::string& master) const {
  std::vector<std::string> out;
  for (const auto& [addr, n] : nodes) {
    if (!n.master && n.master_address == master) out.push_back(addr);
  }
  return out;
}

std::vector<std::string> Layout::Masters() const {
  std::vector<std::string> out;
  for (const auto& [addr, n] : nodes) {
    if (n.master) out.push_back(addr);
  }
  return out;
}

void Layout::Apply(const Step& step, const LayoutNode* joining) {
  auto find = [&](const model::NodeRef& ref) -> LayoutNode* {
    auto it = nodes.find(ref.address);
    return it == nodes.end() ? nullptr : &it->second;
  };
  switch (step.kind) {
    case StepKind::kMeet:
      if (!nodes.contains(step.target.address)) {
        LayoutNode n = joining ? *joining : LayoutNode{};
        n.id = step.target.id;
        nodes[step.target.address] = std::move(n);
      }
      break;
    case StepKind::kAssignSlots:
      if (LayoutNode* n = find(step.target)) {
        std::vector<SlotRange> s = n->slots;
        s.insert(s.end(), step.slots.begin(), step.slots.end());
        n->slots = NormalizeRanges(std::move(s));
      }
      break;
    case StepKind::kSetConfigEpoch:
      break;
    case StepKind::kReplicate:
      if (LayoutNode* n = find(step.target)) {
        n->master = false;
        n->master_address = step.peer.address;
        n->slots.clear();
      }
      break;
    case StepKind::kMigrate: {
      LayoutNode* from = find(step.target);
      LayoutNode* to = find(step.peer);
      if (from && to) {
        from->slots = SubtractRanges(from->slots, NormalizeRanges(step.slots));
        std::vector<SlotRange> s = to->slots;
        s.insert(s.end(), step.slots.begin(), step.slots.end());
        to->slots = NormalizeRanges(std::move(s));
      }
      break;
    }
    case StepKind::kFailover: {
      LayoutNode* promoted = find(step.target);
      LayoutNode* old = find(step.peer);
      if (!promoted || !old) break;
      for (auto& [addr, n] : nodes) {
        if (!n.master && n.master_address == step.peer.address)
          n.master_address = step.target.address;
      }
      promoted->master = true;
      promoted->master_address.clear();
      promoted->slots = std::move(old->slots);
      old->slots.clear();
      old->master = false;
      old->master_address = step.target.address;
      break;
    }
    case StepKind::kForget:
      nodes.erase(step.target.address);
      break;
    case StepKind::kReset:
    case StepKind::kFixOpenSlot:  // Never changes a slot's owner (see docs/planner.md).
    case StepKind::kCommitTopology:
    case StepKind::kUnknown:  // A newer binary's step: the executor refuses it.
      break;
  }
}

model::Topology Layout::ToTopology(uint64_t epoch) const {
  model::Topology t;
  t.epoch = epoch;
  std::map<std::string, std::vector<model::NodeRef>> replicas;
  for (const auto& [addr, n] : nodes) {
    if (!n.master && !n.down) replicas[n.master_address].push_back({addr, n.id});
  }
  for (const auto& [addr, n] : nodes) {
    if (!n.master) continue;
    if (n.down && n.slots.empty()) continue;
    model::Shard shard;
    shard.master = {addr, n.id};
    shard.slots = n.slots;
    if (auto it = replicas.find(addr); it != replicas.end()) shard.replicas = it->second;
    t.shards.push_back(std::move(shard));
  }
  return t;
}

}  // namespace rs::planner
