// Minimal-movement rebalance of slots over weighted masters, after redis-cli's
// clusterManagerCommandRebalance: expected share per weight, a threshold below which nothing
// moves, donors give to receivers from the most to the least unbalanced.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/types.h"

namespace rs::planner {

struct MasterLoad {
  std::string address;
  std::vector<model::SlotRange> slots;  // Canonical form.
  double weight = 1.0;                     // 0 drains the master.
};

struct SlotMove {
  std::string from;
  std::string to;
  std::vector<model::SlotRange> slots;  // Canonical form.
  auto operator<=>(const SlotMove&) const = default;
};

// Integer slot targets summing to the slots held now. Ties of the rounding go to the masters
// that already hold more (fewer moves), then by address, so targets are deterministic.
std::vector<uint32_t> TargetCounts(const std::vector<MasterLoad>& masters);

// True when some master is off its target by more than threshold_pct of its exact share, or a
// master of weight 0 still holds slots.
bool NeedsRebalance(const std::vector<MasterLoad>& masters, double threshold_pct);

// The moves that bring every master to its target, one per (from, to) pair, sorted by (from, to).
// Empty when NeedsRebalance is false. Moves exactly sum(max(0, held - target)) slots.
std::vector<SlotMove> Rebalance(const std::vector<MasterLoad>& masters, double threshold_pct);

// Lower bound on the slots any rebalance to within one slot of the exact shares must move.
uint32_t MinimumMoves(const std::vector<MasterLoad>& masters);

}  // namespace rs::planner
