// Which plan steps the executor may run at once (step_order.h), table-driven.
#include "executor/step_order.h"

#include <gtest/gtest.h>

namespace rs::executor {
namespace {

using model::Step;
using model::StepKind;

Step S(StepKind kind, const std::string& target, const std::string& peer = "") {
  Step s;
  s.kind = kind;
  s.target = {target, "id-" + target};
  if (!peer.empty()) s.peer = {peer, "id-" + peer};
  return s;
}

constexpr auto kEpoch = StepKind::kSetConfigEpoch;
constexpr auto kAssign = StepKind::kAssignSlots;
constexpr auto kMeet = StepKind::kMeet;
constexpr auto kReplicate = StepKind::kReplicate;
constexpr auto kMigrate = StepKind::kMigrate;

TEST(StepOrderTest, IndependentStepsOfABootstrapRunAtOnce) {
  // Distinct nodes: their epochs, their slots.
  EXPECT_FALSE(MustFollow(S(kEpoch, "a"), S(kEpoch, "b")));
  EXPECT_FALSE(MustFollow(S(kAssign, "a"), S(kAssign, "b")));
  EXPECT_FALSE(MustFollow(S(kEpoch, "a"), S(kAssign, "b")));
  // Distinct nodes meeting one member; replicas of one master.
  EXPECT_FALSE(MustFollow(S(kMeet, "b", "a"), S(kMeet, "c", "a")));
  EXPECT_FALSE(MustFollow(S(kReplicate, "d", "a"), S(kReplicate, "e", "a")));
  // A replica attaching while other nodes meet.
  EXPECT_FALSE(MustFollow(S(kMeet, "c", "a"), S(kReplicate, "d", "b")));
  // Sources feeding one destination.
  EXPECT_FALSE(MustFollow(S(kMigrate, "a", "c"), S(kMigrate, "b", "c")));
}

TEST(StepOrderTest, ANodesStepsKeepThePlansOrder) {
  EXPECT_TRUE(MustFollow(S(kEpoch, "a"), S(kAssign, "a")));
  EXPECT_TRUE(MustFollow(S(kAssign, "b"), S(kMeet, "b", "a")));
  // The member met must hold its slots first, and a replica its meet.
  EXPECT_TRUE(MustFollow(S(kAssign, "a"), S(kMeet, "b", "a")));
  EXPECT_TRUE(MustFollow(S(kMeet, "d", "a"), S(kReplicate, "d", "b")));
  // A replica's master: its meet and its slots first.
  EXPECT_TRUE(MustFollow(S(kMeet, "b", "a"), S(kReplicate, "d", "b")));
  EXPECT_TRUE(MustFollow(S(kAssign, "b"), S(kReplicate, "d", "b")));
  // A node that is the peer of one and the target of the other.
  EXPECT_TRUE(MustFollow(S(kMeet, "b", "a"), S(kMeet, "c", "b")));
  EXPECT_TRUE(MustFollow(S(kMigrate, "a", "b"), S(kMigrate, "b", "c")));
  EXPECT_TRUE(MustFollow(S(kMigrate, "a", "b"), S(kMigrate, "a", "c")));
}

TEST(StepOrderTest, EveryEpochIsSetBeforeAnyMeet) {
  // A node refuses SET-CONFIG-EPOCH once it knows another, and a meet spreads by gossip.
  EXPECT_TRUE(MustFollow(S(kEpoch, "z"), S(kMeet, "b", "a")));
  EXPECT_TRUE(MustFollow(S(kMeet, "b", "a"), S(kEpoch, "z")));
}

TEST(StepOrderTest, MigratesRunOnlyBesideMigrates) {
  EXPECT_TRUE(MustFollow(S(kMeet, "c", "a"), S(kMigrate, "a", "b")));
  EXPECT_TRUE(MustFollow(S(kMigrate, "a", "b"), S(kReplicate, "d", "c")));
}

TEST(StepOrderTest, OtherKindsRunAlone) {
  for (StepKind alone : {StepKind::kFailover, StepKind::kForget, StepKind::kReset,
                         StepKind::kFixOpenSlot, StepKind::kCommitTopology, StepKind::kUnknown}) {
    EXPECT_FALSE(RunsBesideOthers(alone));
    EXPECT_TRUE(MustFollow(S(kEpoch, "a"), S(alone, "z")));
    EXPECT_TRUE(MustFollow(S(alone, "z"), S(kEpoch, "a")));
  }
}

}  // namespace
}  // namespace rs::executor
