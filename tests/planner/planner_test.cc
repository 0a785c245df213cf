// Table tests: one behaviour each, on states produced by the simulated cluster.
#include "planner/planner.h"

#include <gtest/gtest.h>

#include <set>

#include "planner/layout.h"
#include "planner/sim_cluster.h"

namespace rs::planner {
namespace {

using model::FailoverMode;
using model::OperatorKind;
using model::OperatorRequest;
using model::Plan;
using model::StepKind;
using sim::SimCluster;

std::vector<model::Step> StepsOf(const Plan& p, StepKind kind) {
  std::vector<model::Step> out;
  for (const auto& s : p.steps) {
    if (s.kind == kind) out.push_back(s);
  }
  return out;
}

uint32_t MovedSlots(const Plan& p) {
  uint32_t n = 0;
  for (const auto& s : StepsOf(p, StepKind::kMigrate)) n += model::CountSlots(s.slots);
  return n;
}

class PlannerTest : public ::testing::Test {
 protected:
  // The simulated nodes know each other at once and time stands still between rounds: each table
  // test is about one behaviour, not the wait for gossip to settle (SettleTest below is).
  PlannerTest() { policy_.settle_ms = 0; }

  // `masters` masters and `replicas` replicas over `hosts` hosts, formed and adopted.
  void Formed(int masters, int replicas, int hosts) {
    std::vector<std::string> m, r;
    for (int i = 0; i < masters; ++i) m.push_back(sim_.AddNode(Host(i % hosts)));
    for (int i = 0; i < replicas; ++i) r.push_back(sim_.AddNode(Host((i + 1) % hosts)));
    sim_.Form(m, r);
    masters_ = m;
    replicas_ = r;
    Settle();
  }

  static std::string Host(int i) { return "10.0.0." + std::to_string(i + 1); }

  // The simulated replicas of `master`, in address order.
  std::vector<std::string> ReplicasOf(const std::string& master) {
    std::vector<std::string> reps;
    for (const auto& [addr, n] : sim_.nodes()) {
      if (!n.master && n.master_address == master) reps.push_back(addr);
    }
    return reps;
  }

  Decision Next() {
    sim_.Sync();
    return Make(sim_.state(), policy_);
  }

  // Plans and executes until the planner has nothing more to do.
  void Settle() {
    for (int i = 0, waits = 0; i < 20; ++i) {
      Decision d = Next();
      // Waiting for the reported layout to settle: the next probe round, half a second later.
      if (d.kind == DecisionKind::kNothing && d.reason.rfind("waiting for the", 0) == 0 &&
          ++waits < 100) {
        sim_.Advance(500);
        --i;
        continue;
      }
      if (d.kind == DecisionKind::kReject) {
        sim_.Emit(model::OperatorRejected{d.request_id, d.reason});
        continue;
      }
      if (d.kind != DecisionKind::kPlan) return;
      Status s = sim_.Execute(d.plan, d.request_id);
      ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << DecisionToString(d);
    }
    FAIL() << "the planner does not settle";
  }

  // An operator's migration of `count` slots from masters_[0] to masters_[1], carried out.
  void OperatorMigrates(uint32_t count) {
    OperatorRequest r;
    r.kind = OperatorKind::kMigrate;
    r.from = masters_[0];
    r.to = masters_[1];
    r.count = count;
    sim_.Request(r);
    Decision d = Next();
    ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
    ASSERT_TRUE(sim_.Execute(d.plan, d.request_id).ok());
  }

  SimCluster sim_{7};
  Policy policy_;
  std::vector<std::string> masters_, replicas_;
};

TEST_F(PlannerTest, EmptyMembershipProposesNothing) {
  EXPECT_EQ(Next().kind, DecisionKind::kNothing);
  Formed(3, 3, 3);
  for (auto& [addr, n] : sim_.nodes()) n.wanted = false;
  Decision d = Next();
  EXPECT_EQ(d.kind, DecisionKind::kNothing) << DecisionToString(d);
}

TEST_F(PlannerTest, BootstrapWaitsForEnoughMembers) {
  for (int i = 0; i < 5; ++i) sim_.AddNode(Host(i % 3));
  Decision d = Next();
  EXPECT_EQ(d.kind, DecisionKind::kNothing);
  EXPECT_NE(d.reason.find("waits for 6"), std::string::npos) << d.reason;
}

TEST_F(PlannerTest, BootstrapSplitsSlotsEvenlyWithDistinctEpochsAndSpreadMasters) {
  for (int i = 0; i < 6; ++i) sim_.AddNode(Host(i % 3));
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  std::set<uint64_t> epochs;
  for (const auto& s : StepsOf(d.plan, StepKind::kSetConfigEpoch)) epochs.insert(s.config_epoch);
  EXPECT_EQ(epochs.size(), 6u);
  ASSERT_TRUE(sim_.Execute(d.plan).ok());
  EXPECT_TRUE(sim_.CheckSlotOwners().ok());
  std::set<std::string> master_hosts;
  for (const auto& [addr, n] : sim_.nodes()) {
    if (!n.master) continue;
    master_hosts.insert(n.host);
    EXPECT_GE(model::CountSlots(n.slots), 5461u);
    EXPECT_LE(model::CountSlots(n.slots), 5462u);
  }
  EXPECT_EQ(master_hosts.size(), 3u);
  Decision after = Next();
  EXPECT_EQ(after.kind, DecisionKind::kNothing) << DecisionToString(after);
}

TEST_F(PlannerTest, BootstrapGivesEveryMasterItsSlotsBeforeItMeets) {
  // As redis-cli --cluster create does: a master never joins without its slots.
  for (int i = 0; i < 12; ++i) sim_.AddNode(Host(i % 3));
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  std::set<std::string> assigned;
  size_t meets = 0;
  for (const auto& s : d.plan.steps) {
    if (s.kind == StepKind::kAssignSlots) {
      EXPECT_EQ(meets, 0u) << "slots assigned after a meet: " << model::StepToString(s);
      assigned.insert(s.target.address);
    }
    if (s.kind == StepKind::kMeet) {
      ++meets;
      EXPECT_TRUE(assigned.contains(s.peer.address)) << model::StepToString(s);
    }
  }
  EXPECT_EQ(assigned.size(), 6u);
  EXPECT_EQ(meets, 11u);
  ASSERT_TRUE(sim_.Execute(d.plan).ok());
  EXPECT_TRUE(sim_.CheckSlotOwners().ok());
}

TEST_F(PlannerTest, ReplicaNeverOnItsMastersHost) {
  // Two hosts, six members: every replica can sit on the other host.
  for (int i = 0; i < 6; ++i) sim_.AddNode(Host(i < 3 ? 0 : 1));
  Settle();
  for (const auto& [addr, n] : sim_.nodes()) {
    if (!n.master) {
      EXPECT_NE(n.host, sim_.node(n.master_address).host) << addr;
    }
  }
}

TEST_F(PlannerTest, BootstrapNeverResetsMembersThatKnowOtherNodes) {
  for (int i = 0; i < 6; ++i) sim_.AddNode(Host(i % 3));
  auto& nodes = sim_.nodes();
  auto it = nodes.begin();
  it->second.in_cluster = true;
  std::next(it)->second.in_cluster = true;  // Two members met each other elsewhere.
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kConflict) << DecisionToString(d);
  EXPECT_EQ(d.nodes.size(), 2u);
}

TEST_F(PlannerTest, AdoptionOfBalancedClusterIsACommitAndMovesNoSlot) {
  std::vector<std::string> m, r;
  for (int i = 0; i < 3; ++i) m.push_back(sim_.AddNode(Host(i)));
  for (int i = 0; i < 3; ++i) r.push_back(sim_.AddNode(Host((i + 1) % 3)));
  sim_.Form(m, r);
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan);
  ASSERT_EQ(d.plan.steps.size(), 1u);
  EXPECT_EQ(d.plan.steps[0].kind, StepKind::kCommitTopology);
  EXPECT_EQ(d.plan.steps[0].topology.shards.size(), 3u);
  ASSERT_TRUE(sim_.Execute(d.plan).ok());
  EXPECT_EQ(Next().kind, DecisionKind::kNothing);
}

TEST_F(PlannerTest, PlanEndsWithCommitOfTheNextEpoch) {
  Formed(3, 3, 3);
  uint64_t epoch = sim_.state().topology.epoch;
  sim_.AddNode(Host(0));
  sim_.AddNode(Host(1));
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan);
  EXPECT_EQ(d.plan.steps.back().kind, StepKind::kCommitTopology);
  EXPECT_EQ(d.plan.steps.back().topology.epoch, epoch + 1);
  EXPECT_EQ(d.plan.id, sim_.state().next_plan_id);
  EXPECT_FALSE(d.plan.causes.empty());
}

TEST_F(PlannerTest, NewMemberBecomesReplicaOfMasterLackingOne) {
  Formed(3, 2, 3);
  std::string lacking = masters_[2];
  std::string added = sim_.AddNode(Host(0));
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  auto rep = StepsOf(d.plan, StepKind::kReplicate);
  ASSERT_EQ(rep.size(), 1u);
  EXPECT_EQ(rep[0].target.address, added);
  EXPECT_EQ(rep[0].peer.address, lacking);
  EXPECT_EQ(MovedSlots(d.plan), 0u);
}

TEST_F(PlannerTest, TwoNewMembersBecomeMasterAndReplicaAndReceiveMinimalSlots) {
  Formed(3, 3, 3);
  std::string a = sim_.AddNode(Host(0)), b = sim_.AddNode(Host(1));
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  EXPECT_EQ(StepsOf(d.plan, StepKind::kMeet).size(), 2u);
  EXPECT_EQ(StepsOf(d.plan, StepKind::kReplicate).size(), 1u);
  EXPECT_EQ(MovedSlots(d.plan), 4096u);
  EXPECT_EQ(StepsOf(d.plan, StepKind::kMigrate).size(), 3u);
  ASSERT_TRUE(sim_.Execute(d.plan).ok());
  EXPECT_TRUE(sim_.CheckSlotOwners().ok());
}

TEST_F(PlannerTest, ScaleInDrainsMasterBeforeForgetting) {
  Formed(4, 4, 4);
  std::string gone = masters_[1];
  sim_.SetWanted(gone, false);
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  size_t last_migrate = 0, forget = 0, reset = 0, rehome = 0;
  for (size_t i = 0; i < d.plan.steps.size(); ++i) {
    const auto& s = d.plan.steps[i];
    if (s.kind == StepKind::kMigrate) {
      EXPECT_EQ(s.target.address, gone);
      last_migrate = i;
    }
    if (s.kind == StepKind::kReplicate) rehome = i;
    if (s.kind == StepKind::kForget) forget = i;
    if (s.kind == StepKind::kReset) reset = i;
  }
  EXPECT_EQ(StepsOf(d.plan, StepKind::kMigrate).size(), 3u);  // Spread, not piled on one.
  EXPECT_LT(last_migrate, forget);
  EXPECT_LT(rehome, forget);
  EXPECT_LT(forget, reset);
  EXPECT_EQ(StepsOf(d.plan, StepKind::kForget)[0].nodes.size(), 7u);
  ASSERT_TRUE(sim_.Execute(d.plan).ok());
  EXPECT_TRUE(sim_.CheckSlotOwners().ok());
  EXPECT_FALSE(sim_.node(gone).in_cluster);
}

TEST_F(PlannerTest, LastMasterWithDataIsNeverRemovedWithoutSomewhereForItsSlots) {
  std::string only = sim_.AddNode(Host(0));
  std::string other = sim_.AddNode(Host(1));
  sim_.Form({only}, {});
  sim_.Crash(other);  // Wanted but down: cannot take the slots.
  Settle();
  sim_.SetWanted(only, false);
  Decision d = Next();
  EXPECT_NE(d.kind, DecisionKind::kPlan) << DecisionToString(d);
}

TEST_F(PlannerTest, RefusedMasterIsFailedOverOnlyAfterTheGrace) {
  Formed(3, 3, 3);
  std::string dead = masters_[0];
  sim_.Crash(dead);
  EXPECT_EQ(Next().kind, DecisionKind::kNothing);
  sim_.Advance(policy_.refused_grace_ms - 1);
  EXPECT_EQ(Next().kind, DecisionKind::kNothing);
  sim_.Advance(1);
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  auto f = StepsOf(d.plan, StepKind::kFailover);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].mode, FailoverMode::kForce);
  EXPECT_EQ(f[0].peer.address, dead);
  ASSERT_TRUE(sim_.Execute(d.plan).ok());
  // The old master returns as a replica of the new one; nothing else to do.
  sim_.Restart(dead);
  Settle();
  EXPECT_FALSE(sim_.node(dead).master);
}

TEST_F(PlannerTest, TimeoutsAloneNeverFailOverAPossiblyLiveMaster) {
  Formed(3, 3, 3);
  sim_.Partition(masters_[0], true);
  sim_.Advance(60'000);
  Decision d = Next();
  EXPECT_EQ(d.kind, DecisionKind::kNothing) << DecisionToString(d);
}

TEST_F(PlannerTest, TimeoutFlaggedByMajorityOfMastersFailsOver) {
  Formed(3, 3, 3);
  sim_.Crash(masters_[0]);
  sim_.Advance(100);
  sim_.Sync();
  sim_.mutable_state().health[masters_[0]].reason = model::HealthReason::kTimeout;
  EXPECT_EQ(Make(sim_.state(), policy_).kind, DecisionKind::kNothing);  // Peers do not agree yet.
  sim_.Advance(SimCluster::kNodeTimeoutMs);
  sim_.Sync();
  sim_.mutable_state().health[masters_[0]].reason = model::HealthReason::kTimeout;
  Decision d = Make(sim_.state(), policy_);
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  EXPECT_EQ(StepsOf(d.plan, StepKind::kFailover).size(), 1u);
}

TEST_F(PlannerTest, FailoverPromotesTheReplicaWithTheBestOffset) {
  Formed(3, 6, 3);
  std::string dead = masters_[0];
  std::vector<std::string> reps = ReplicasOf(dead);
  ASSERT_EQ(reps.size(), 2u);
  sim_.Crash(dead);
  sim_.Advance(1000);
  sim_.Sync();
  sim_.mutable_state().observed[reps[1]].repl_offset = 5000;
  Decision d = Make(sim_.state(), policy_);
  ASSERT_EQ(d.kind, DecisionKind::kPlan);
  EXPECT_EQ(StepsOf(d.plan, StepKind::kFailover)[0].target.address, reps[1]);
}

TEST_F(PlannerTest, ReplicaThatNeverSyncedIsNeverPromoted) {
  Formed(3, 3, 3);
  std::string dead = masters_[0];
  std::vector<std::string> reps = ReplicasOf(dead);
  ASSERT_EQ(reps.size(), 1u);
  sim_.Crash(dead);
  sim_.Advance(1000);
  sim_.Sync();
  sim_.mutable_state().observed[reps[0]].repl_offset = 0;
  Decision d = Make(sim_.state(), policy_);
  EXPECT_TRUE(d.kind != DecisionKind::kPlan || StepsOf(d.plan, StepKind::kFailover).empty())
      << DecisionToString(d);
  // Once it reports a synced offset, it is promoted.
  sim_.mutable_state().observed[reps[0]].repl_offset = 42;
  d = Make(sim_.state(), policy_);
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  EXPECT_EQ(StepsOf(d.plan, StepKind::kFailover)[0].target.address, reps[0]);
}

// The chaos suite's ctl-dataloss: a master dies right after a migration, before the prober saw
// its new slots. The failover must hand over what the cluster says it owns, not what it owned
// when last observed (the commit of such a plan fails: the promoted replica owns more).
TEST_F(PlannerTest, MasterDeadBeforeItsMigrationWasObservedIsFailedOverWithItsNewSlots) {
  Formed(3, 3, 3);
  for (const std::string& dead : {masters_[0], masters_[1]}) {
    SCOPED_TRACE(dead == masters_[0] ? "the source dies" : "the destination dies");
    SimCluster before = sim_;
    ASSERT_NO_FATAL_FAILURE(OperatorMigrates(100));
    sim_.Crash(dead);  // No Sync() in between: its last observation predates the migration.
    sim_.Advance(policy_.refused_grace_ms);
    Decision d = Next();
    ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
    ASSERT_EQ(StepsOf(d.plan, StepKind::kFailover).size(), 1u) << DecisionToString(d);
    Status s = sim_.Execute(d.plan);
    EXPECT_TRUE(s.ok()) << s.ToString();
    sim_ = before;
  }
}

TEST_F(PlannerTest, FailoverOfDeadMasterInAPlanRollsItsMigrationForward) {
  Formed(4, 4, 4);
  OperatorRequest r;
  r.kind = OperatorKind::kMigrate;
  r.from = masters_[0];
  r.to = masters_[1];
  r.count = 100;
  sim_.Request(r);
  Decision mig = Next();
  ASSERT_EQ(mig.kind, DecisionKind::kPlan);
  sim_.ProposeAndStart(mig.plan, 0);
  uint16_t first = mig.plan.steps[0].slots.front().first;
  sim_.Emit(
      model::StepProgress{mig.plan.id, 0, {{first, static_cast<uint16_t>(first + 39)}}, 10});
  sim_.Crash(masters_[1]);
  sim_.Advance(600);
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  ASSERT_GE(d.plan.steps.size(), 3u);
  EXPECT_EQ(d.plan.steps[0].kind, StepKind::kFailover);
  EXPECT_EQ(d.plan.steps[1].kind, StepKind::kMigrate);
  EXPECT_EQ(d.plan.steps[1].target.address, masters_[0]);
  EXPECT_EQ(d.plan.steps[1].peer.address, d.plan.steps[0].target.address);
  EXPECT_EQ(model::CountSlots(d.plan.steps[1].slots), 60u);
}

TEST_F(PlannerTest, PlannedHandoverOfAMasterThatDiesBecomesAForcedFailover) {
  Formed(3, 3, 3);
  OperatorRequest r;
  r.kind = OperatorKind::kFailover;
  r.node = masters_[0];
  sim_.Request(r);
  Decision handover = Next();
  ASSERT_EQ(handover.kind, DecisionKind::kPlan);
  sim_.ProposeAndStart(handover.plan, 0, handover.request_id);
  EXPECT_EQ(Next().kind, DecisionKind::kNothing);
  sim_.Crash(masters_[0]);
  sim_.Advance(600);
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  EXPECT_EQ(StepsOf(d.plan, StepKind::kFailover)[0].mode, FailoverMode::kForce);
  ASSERT_TRUE(sim_.Execute(d.plan).ok());
  EXPECT_EQ(Next().kind, DecisionKind::kNothing);  // The forced failover is not repeated.
}

TEST_F(PlannerTest, PausedAutomationProposesOnlySafetyFailovers) {
  Formed(3, 3, 3);
  OperatorRequest pause;
  pause.kind = OperatorKind::kPause;
  sim_.Request(pause);
  sim_.AddNode(Host(0));
  EXPECT_EQ(Next().kind, DecisionKind::kNothing);
  sim_.Crash(masters_[2]);
  sim_.Advance(600);
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan);
  EXPECT_EQ(StepsOf(d.plan, StepKind::kFailover).size(), 1u);
  EXPECT_TRUE(StepsOf(d.plan, StepKind::kMeet).empty());
}

TEST_F(PlannerTest, NothingElseWhileAPlanIsInFlight) {
  Formed(3, 3, 3);
  sim_.AddNode(Host(0));
  sim_.AddNode(Host(1));
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan);
  sim_.ProposeAndStart(d.plan, 0);
  sim_.SetWanted(masters_[0], false);
  EXPECT_EQ(Next().kind, DecisionKind::kNothing);
}

TEST_F(PlannerTest, OperatorMigrationIsNotUndoneByAutomaticRebalance) {
  Formed(3, 3, 3);
  ASSERT_NO_FATAL_FAILURE(OperatorMigrates(500));
  Decision after = Next();
  EXPECT_TRUE(after.kind != DecisionKind::kPlan || MovedSlots(after.plan) == 0)
      << DecisionToString(after);
}

TEST_F(PlannerTest, MembershipEventThatAddsOrRemovesNobodyKeepsAnOperatorsLayout) {
  Formed(3, 3, 3);
  ASSERT_NO_FATAL_FAILURE(OperatorMigrates(500));
  // 90 s later discovery announces the same addresses again, with other instance numbers (a
  // members file rewritten in another order): no member was added or removed.
  sim_.Advance(90'000);
  model::MembershipChanged same{{}, "file:members"};
  uint32_t instance = 100;
  for (const auto& [addr, m] : sim_.state().members) {
    same.members.push_back({instance++, addr, m.host});
  }
  const model::Seq membership_seq = sim_.state().membership_seq;
  sim_.Emit(same);
  EXPECT_EQ(sim_.state().members.begin()->second.instance, 100u);  // The event was folded...
  EXPECT_EQ(sim_.state().membership_seq, membership_seq);          // ...as no membership change.
  Decision after = Next();  // (Sync announces the sim's own numbering: no change either.)
  EXPECT_TRUE(after.kind != DecisionKind::kPlan || MovedSlots(after.plan) == 0)
      << DecisionToString(after);

  // Members really change (a replica leaves): automation may restore the even layout.
  sim_.SetWanted(replicas_[0], false);
  Settle();
  for (const std::string& m : masters_) {
    EXPECT_NEAR(model::CountSlots(sim_.node(m).slots), 5461, 2) << m;
  }
}

TEST_F(PlannerTest, AdoptionAfterControllerDiskLossCommitsAboveTheClustersCurrentEpoch) {
  Formed(3, 3, 3);
  uint64_t current = 0;
  for (const auto& [addr, o] : sim_.state().observed) current = std::max(current, o.current_epoch);
  ASSERT_GT(current, 1u);
  sim_.LoseControllerDisk();
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  ASSERT_EQ(d.plan.steps.back().kind, StepKind::kCommitTopology);
  EXPECT_EQ(d.plan.steps.back().topology.epoch, current + 1);
  ASSERT_TRUE(sim_.Execute(d.plan, d.request_id).ok());
  EXPECT_EQ(sim_.state().topology.epoch, current + 1);
}

TEST_F(PlannerTest, AdoptionWaitsUntilEveryMasterWithSlotsWasObserved) {
  Formed(3, 3, 3);
  sim_.LoseControllerDisk();
  sim_.Sync();
  // A fresh controller's probes answer one by one: a master's peers already name it as the
  // owner of its slots, its own observation is not in yet.
  model::ClusterState partial = sim_.state();
  partial.observed.erase(masters_[1]);
  Decision d = Make(partial, policy_);
  ASSERT_EQ(d.kind, DecisionKind::kNothing) << DecisionToString(d);
  EXPECT_NE(d.reason.find("adoption waits for master " + masters_[1]), std::string::npos)
      << d.reason;
  // Down, it is no reason to wait (its replica is failed over once the topology is committed).
  partial.health[masters_[1]].health = model::Health::kDown;
  EXPECT_EQ(Make(partial, policy_).reason.find("adoption waits"), std::string::npos);
  // Observed, the whole cluster is adopted in one commit.
  d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  uint32_t slots = 0;
  for (const auto& shard : d.plan.steps.back().topology.shards) {
    slots += model::CountSlots(shard.slots);
  }
  EXPECT_EQ(slots, model::kSlotCount);
}

TEST_F(PlannerTest, OperatorMigrateOfSlotsNotOwnedIsRejected) {
  Formed(3, 3, 3);
  OperatorRequest r;
  r.kind = OperatorKind::kMigrate;
  r.from = masters_[0];
  r.to = masters_[1];
  r.slots = {{16000, 16010}};
  sim_.Request(r);
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kReject);
  EXPECT_NE(d.reason.find("not owned by"), std::string::npos) << d.reason;
  EXPECT_EQ(d.request_id, 1u);
}

TEST_F(PlannerTest, OperatorMigrateByCountMovesThatManySlots) {
  Formed(3, 3, 3);
  OperatorRequest r;
  r.kind = OperatorKind::kMigrate;
  r.from = masters_[0];
  r.to = masters_[1];
  r.count = 10;
  sim_.Request(r);
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  EXPECT_EQ(MovedSlots(d.plan), 10u);
  EXPECT_EQ(d.request_id, 1u);
  ASSERT_TRUE(sim_.Execute(d.plan, d.request_id).ok());
  EXPECT_TRUE(sim_.state().pending_requests.empty());
}

TEST_F(PlannerTest, OperatorRebalanceWithinThresholdIsRejected) {
  Formed(3, 3, 3);
  OperatorRequest r;
  r.kind = OperatorKind::kRebalance;
  sim_.Request(r);
  EXPECT_EQ(Next().kind, DecisionKind::kReject);
}

TEST_F(PlannerTest, OperatorRebalanceHonoursWeights) {
  Formed(3, 3, 3);
  OperatorRequest r;
  r.kind = OperatorKind::kRebalance;
  r.weights = {{masters_[0], 2.0}};
  sim_.Request(r);
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan);
  ASSERT_TRUE(sim_.Execute(d.plan, d.request_id).ok());
  EXPECT_EQ(model::CountSlots(sim_.node(masters_[0]).slots), 8192u);
}

TEST_F(PlannerTest, OperatorDefaultFailoverOfDeadMasterIsRejected) {
  Formed(3, 3, 3);
  sim_.Partition(masters_[0], true);
  OperatorRequest r;
  r.kind = OperatorKind::kFailover;
  r.node = masters_[0];
  sim_.Request(r);
  EXPECT_EQ(Next().kind, DecisionKind::kReject);
}

TEST_F(PlannerTest, OperatorTakeoverIsRejectedUnlessPolicyAllowsIt) {
  Formed(3, 3, 3);
  OperatorRequest r;
  r.kind = OperatorKind::kFailover;
  r.node = masters_[0];
  r.mode = FailoverMode::kTakeover;
  sim_.Request(r);
  Decision d = Next();
  EXPECT_EQ(d.kind, DecisionKind::kReject);
  EXPECT_NE(d.reason.find("TAKEOVER"), std::string::npos);
}

TEST_F(PlannerTest, OperatorDefaultFailoverHandsOverLosslessly) {
  Formed(3, 3, 3);
  OperatorRequest r;
  r.kind = OperatorKind::kFailover;
  r.node = masters_[0];
  sim_.Request(r);
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan);
  EXPECT_EQ(StepsOf(d.plan, StepKind::kFailover)[0].mode, FailoverMode::kDefault);
  ASSERT_TRUE(sim_.Execute(d.plan, d.request_id).ok());
  EXPECT_FALSE(sim_.node(masters_[0]).master);
}

TEST_F(PlannerTest, OperatorAddOfAnAddressDiscoveryDoesNotWantIsRejected) {
  Formed(3, 3, 3);
  OperatorRequest r;
  r.kind = OperatorKind::kAddNode;
  r.node = "10.9.9.9:7000";
  sim_.Request(r);
  EXPECT_EQ(Next().kind, DecisionKind::kReject);
}

TEST_F(PlannerTest, OperatorRemovedMemberStaysOutWhileListedUntilAddedBack) {
  Formed(4, 4, 4);
  std::string gone = masters_[1];
  OperatorRequest r;
  r.kind = OperatorKind::kRemoveNode;
  r.who = "alice";
  r.node = gone;
  sim_.Request(r);
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  EXPECT_EQ(StepsOf(d.plan, StepKind::kMigrate).size(), 3u);
  ASSERT_TRUE(sim_.Execute(d.plan, d.request_id).ok());
  EXPECT_FALSE(sim_.node(gone).in_cluster);
  EXPECT_TRUE(sim_.state().retired.contains(gone));
  // Discovery still lists it, it is up and fresh: automation must not take it back as a spare.
  Settle();
  EXPECT_FALSE(sim_.node(gone).in_cluster);
  EXPECT_TRUE(sim_.CheckSlotOwners().ok());
  // add-node takes it back.
  r.kind = OperatorKind::kAddNode;
  sim_.Request(r);
  Settle();
  EXPECT_TRUE(sim_.node(gone).in_cluster);
  EXPECT_FALSE(sim_.state().retired.contains(gone));
}

TEST_F(PlannerTest, ConsistentOpenSlotWithoutIntentIsRolledForward) {
  Formed(3, 3, 3);
  auto& a = sim_.node(masters_[0]);
  auto& b = sim_.node(masters_[1]);
  a.open_slots = {{100, true, b.id}};
  b.open_slots = {{100, false, a.id}};
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  auto m = StepsOf(d.plan, StepKind::kMigrate);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].target.address, masters_[0]);
  EXPECT_EQ(m[0].peer.address, masters_[1]);
  EXPECT_EQ(m[0].slots, (std::vector<model::SlotRange>{{100, 100}}));
}

TEST_F(PlannerTest, ImportingWithoutMigratingIsRolledForwardTowardTheImporter) {
  Formed(3, 3, 3);
  sim_.node(masters_[1]).open_slots = {{100, false, sim_.node(masters_[0]).id}};
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  auto m = StepsOf(d.plan, StepKind::kMigrate);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].target.address, masters_[0]);
  EXPECT_EQ(m[0].peer.address, masters_[1]);
  ASSERT_TRUE(sim_.Execute(d.plan).ok());
  EXPECT_EQ(Next().kind, DecisionKind::kNothing);
}

TEST_F(PlannerTest, OpenSlotTowardAnUnknownNodeIsMadeStableWithoutChangingItsOwner) {
  Formed(3, 3, 3);
  sim_.node(masters_[0]).open_slots = {{100, true, std::string(40, 'f')}};
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  auto f = StepsOf(d.plan, StepKind::kFixOpenSlot);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].target.address, masters_[0]);
  EXPECT_TRUE(f[0].peer.id.empty());  // The executor makes the slot STABLE on the target.
  EXPECT_EQ(MovedSlots(d.plan), 0u);
  ASSERT_TRUE(sim_.Execute(d.plan).ok());
  EXPECT_EQ(Next().kind, DecisionKind::kNothing);
}

TEST_F(PlannerTest, ReplicaDriftThatBreaksAntiAffinityIsSwappedBack) {
  Formed(3, 3, 3);
  // Redis moved replicas so that one shares its master's host.
  std::string r0, r1;
  for (const auto& [addr, n] : sim_.nodes()) {
    if (n.master) continue;
    if (n.master_address == masters_[1]) r0 = addr;  // Host 1 in Formed().
    if (n.master_address == masters_[0]) r1 = addr;
  }
  sim_.node(r1).master_address = masters_[1];
  sim_.node(r0).master_address = masters_[0];
  ASSERT_EQ(sim_.node(r1).host, sim_.node(masters_[1]).host);
  // First the drift is committed as observed, then corrected.
  Settle();
  for (const auto& [addr, n] : sim_.nodes()) {
    if (!n.master) {
      EXPECT_NE(n.host, sim_.node(n.master_address).host) << addr;
    }
  }
}

TEST_F(PlannerTest, DriftThatKeepsAntiAffinityIsLeftAlone) {
  Formed(3, 4, 3);  // Master 0 has two replicas.
  std::string r;
  for (const auto& [addr, n] : sim_.nodes()) {
    if (!n.master && n.master_address == masters_[0] && n.host != sim_.node(masters_[2]).host) {
      r = addr;
    }
  }
  ASSERT_FALSE(r.empty());
  sim_.node(r).master_address = masters_[2];  // Redis moved it; no host is shared.
  Decision d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan);
  EXPECT_EQ(d.plan.steps.size(), 1u) << DecisionToString(d);  // Only the commit.
}

TEST_F(PlannerTest, TakeoverOnlyWhenPolicyAllowsItAndNoMajorityAnswers) {
  Formed(3, 3, 3);
  sim_.Crash(masters_[0]);
  sim_.Crash(masters_[1]);
  sim_.Advance(1000);
  Decision d = Next();
  EXPECT_EQ(d.kind, DecisionKind::kNothing) << DecisionToString(d);  // FORCE could not win a vote.
  policy_.allow_takeover = true;
  d = Next();
  ASSERT_EQ(d.kind, DecisionKind::kPlan);
  EXPECT_EQ(StepsOf(d.plan, StepKind::kFailover)[0].mode, FailoverMode::kTakeover);
}

TEST_F(PlannerTest, SameStateGivesByteIdenticalPlans) {
  Formed(5, 5, 3);
  sim_.AddNode(Host(0));
  sim_.AddNode(Host(2));
  sim_.SetWanted(masters_[3], false);
  sim_.Sync();
  model::ClusterState copy = sim_.state();
  Decision a = Make(sim_.state(), policy_);
  Decision b = Make(copy, policy_);
  ASSERT_EQ(a.kind, DecisionKind::kPlan);
  EXPECT_EQ(a, b);
  EXPECT_EQ(DecisionToString(a), DecisionToString(b));
}

// What Redis reports is committed only once the nodes agree on it and it stayed put a while.
class SettleTest : public PlannerTest {
 protected:
  SettleTest() { policy_.settle_ms = 1500; }

  // Rounds of probes half a second apart, as the prober's, until the planner stops waiting.
  Decision AfterRounds(int rounds) {
    Decision d;
    for (int i = 0; i < rounds; ++i) {
      sim_.Advance(500);
      d = Next();
    }
    return d;
  }

  // Redis fails over on its own: the replica of masters_[0] takes its slots with a higher epoch.
  std::string RedisFailsOverItself() {
    std::string r = ReplicasOf(masters_[0]).at(0);
    auto& m = sim_.node(masters_[0]);
    auto& n = sim_.node(r);
    n.master = true;
    n.master_address.clear();
    n.slots = std::move(m.slots);
    m.slots.clear();
    m.master = false;
    m.master_address = r;
    uint64_t top = 0;
    for (const auto& [a, x] : sim_.nodes()) top = std::max(top, x.config_epoch);
    n.config_epoch = top + 1;
    return r;
  }
};

TEST_F(SettleTest, DriftIsNotCommittedWhileTheNodesDisagree) {
  Formed(3, 3, 3);
  const uint64_t epoch = sim_.state().topology.epoch;
  sim_.SetGossip(0.0);  // Nobody hears of the change: only the two nodes involved report it.
  std::string promoted = RedisFailsOverItself();
  Decision d = AfterRounds(20);
  EXPECT_EQ(d.kind, DecisionKind::kNothing) << DecisionToString(d);
  EXPECT_NE(d.reason.find("waiting for the nodes to agree"), std::string::npos) << d.reason;
  EXPECT_EQ(sim_.state().topology.epoch, epoch);

  sim_.SetGossip(1.0);  // Gossip catches up: every node reports the new layout.
  d = Next();
  EXPECT_EQ(d.kind, DecisionKind::kNothing) << DecisionToString(d);
  EXPECT_NE(d.reason.find("stay unchanged"), std::string::npos) << d.reason;
  d = AfterRounds(3);
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  const model::Topology& t = d.plan.steps.back().topology;
  bool promoted_owns = false;
  for (const auto& sh : t.shards) promoted_owns = promoted_owns || sh.master.address == promoted;
  EXPECT_TRUE(promoted_owns) << DecisionToString(d);
  EXPECT_EQ(model::CountSlots([&] {
              std::vector<model::SlotRange> all;
              for (const auto& sh : t.shards) all.insert(all.end(), sh.slots.begin(), sh.slots.end());
              return model::NormalizeRanges(all);
            }()),
            model::kSlotCount);
}

TEST_F(SettleTest, UncoveredSlotsWaitUntilEveryNodeSaysSo) {
  Formed(3, 3, 3);
  sim_.SetGossip(0.0);
  // Someone deletes a master's slots on the master itself; the others still list them there.
  sim_.node(masters_[1]).slots.clear();
  Decision d = AfterRounds(20);
  EXPECT_EQ(d.kind, DecisionKind::kNothing) << DecisionToString(d);
  EXPECT_NE(d.reason.find("waiting for the nodes to agree"), std::string::npos) << d.reason;

  sim_.SetGossip(1.0);
  d = AfterRounds(4);
  ASSERT_EQ(d.kind, DecisionKind::kPlan) << DecisionToString(d);
  EXPECT_FALSE(StepsOf(d.plan, StepKind::kAssignSlots).empty()) << DecisionToString(d);
}

TEST_F(SettleTest, ANewNodeKnownToOneMasterOnlyDoesNotChangeTheTopology) {
  Formed(3, 3, 3);
  const model::Topology before = sim_.state().topology;
  sim_.SetGossip(0.0);
  // A node another tool met into the cluster: only the meeting point knows it yet.
  std::string x = sim_.AddNode(Host(0));
  Status s = [&] {
    model::Step meet;
    meet.kind = StepKind::kMeet;
    meet.target = {x, sim_.node(x).id};
    meet.peer = {masters_[0], sim_.node(masters_[0]).id};
    model::Plan p;
    p.id = sim_.state().next_plan_id;
    p.steps = {meet};
    return sim_.Execute(p);
  }();
  ASSERT_TRUE(s.ok()) << s.ToString();
  Decision d = AfterRounds(10);
  EXPECT_EQ(d.kind, DecisionKind::kNothing) << DecisionToString(d);
  EXPECT_EQ(sim_.state().topology, before);
}

}  // namespace
}  // namespace rs::planner
