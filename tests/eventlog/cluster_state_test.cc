#include "model/cluster_state.h"

#include <random>
#include <set>

#include <gtest/gtest.h>

#include "event_gen.h"
#include "eventlog/event_codec.h"

namespace rs::model {
namespace {

class FoldTest : public ::testing::Test {
 protected:
  void Fold(EventPayload payload) {
    Event e;
    e.seq = ++seq_;
    e.time_ms = 1000 + seq_;
    e.payload = std::move(payload);
    s_ = Apply(std::move(s_), e);
  }
  static Plan TwoStepPlan(uint64_t id) {
    Plan p;
    p.id = id;
    p.reason = "test";
    p.steps.resize(2);
    p.steps[0].kind = StepKind::kMigrate;
    return p;
  }
  Seq seq_ = 0;
  ClusterState s_;
};

TEST_F(FoldTest, MembershipReplacesTheWholeSet) {
  Fold(MembershipChanged{{Member{1, "a:1", "h1"}, Member{2, "b:1", "h2"}}, "static"});
  Fold(MembershipChanged{{Member{3, "c:1", "h3"}}, "static"});
  ASSERT_EQ(s_.members.size(), 1u);
  EXPECT_EQ(s_.members.begin()->first, "c:1");
  EXPECT_EQ(s_.membership_seq, 2u);
  EXPECT_EQ(s_.last_seq, 2u);
  EXPECT_EQ(s_.last_time_ms, 1002);
}

TEST_F(FoldTest, MembershipSeqMovesOnlyWhenMembersAreAddedOrRemoved) {
  Fold(MembershipChanged{{Member{1, "a:1", "h1"}, Member{2, "b:1", "h2"}}, "file:m"});
  EXPECT_EQ(s_.membership_seq, 1u);
  // Same addresses, other line numbers and a new host label: folded, but no membership change.
  Fold(MembershipChanged{{Member{7, "a:1", "h1"}, Member{8, "b:1", "h9"}}, "file:m"});
  EXPECT_EQ(s_.members.at("b:1").instance, 8u);
  EXPECT_EQ(s_.members.at("b:1").host, "h9");
  EXPECT_EQ(s_.membership_seq, 1u);
  Fold(MembershipChanged{{Member{7, "a:1", "h1"}}, "file:m"});
  EXPECT_EQ(s_.membership_seq, 3u);
  Fold(MembershipChanged{{Member{7, "a:1", "h1"}, Member{8, "c:1", "h3"}}, "file:m"});
  EXPECT_EQ(s_.membership_seq, 4u);
}

TEST_F(FoldTest, HealthAndObservationsAreKeptPerAddress) {
  Fold(NodeHealthChanged{"a:1", NodeHealth{Health::kUp, HealthReason::kNone, "", 1}});
  Fold(NodeHealthChanged{"b:1", NodeHealth{Health::kDown, HealthReason::kRefused, "x", 2}});
  Fold(NodeHealthChanged{"a:1", NodeHealth{Health::kSuspect, HealthReason::kTimeout, "", 3}});
  NodeObservation o;
  o.id = "n1";
  o.role = Role::kMaster;
  Fold(NodeObserved{"a:1", o});
  EXPECT_EQ(s_.health.at("a:1").health, Health::kSuspect);
  EXPECT_EQ(s_.health.at("b:1").reason, HealthReason::kRefused);
  EXPECT_EQ(s_.observed.at("a:1").id, "n1");
}

TEST_F(FoldTest, UnknownHealthMeansNoLongerTrackedAndDropsWhatWasKnownOfTheNode) {
  Fold(NodeHealthChanged{"a:1", NodeHealth{Health::kDown, HealthReason::kRefused, "", 1}});
  Fold(NodeHealthChanged{"b:1", NodeHealth{Health::kUp, HealthReason::kNone, "", 1}});
  NodeObservation o;
  o.id = "n1";
  Fold(NodeObserved{"a:1", o});
  Fold(NodeObserved{"b:1", o});
  Fold(NodeHealthChanged{"a:1", NodeHealth{Health::kUnknown, HealthReason::kNone,
                                           "no longer probed", 2}});
  EXPECT_FALSE(s_.health.contains("a:1"));
  EXPECT_FALSE(s_.observed.contains("a:1"));
  EXPECT_TRUE(s_.health.contains("b:1"));
  EXPECT_TRUE(s_.observed.contains("b:1"));
  // Probed again later: tracked again.
  Fold(NodeHealthChanged{"a:1", NodeHealth{Health::kUp, HealthReason::kNone, "", 3}});
  EXPECT_EQ(s_.health.at("a:1").health, Health::kUp);
}

TEST_F(FoldTest, OperatorRequestsGetIdsAndWaitUntilAPlanOrRejectionAnswersThem) {
  OperatorRequest q;
  q.kind = OperatorKind::kMigrate;
  Fold(OperatorRequested{q});
  Fold(OperatorRequested{q});
  ASSERT_EQ(s_.pending_requests.size(), 2u);
  EXPECT_EQ(s_.pending_requests[0].id, 1u);
  EXPECT_EQ(s_.pending_requests[1].id, 2u);
  Fold(OperatorRejected{1, "no"});
  ASSERT_EQ(s_.pending_requests.size(), 1u);
  Fold(PlanProposed{TwoStepPlan(1), 2});
  EXPECT_TRUE(s_.pending_requests.empty());
  EXPECT_EQ(s_.next_request_id, 3u);
}

TEST_F(FoldTest, ARemovalAnsweredByAPlanRetiresTheMemberUntilAddedBackOrGone) {
  Fold(MembershipChanged{{Member{1, "a:1", "h1"}, Member{2, "b:1", "h2"}}, "lainlet"});
  OperatorRequest remove;
  remove.kind = OperatorKind::kRemoveNode;
  remove.node = "a:1";
  // Rejected: nothing is retired.
  Fold(OperatorRequested{remove});
  Fold(OperatorRejected{1, "a:1 holds slots and is not up"});
  EXPECT_TRUE(s_.retired.empty());
  // Answered by a plan: retired, and it stays so after the plan fails.
  Fold(OperatorRequested{remove});
  Fold(PlanProposed{TwoStepPlan(1), 2});
  EXPECT_EQ(s_.retired, std::set<std::string>{"a:1"});
  Fold(PlanFinished{1, PlanOutcome::kFailed, "step 1 failed"});
  EXPECT_EQ(s_.retired, std::set<std::string>{"a:1"});
  // A membership change that still lists it keeps it retired; add-node ends it.
  Fold(MembershipChanged{{Member{1, "a:1", "h1"}, Member{2, "b:1", "h2"}, Member{3, "c:1", "h3"}},
                         "lainlet"});
  EXPECT_EQ(s_.retired, std::set<std::string>{"a:1"});
  OperatorRequest add;
  add.kind = OperatorKind::kAddNode;
  add.node = "a:1";
  Fold(OperatorRequested{add});
  EXPECT_TRUE(s_.retired.empty());
  ASSERT_EQ(s_.pending_requests.size(), 1u);  // The planner still answers the add-node.
  // Retired again, then discovery stops listing it: the retirement ends with the instance.
  remove.node = "b:1";
  Fold(OperatorRequested{remove});
  Fold(PlanProposed{TwoStepPlan(2), 4});
  EXPECT_EQ(s_.retired, std::set<std::string>{"b:1"});
  Fold(MembershipChanged{{Member{1, "a:1", "h1"}}, "lainlet"});
  EXPECT_TRUE(s_.retired.empty());
  // Removing an address discovery does not list retires nothing.
  remove.node = "z:1";
  Fold(OperatorRequested{remove});
  Fold(PlanProposed{TwoStepPlan(3), 5});
  EXPECT_TRUE(s_.retired.empty());
}

TEST_F(FoldTest, PauseAndResumeToggleTheFlagWithoutQueueingARequest) {
  OperatorRequest q;
  q.kind = OperatorKind::kPause;
  Fold(OperatorRequested{q});
  EXPECT_TRUE(s_.paused);
  q.kind = OperatorKind::kResume;
  Fold(OperatorRequested{q});
  EXPECT_FALSE(s_.paused);
  EXPECT_TRUE(s_.pending_requests.empty());
}

TEST_F(FoldTest, AbortMarksOnlyTheMatchingPlan) {
  Fold(PlanProposed{TwoStepPlan(5), 0});
  OperatorRequest q;
  q.kind = OperatorKind::kAbort;
  q.plan_id = 4;
  Fold(OperatorRequested{q});
  EXPECT_FALSE(s_.plan->abort_requested);
  q.plan_id = 5;
  Fold(OperatorRequested{q});
  EXPECT_TRUE(s_.plan->abort_requested);
}

TEST_F(FoldTest, PlanLifecycleTracksStepStatusProgressAndOutcome) {
  Fold(PlanProposed{TwoStepPlan(3), 0});
  ASSERT_TRUE(s_.plan);
  EXPECT_EQ(s_.plan->proposed_seq, 1u);
  EXPECT_EQ(s_.next_plan_id, 4u);
  Fold(StepStarted{3, 0});
  EXPECT_EQ(s_.plan->status[0], StepStatus::kRunning);
  Fold(StepProgress{3, 0, {{10, 20}}, 5});
  Fold(StepProgress{3, 0, {{21, 30}, {0, 0}}, 7});
  EXPECT_EQ(s_.plan->slots_done[0], (std::vector<SlotRange>{{0, 0}, {10, 30}}));
  EXPECT_EQ(s_.plan->keys_moved[0], 12u);
  Fold(StepCompleted{3, 0});
  Fold(StepFailed{3, 1, "BUSYKEY"});
  EXPECT_EQ(s_.plan->status[0], StepStatus::kDone);
  EXPECT_EQ(s_.plan->status[1], StepStatus::kFailed);
  EXPECT_EQ(s_.plan->error, "BUSYKEY");
  Fold(PlanFinished{3, PlanOutcome::kFailed, "step 2 failed"});
  EXPECT_FALSE(s_.plan);
  ASSERT_EQ(s_.plan_history.size(), 1u);
  EXPECT_EQ(s_.plan_history[0].outcome, PlanOutcome::kFailed);
  EXPECT_EQ(s_.plan_history[0].proposed_seq, 1u);
  EXPECT_EQ(s_.plan_history[0].finished_seq, 7u);
}

TEST_F(FoldTest, ANewPlanSupersedesThePlanInFlight) {
  Fold(PlanProposed{TwoStepPlan(1), 0});
  Fold(PlanProposed{TwoStepPlan(2), 0});
  ASSERT_EQ(s_.plan_history.size(), 1u);
  EXPECT_EQ(s_.plan_history[0].outcome, PlanOutcome::kSuperseded);
  EXPECT_EQ(s_.plan->plan.id, 2u);
}

TEST_F(FoldTest, StepsOfAnotherPlanOrOutOfRangeAreIgnored) {
  Fold(PlanProposed{TwoStepPlan(1), 0});
  ClusterState before = s_;
  Fold(StepStarted{2, 0});
  Fold(StepCompleted{1, 9});
  Fold(PlanFinished{7, PlanOutcome::kCompleted, ""});
  before.last_seq = s_.last_seq;
  before.last_time_ms = s_.last_time_ms;
  EXPECT_TRUE(s_ == before);
}

TEST_F(FoldTest, PlanHistoryIsBounded) {
  for (uint64_t id = 1; id <= ClusterState::kMaxPlanHistory + 10; ++id) {
    Fold(PlanProposed{TwoStepPlan(id), 0});
    Fold(PlanFinished{id, PlanOutcome::kCompleted, ""});
  }
  EXPECT_EQ(s_.plan_history.size(), ClusterState::kMaxPlanHistory);
  EXPECT_EQ(s_.plan_history.front().id, 11u);
}

TEST_F(FoldTest, AStaleTopologyCommitDoesNotRollBack) {
  Topology t;
  t.epoch = 9;
  t.shards.push_back(Shard{NodeRef{"a:1", "x"}, {{0, 16383}}, {}});
  Fold(TopologyCommitted{t});
  Topology old;
  old.epoch = 8;
  Fold(TopologyCommitted{old});
  EXPECT_EQ(s_.topology, t);
  t.epoch = 10;
  Fold(TopologyCommitted{t});
  EXPECT_EQ(s_.topology.epoch, 10u);
}

TEST_F(FoldTest, DiscoveryIsReachableUntilToldOtherwiseAndKeepsTheLastReasonAndTime) {
  EXPECT_TRUE(s_.discovery_reachable);
  Fold(DiscoveryStatusChanged{"lainlet:x", false, "connect x: connection refused"});
  EXPECT_FALSE(s_.discovery_reachable);
  EXPECT_EQ(s_.discovery_reason, "connect x: connection refused");
  EXPECT_EQ(s_.discovery_since_ms, 1001);
  // Nothing else of the state moves: members stay as they were.
  Fold(MembershipChanged{{Member{1, "a:1", "h1"}}, "lainlet:x"});
  Fold(DiscoveryStatusChanged{"lainlet:x", true, "init on the watch"});
  EXPECT_TRUE(s_.discovery_reachable);
  EXPECT_EQ(s_.discovery_reason, "init on the watch");
  EXPECT_EQ(s_.discovery_since_ms, 1003);
  EXPECT_EQ(s_.members.size(), 1u);
  EXPECT_EQ(s_.membership_seq, 2u);
}

TEST(FoldPropertyTest, FoldingTheSameEventsTwiceGivesByteIdenticalSnapshots) {
  for (uint64_t seed : {1, 2, 3}) {
    std::vector<Event> events = eventlog::testing::EventGen(seed).Take(5000);
    ClusterState a, b;
    for (const Event& e : events) a = Apply(std::move(a), e);
    for (const Event& e : events) b = Apply(std::move(b), e);
    EXPECT_EQ(eventlog::EncodeState(a), eventlog::EncodeState(b)) << "seed " << seed;
  }
}

TEST(FoldPropertyTest, SnapshotPlusTailEqualsTheFullFold) {
  std::mt19937_64 rng(99);
  for (uint64_t seed = 10; seed < 30; ++seed) {
    std::vector<Event> events = eventlog::testing::EventGen(seed).Take(2000);
    ClusterState full;
    for (const Event& e : events) full = Apply(std::move(full), e);
    size_t split = std::uniform_int_distribution<size_t>(0, events.size())(rng);
    ClusterState prefix;
    for (size_t i = 0; i < split; ++i) prefix = Apply(std::move(prefix), events[i]);
    auto restored = eventlog::DecodeState(eventlog::EncodeState(prefix));
    ASSERT_TRUE(restored.ok());
    ClusterState resumed = std::move(restored).value();
    for (size_t i = split; i < events.size(); ++i) resumed = Apply(std::move(resumed), events[i]);
    ASSERT_TRUE(resumed == full) << "seed " << seed << " split " << split;
  }
}

}  // namespace
}  // namespace rs::model
