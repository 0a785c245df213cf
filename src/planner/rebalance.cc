#include "planner/rebalance.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace rs::planner {
namespace {

using model::CountSlots;
using model::SlotRange;

struct Totals {
  uint32_t slots = 0;
  double weight = 0;
};

Totals Sum(const std::vector<MasterLoad>& masters) {
  Totals t;
  for (const MasterLoad& m : masters) {
    t.slots += CountSlots(m.slots);
    t.weight += std::max(0.0, m.weight);
  }
  return t;
}

double Exact(const MasterLoad& m, const Totals& t) {
  if (t.weight <= 0) return 0;
  return t.slots * std::max(0.0, m.weight) / t.weight;
}

// Takes `n` slots off the high end of `ranges` (keeps the donor's low ranges compact).
std::vector<SlotRange> TakeFromEnd(std::vector<SlotRange>& ranges, uint32_t n) {
  std::vector<SlotRange> taken;
  while (n > 0 && !ranges.empty()) {
    SlotRange& back = ranges.back();
    if (back.size() <= n) {
      n -= back.size();
      taken.push_back(back);
      ranges.pop_back();
    } else {
      uint16_t first = static_cast<uint16_t>(back.last - n + 1);
      taken.push_back({first, back.last});
      back.last = static_cast<uint16_t>(first - 1);
      n = 0;
    }
  }
  return model::NormalizeRanges(std::move(taken));
}

}  // namespace

std::vector<uint32_t> TargetCounts(const std::vector<MasterLoad>& masters) {
  Totals t = Sum(masters);
  std::vector<uint32_t> target(masters.size(), 0);
  if (t.weight <= 0) {
    for (size_t i = 0; i < masters.size(); ++i) target[i] = CountSlots(masters[i].slots);
    return target;
  }
  uint32_t assigned = 0;
  std::vector<double> frac(masters.size(), 0);
  for (size_t i = 0; i < masters.size(); ++i) {
    double exact = Exact(masters[i], t);
    target[i] = static_cast<uint32_t>(std::floor(exact + 1e-9));
    frac[i] = exact - target[i];
    assigned += target[i];
  }
  std::vector<size_t> order(masters.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (std::abs(frac[a] - frac[b]) > 1e-9) return frac[a] > frac[b];
    uint32_t ha = CountSlots(masters[a].slots), hb = CountSlots(masters[b].slots);
    if (ha != hb) return ha > hb;
    return masters[a].address < masters[b].address;
  });
  for (size_t k = 0; assigned < t.slots && k < order.size(); ++k) {
    if (masters[order[k]].weight <= 0) continue;
    ++target[order[k]];
    ++assigned;
  }
  return target;
}

bool NeedsRebalance(const std::vector<MasterLoad>& masters, double threshold_pct) {
  Totals t = Sum(masters);
  if (t.weight <= 0 || t.slots == 0) return false;
  std::vector<uint32_t> target = TargetCounts(masters);
  for (size_t i = 0; i < masters.size(); ++i) {
    uint32_t held = CountSlots(masters[i].slots);
    if (masters[i].weight <= 0 && held > 0) return true;
    double off = std::abs(static_cast<double>(held) - target[i]);
    if (off >= 1 && off > threshold_pct / 100.0 * Exact(masters[i], t)) return true;
  }
  return false;
}

std::vector<SlotMove> Rebalance(const std::vector<MasterLoad>& masters, double threshold_pct) {
  if (!NeedsRebalance(masters, threshold_pct)) return {};
  std::vector<uint32_t> target = TargetCounts(masters);
  struct Side {
    size_t index;
    uint32_t amount;
  };
  std::vector<Side> donors, receivers;
  for (size_t i = 0; i < masters.size(); ++i) {
    uint32_t held = CountSlots(masters[i].slots);
    if (held > target[i]) donors.push_back({i, held - target[i]});
    if (held < target[i]) receivers.push_back({i, target[i] - held});
  }
  auto by_amount = [&](const Side& a, const Side& b) {
    if (a.amount != b.amount) return a.amount > b.amount;
    return masters[a.index].address < masters[b.index].address;
  };
  std::sort(donors.begin(), donors.end(), by_amount);
  std::sort(receivers.begin(), receivers.end(), by_amount);

  std::vector<std::vector<SlotRange>> left(masters.size());
  for (const Side& d : donors) left[d.index] = masters[d.index].slots;
  std::vector<SlotMove> moves;
  size_t di = 0, ri = 0;
  while (di < donors.size() && ri < receivers.size()) {
    uint32_t n = std::min(donors[di].amount, receivers[ri].amount);
    SlotMove move;
    move.from = masters[donors[di].index].address;
    move.to = masters[receivers[ri].index].address;
    move.slots = TakeFromEnd(left[donors[di].index], n);
    moves.push_back(std::move(move));
    donors[di].amount -= n;
    receivers[ri].amount -= n;
    if (donors[di].amount == 0) ++di;
    if (receivers[ri].amount == 0) ++ri;
  }
  std::sort(moves.begin(), moves.end());
  return moves;
}

uint32_t MinimumMoves(const std::vector<MasterLoad>& masters) {
  Totals t = Sum(masters);
  if (t.weight <= 0) return 0;
  uint64_t over = 0, under = 0;
  for (const MasterLoad& m : masters) {
    double exact = Exact(m, t);
    double held = CountSlots(m.slots);
    over += static_cast<uint64_t>(std::max(0.0, held - std::ceil(exact - 1e-9)));
    under += static_cast<uint64_t>(std::max(0.0, std::floor(exact + 1e-9) - held));
  }
  return static_cast<uint32_t>(std::max(over, under));
}

}  // namespace rs::planner
