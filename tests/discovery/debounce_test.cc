#include "discovery/debounce.h"

#include <chrono>
#include <set>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "discovery/membership.h"

namespace rs::discovery {
namespace {

using model::Member;

std::vector<Member> Members(std::initializer_list<int> ports) {
  std::vector<Member> out;
  for (int p : ports) {
    out.push_back(Member{static_cast<uint32_t>(p - 7000), "10.0.0.1:" + std::to_string(p), "h"});
  }
  return out;
}

class DebounceTest : public ::testing::Test {
 protected:
  DebounceOptions opts_{.removal_grace_ms = 30'000, .mass_removal_grace_ms = 120'000};
  MembershipDebounce d_{opts_, "test"};
  std::set<std::string> down_;  // Addresses the "prober" says are unreachable.
  ReachableFn reachable_ = [this](std::string_view a) { return !down_.count(std::string(a)); };

  std::optional<model::MembershipChanged> Offer(std::vector<Member> s, int64_t t) {
    return d_.Offer(std::move(s), t, reachable_);
  }
};

TEST_F(DebounceTest, AdditionsTakeEffectAtOnceAndOnlyOnChange) {
  auto e = Offer(Members({7001, 7002}), 0);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->members, Members({7001, 7002}));
  EXPECT_EQ(e->source, "test");
  EXPECT_FALSE(Offer(Members({7002, 7001}), 1000));
  e = Offer(Members({7001, 7002, 7003}), 2000);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->members, Members({7001, 7002, 7003}));
}

TEST_F(DebounceTest, EmptySnapshotIsIgnoredWhileNodesAnswer) {
  ASSERT_TRUE(Offer(Members({7001, 7002, 7003}), 0));
  EXPECT_FALSE(Offer({}, 1000));
  EXPECT_FALSE(d_.Tick(1000 + 10 * 120'000, reachable_));
  EXPECT_EQ(d_.wanted(), Members({7001, 7002, 7003}));
}

TEST_F(DebounceTest, EmptySnapshotFollowedByTheRealListChangesNothing) {
  ASSERT_TRUE(Offer(Members({7001, 7002, 7003}), 0));
  EXPECT_FALSE(Offer({}, 1000));
  EXPECT_FALSE(Offer(Members({7001, 7002, 7003}), 2000));
  EXPECT_TRUE(d_.PendingRemovals().empty());
}

TEST_F(DebounceTest, MassShrinkWaitsForGraceAndUnreachability) {
  ASSERT_TRUE(Offer(Members({7001, 7002, 7003, 7004}), 0));
  EXPECT_FALSE(Offer(Members({7001}), 1000));         // Drops 3 of 4.
  EXPECT_FALSE(d_.Tick(1000 + 120'000, reachable_));  // Persisted, but the nodes still answer.
  down_ = {"10.0.0.1:7002", "10.0.0.1:7003"};
  EXPECT_FALSE(d_.Tick(1000 + 121'000, reachable_));  // 7004 still answers.
  down_.insert("10.0.0.1:7004");
  EXPECT_FALSE(d_.Tick(1000 + 119'000, reachable_));  // Not yet persisted for the grace.
  auto e = d_.Tick(1000 + 122'000, reachable_);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->members, Members({7001}));
}

TEST_F(DebounceTest, MassShrinkTimerRestartsWhenTheFullListComesBack) {
  ASSERT_TRUE(Offer(Members({7001, 7002, 7003}), 0));
  down_ = {"10.0.0.1:7001", "10.0.0.1:7002", "10.0.0.1:7003"};
  EXPECT_FALSE(Offer({}, 0));
  EXPECT_FALSE(Offer(Members({7001, 7002, 7003}), 100'000));
  EXPECT_FALSE(Offer({}, 110'000));
  EXPECT_FALSE(d_.Tick(200'000, reachable_));  // Only 90 s of the new run.
  auto e = d_.Tick(230'000, reachable_);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->members.empty());
}

TEST_F(DebounceTest, OrdinaryRemovalHappensAfterTheGracePeriod) {
  ASSERT_TRUE(Offer(Members({7001, 7002, 7003}), 0));
  EXPECT_FALSE(Offer(Members({7001, 7002}), 1000));
  EXPECT_EQ(d_.PendingRemovals(), std::vector<std::string>{"10.0.0.1:7003"});
  EXPECT_FALSE(d_.Tick(30'999, reachable_));
  auto e = d_.Tick(31'000, reachable_);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->members, Members({7001, 7002}));
  EXPECT_FALSE(d_.Tick(60'000, reachable_));
}

TEST_F(DebounceTest, RemovalThatFlapsBackRestartsTheGrace) {
  ASSERT_TRUE(Offer(Members({7001, 7002, 7003}), 0));
  EXPECT_FALSE(Offer(Members({7001, 7002}), 0));
  EXPECT_FALSE(Offer(Members({7001, 7002, 7003}), 20'000));
  EXPECT_FALSE(Offer(Members({7001, 7002}), 25'000));
  EXPECT_FALSE(d_.Tick(50'000, reachable_));
  EXPECT_TRUE(d_.Tick(55'000, reachable_));
}

TEST_F(DebounceTest, AdditionDuringPendingRemovalKeepsTheOldMember) {
  ASSERT_TRUE(Offer(Members({7001, 7002, 7003}), 0));
  // Instance 3 restarted with a new address: the new one is added, the old one waits.
  auto e = Offer(Members({7001, 7002, 7004}), 0);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->members, Members({7001, 7002, 7003, 7004}));
  e = d_.Tick(30'000, reachable_);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->members, Members({7001, 7002, 7004}));
}

TEST_F(DebounceTest, RestoredSetIsNotReannouncedAndNotShrunkByAnEmptyStart) {
  d_.Restore(Members({7001, 7002}));
  EXPECT_FALSE(Offer(Members({7001, 7002}), 0));
  EXPECT_FALSE(Offer({}, 0));
  EXPECT_FALSE(d_.Tick(1'000'000, reachable_));
}

TEST_F(DebounceTest, HostLabelChangeIsEmittedAtOnce) {
  ASSERT_TRUE(Offer(Members({7001}), 0));
  auto s = Members({7001});
  s[0].host = "node7";
  auto e = Offer(s, 10);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->members[0].host, "node7");
}

// Membership runs the debounce on its injected clock: the grace passes when the fake clock is
// moved, with no sleeping and no loop (snapshots are handed in directly).
TEST(MembershipTest, RemovalWaitsOutTheGraceOnTheInjectedClock) {
  using namespace std::chrono_literals;
  FakeClock clock;
  std::vector<model::MembershipChanged> changes;
  Membership m(
      nullptr, DebounceOptions{.removal_grace_ms = 30'000, .mass_removal_grace_ms = 120'000},
      "test", [](std::string_view) { return true; },
      [&](model::EventPayload p) {
        changes.push_back(std::get<model::MembershipChanged>(std::move(p)));
      },
      clock);
  m.OnSnapshot(Members({7001, 7002, 7003}));
  ASSERT_EQ(changes.size(), 1u);
  m.OnSnapshot(Members({7001, 7002}));
  clock.Advance(29s);
  m.OnSnapshot(Members({7001, 7002}));
  EXPECT_EQ(changes.size(), 1u) << "removed before the grace ended";
  clock.Advance(1s);
  m.OnSnapshot(Members({7001, 7002}));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[1].members, Members({7001, 7002}));
}

}  // namespace
}  // namespace rs::discovery
