// Value types shared by events, ClusterState and plans: slot ranges, node references, topology.
// Plain data, no behaviour beyond comparison and printing.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include "common/slot.h"

namespace rs::model {

using Seq = uint64_t;  // Event sequence number; 0 means "none".

using ::rs::kSlotCount;

// An inclusive range of hash slots, first <= last < 16384.
struct SlotRange {
  uint16_t first = 0;
  uint16_t last = 0;
  uint32_t size() const { return static_cast<uint32_t>(last) - first + 1; }
  auto operator<=>(const SlotRange&) const = default;
};

// Sorts and merges ranges into the canonical form (ascending, non-overlapping, non-adjacent).
std::vector<SlotRange> NormalizeRanges(std::vector<SlotRange> ranges);
uint32_t CountSlots(const std::vector<SlotRange>& ranges);
// "0-5460,5462" style.
std::string RangesToString(const std::vector<SlotRange>& ranges);

// A Redis node as steps and the topology name it: its address and its cluster node id.
struct NodeRef {
  std::string address;  // "host:port"
  std::string id;       // 40-hex Redis node id; empty when not known yet.
  auto operator<=>(const NodeRef&) const = default;
};

struct Shard {
  NodeRef master;
  std::vector<SlotRange> slots;  // Canonical form.
  std::vector<NodeRef> replicas;
  auto operator<=>(const Shard&) const = default;
};

// What the controller has verified and committed; the proxy follows it.
struct Topology {
  uint64_t epoch = 0;  // Increases by one with every commit.
  std::vector<Shard> shards;  // Sorted by master address.
  auto operator<=>(const Topology&) const = default;
};

}  // namespace rs::model
