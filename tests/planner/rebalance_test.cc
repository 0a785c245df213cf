#include "planner/rebalance.h"

#include <gtest/gtest.h>

#include "planner/layout.h"

namespace rs::planner {
namespace {

using model::CountSlots;
using model::SlotRange;

std::vector<MasterLoad> Even(int n) {
  std::vector<MasterLoad> out;
  for (int i = 0; i < n; ++i) {
    uint16_t first = static_cast<uint16_t>(i * 16384 / n);
    uint16_t last = static_cast<uint16_t>((i + 1) * 16384 / n - 1);
    out.push_back({"10.0.0." + std::to_string(i) + ":7000", {{first, last}}, 1.0});
  }
  return out;
}

uint32_t Moved(const std::vector<SlotMove>& moves) {
  uint32_t n = 0;
  for (const SlotMove& m : moves) n += CountSlots(m.slots);
  return n;
}

TEST(RebalanceTest, BalancedMastersMoveNothing) {
  EXPECT_TRUE(Rebalance(Even(3), 2).empty());
  EXPECT_TRUE(Rebalance(Even(7), 0.1).empty());
}

TEST(RebalanceTest, NewEmptyMasterReceivesItsShareFromEveryone) {
  auto loads = Even(3);
  loads.push_back({"10.0.0.9:7000", {}, 1.0});
  auto moves = Rebalance(loads, 2);
  EXPECT_EQ(Moved(moves), 4096u);
  EXPECT_EQ(Moved(moves), MinimumMoves(loads));
  EXPECT_EQ(moves.size(), 3u);  // One step per (source, destination) pair.
  for (const SlotMove& m : moves) EXPECT_EQ(m.to, "10.0.0.9:7000");
}

TEST(RebalanceTest, ImbalanceBelowThresholdMovesNothing) {
  std::vector<MasterLoad> loads = {{"a:1", {{0, 8200}}, 1.0}, {"b:1", {{8201, 16383}}, 1.0}};
  EXPECT_TRUE(Rebalance(loads, 2).empty());  // 8201 vs 8183: 0.1% off.
  EXPECT_FALSE(Rebalance(loads, 0.01).empty());
}

TEST(RebalanceTest, DrainedMasterSpreadsOverAllOthers) {
  auto loads = Even(5);
  loads[2].weight = 0;
  auto moves = Rebalance(loads, 2);
  EXPECT_EQ(moves.size(), 4u);
  for (const SlotMove& m : moves) {
    EXPECT_EQ(m.from, loads[2].address);
    EXPECT_GE(CountSlots(m.slots), 819u);
    EXPECT_LE(CountSlots(m.slots), 820u);
  }
}

TEST(RebalanceTest, WeightsSetTheShares) {
  std::vector<MasterLoad> loads = {{"a:1", {{0, 8191}}, 3.0}, {"b:1", {{8192, 16383}}, 1.0}};
  auto moves = Rebalance(loads, 2);
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].from, "b:1");
  EXPECT_EQ(CountSlots(moves[0].slots), 4096u);
}

TEST(RebalanceTest, TargetsSumToTheSlotsHeldAndMovesAreMinimal) {
  for (int n = 2; n < 40; n += 3) {
    auto loads = Even(n);
    loads.push_back({"z:1", {}, 1.0});
    loads.push_back({"z:2", {}, 1.0});
    auto targets = TargetCounts(loads);
    uint32_t sum = 0;
    for (uint32_t t : targets) sum += t;
    EXPECT_EQ(sum, 16384u);
    auto moves = Rebalance(loads, 2);
    EXPECT_LE(Moved(moves), MinimumMoves(loads) * 105 / 100) << n;
  }
}

TEST(RebalanceTest, MovedSlotsComeFromTheSourceAndStayCanonical) {
  std::vector<MasterLoad> loads = {{"a:1", {{0, 10}, {100, 16383}}, 1.0}, {"b:1", {}, 1.0}};
  for (const SlotMove& m : Rebalance(loads, 2)) {
    EXPECT_EQ(m.slots, model::NormalizeRanges(m.slots));
    EXPECT_TRUE(SubtractRanges(m.slots, loads[0].slots).empty());
  }
}

}  // namespace
}  // namespace rs::planner
