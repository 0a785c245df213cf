#include "proxy/slot_move_log.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <initializer_list>
#include <utility>

namespace rs::proxy {
namespace {

struct Range {
  int first;
  int last;
  const char* master;
};

RoutingTablePtr Table(std::initializer_list<Range> ranges) {
  auto t = std::make_shared<RoutingTable>();
  for (const Range& r : ranges) {
    int16_t i = t->AddMaster(r.master);
    for (int s = r.first; s <= r.last; ++s) t->owner[s] = i;
  }
  return t;
}

constexpr const char* kA = "127.0.0.1:7001";
constexpr const char* kB = "127.0.0.1:7002";
constexpr const char* kC = "127.0.0.1:7003";

TEST(SlotMoveLogTest, DiffListsSlotsWhoseMasterChanged) {
  auto before = Table({{0, 8191, kA}, {8192, 16383, kB}});
  // Masters listed in another order: only owners count, not indexes.
  auto after = Table({{8192, 16383, kB}, {0, 8189, kA}, {8190, 8190, kC}});
  EXPECT_EQ(DiffOwners(*before, *after), (std::vector<SlotMove>{{8190, kA, kC}, {8191, kA, ""}}));
  EXPECT_TRUE(DiffOwners(*after, *after).empty());
}

TEST(SlotMoveLogTest, MovedPatchIsAMoveOnlyWhenTheTableDidNotKnow) {
  auto t = Table({{0, 16383, kA}});
  EXPECT_EQ(MovedPatch(*t, 5, kA), std::nullopt);
  EXPECT_EQ(MovedPatch(*t, 5, kB), (SlotMove{5, kA, kB}));
  EXPECT_EQ(MovedPatch(RoutingTable(), 5, kB), (SlotMove{5, "", kB}));
}

TEST(SlotMoveLogTest, FirstTableAppendsNothingAndInternsItsMasters) {
  AddressRegistry registry;
  SlotMoveLog log(&registry, 100);
  EXPECT_EQ(log.Latest().table, nullptr);
  ASSERT_TRUE(log.Publish(Table({{0, 8191, kA}, {8192, 16383, kB}})).ok());
  SlotMoveLog::View v = log.Latest();
  EXPECT_NE(v.table, nullptr);
  EXPECT_EQ(v.version, 100u);
  EXPECT_TRUE(registry.Find(kA) && registry.Find(kB));
}

TEST(SlotMoveLogTest, VersionGrowsByOnePerBatchThatMovedSomething) {
  AddressRegistry registry;
  SlotMoveLog log(&registry, 7);
  ASSERT_TRUE(log.Publish(Table({{0, 16383, kA}})).ok());
  ASSERT_TRUE(log.Publish(Table({{0, 9, kB}, {10, 16383, kA}})).ok());  // ten moves, one batch
  EXPECT_EQ(log.Latest().version, 8u);
  ASSERT_TRUE(log.Publish(Table({{0, 9, kB}, {10, 16383, kA}})).ok());  // nothing moved
  ASSERT_TRUE(log.PatchSlot(20, kA).ok());                              // already known
  EXPECT_EQ(log.Latest().version, 8u);
  ASSERT_TRUE(log.PatchSlot(20, kC).ok());
  SlotMoveLog::View v = log.Latest();
  EXPECT_EQ(v.version, 9u);
  EXPECT_EQ(*v.table->OwnerOf(20), kC);
  EXPECT_EQ(*v.table->OwnerOf(0), kB);
}

TEST(SlotMoveLogTest, SinceGivesTheMovesAfterAVersionWithTheirAddresses) {
  AddressRegistry registry;
  SlotMoveLog log(&registry);
  ASSERT_TRUE(log.Publish(Table({{0, 16383, kA}})).ok());
  ASSERT_TRUE(log.PatchSlot(1, kB).ok());                                          // version 1
  ASSERT_TRUE(log.Publish(Table({{0, 0, kA}, {1, 2, kC}, {3, 16383, kA}})).ok());  // 2
  SlotMoveLog::View v = log.Since(1);
  ASSERT_TRUE(v.known);
  EXPECT_EQ(v.version, 2u);
  ASSERT_EQ(v.moves.size(), 2u);
  EXPECT_EQ(v.moves[0].slot, 1);
  EXPECT_EQ(registry.Lookup(v.moves[0].from_id), kB);
  EXPECT_EQ(registry.Lookup(v.moves[0].to_id), kC);
  EXPECT_EQ(v.moves[1].slot, 2);
  EXPECT_EQ(registry.Lookup(v.moves[1].from_id), kA);
  EXPECT_EQ(v.moves[1].version, 2u);
  EXPECT_EQ(log.Since(0).moves.size(), 3u);
  EXPECT_TRUE(log.Since(2).known);
  EXPECT_TRUE(log.Since(2).moves.empty());
  EXPECT_FALSE(log.Since(3).known);  // never handed out
}

TEST(SlotMoveLogTest, UnassignedSlotsMoveFromAndToNoMaster) {
  AddressRegistry registry;
  SlotMoveLog log(&registry);
  ASSERT_TRUE(log.Publish(Table({{0, 16383, kA}})).ok());
  ASSERT_TRUE(log.Publish(Table({{1, 16383, kA}})).ok());
  ASSERT_TRUE(log.PatchSlot(0, kB).ok());
  SlotMoveLog::View v = log.Since(0);
  ASSERT_EQ(v.moves.size(), 2u);
  EXPECT_EQ(v.moves[0].to_id, AddressRegistry::kNoId);
  EXPECT_EQ(v.moves[1].from_id, AddressRegistry::kNoId);
}

TEST(SlotMoveLogTest, VersionsWhoseMovesFellOutOfTheRingAreUnknown) {
  AddressRegistry registry;
  SlotMoveLog log(&registry, 0, /*capacity=*/4);
  ASSERT_TRUE(log.Publish(Table({{0, 16383, kA}})).ok());
  ASSERT_TRUE(log.Publish(Table({{0, 2, kB}, {3, 16383, kA}})).ok());  // 1: three moves
  ASSERT_TRUE(log.PatchSlot(10, kB).ok());                             // 2
  EXPECT_TRUE(log.Since(0).known);
  ASSERT_TRUE(log.PatchSlot(11, kB).ok());  // 3: five moves kept would be one too many
  EXPECT_FALSE(log.Since(0).known);
  EXPECT_TRUE(log.Since(1).known);
  EXPECT_EQ(log.Since(1).moves.size(), 2u);
}

TEST(SlotMoveLogTest, CursorVersionBitsResolveToTheLatestVersionKept) {
  AddressRegistry registry;
  const uint64_t first = (uint64_t{1} << 40) - 3;  // the low 14 bits wrap after three batches
  SlotMoveLog log(&registry, first);
  ASSERT_TRUE(log.Publish(Table({{0, 16383, kA}})).ok());
  for (int s = 0; s < 5; ++s) ASSERT_TRUE(log.PatchSlot(s, kB).ok());
  EXPECT_EQ(log.Latest().version, first + 5);
  for (uint64_t v = first; v <= first + 5; ++v) {
    SlotMoveLog::View view = log.SinceCursorVersion(v & ScanCursor::kVersionMask);
    ASSERT_TRUE(view.known) << v;
    EXPECT_EQ(view.moves.size(), first + 5 - v) << v;
  }
  EXPECT_FALSE(log.SinceCursorVersion((first - 1) & ScanCursor::kVersionMask).known);
  EXPECT_FALSE(log.SinceCursorVersion((first + 6) & ScanCursor::kVersionMask).known);
}

// Two versions kept that agree in the cursor's 14 bits would make a cursor ambiguous.
TEST(SlotMoveLogTest, KeepsFewerBatchesThanCursorVersionsCanTellApart) {
  AddressRegistry registry;
  SlotMoveLog log(&registry);
  ASSERT_TRUE(log.Publish(Table({{0, 16383, kA}})).ok());
  for (uint64_t i = 0; i < SlotMoveLog::kMaxBatches + 1; ++i) {
    ASSERT_TRUE(log.PatchSlot(0, i % 2 == 0 ? kB : kA).ok());
  }
  uint64_t now = log.Latest().version;
  EXPECT_EQ(now, SlotMoveLog::kMaxBatches + 1);
  // Version 0 has the same low 14 bits as `now`: it must be gone, not read as "now".
  EXPECT_FALSE(log.Since(0).known);
  SlotMoveLog::View oldest = log.SinceCursorVersion(1);
  ASSERT_TRUE(oldest.known);
  EXPECT_EQ(oldest.moves.size(), SlotMoveLog::kMaxBatches);
}

TEST(SlotMoveLogTest, AMoveWithoutAnAddressIdForgetsEveryEarlierVersion) {
  AddressRegistry registry;
  SlotMoveLog log(&registry);
  ASSERT_TRUE(log.Publish(Table({{0, 16383, kA}})).ok());
  ASSERT_TRUE(log.PatchSlot(0, kB).ok());
  for (size_t i = registry.size(); i < AddressRegistry::kCapacity; ++i) {
    ASSERT_TRUE(registry.Intern(fmt::format("filler:{}", i)).ok());
  }
  Status s = log.PatchSlot(1, kC);
  EXPECT_FALSE(s.ok());
  SlotMoveLog::View v = log.Latest();
  EXPECT_EQ(v.version, 2u);
  EXPECT_EQ(*v.table->OwnerOf(1), kC);  // the table is taken all the same
  EXPECT_FALSE(log.Since(1).known);
  EXPECT_TRUE(log.Since(2).known);
}

}  // namespace
}  // namespace rs::proxy
