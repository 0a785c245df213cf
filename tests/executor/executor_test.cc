// The executor against real redis-server nodes: bootstrap a cluster step by step, migrate slots
// holding keys, resume interrupted migrations, and refuse to overwrite differing keys.
#include "executor/executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/slot.h"
#include "model/cluster_state.h"
#include "memory_journal.h"
#include "support/local_cluster.h"

namespace rs::executor {
namespace {

using model::NodeRef;
using model::SlotRange;
using model::Step;
using model::StepKind;

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::LocalClusterOptions o;
    o.masters = 3;
    o.replicas_per_master = 1;
    o.hosts = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
    o.cluster_node_timeout_ms = 5000;
    o.extra_config = {"repl-diskless-sync-delay 0"};
    cluster_ = std::make_unique<test::LocalCluster>(o);
    ASSERT_TRUE(cluster_->StartNodes().ok());
    for (size_t i = 0; i < cluster_->size(); ++i) {
      auto id = cluster_->node(i).NodeId();
      ASSERT_TRUE(id.ok()) << id.status().ToString();
      nodes_.push_back({cluster_->node(i).address(), *id});
    }
  }

  // A plan forming masters 0..2 with replicas 3..5, the way the planner's bootstrap does.
  model::Plan BootstrapPlan() {
    model::Plan plan;
    plan.id = 1;
    plan.reason = "bootstrap";
    const SlotRange ranges[] = {{0, 5460}, {5461, 10922}, {10923, 16383}};
    model::Topology topo;
    topo.epoch = 1;
    for (int i = 0; i < 6; ++i) {
      Step s;
      s.kind = StepKind::kSetConfigEpoch;
      s.target = nodes_[i];
      s.config_epoch = i + 1;
      plan.steps.push_back(s);
    }
    for (int i = 0; i < 3; ++i) {
      Step s;
      s.kind = StepKind::kAssignSlots;
      s.target = nodes_[i];
      s.slots = {ranges[i]};
      plan.steps.push_back(s);
    }
    for (int i = 1; i < 6; ++i) {
      Step s;
      s.kind = StepKind::kMeet;
      s.target = nodes_[i];
      s.peer = nodes_[0];
      plan.steps.push_back(s);
    }
    for (int i = 3; i < 6; ++i) {
      Step s;
      s.kind = StepKind::kReplicate;
      s.target = nodes_[i];
      s.peer = nodes_[i - 3];
      plan.steps.push_back(s);
    }
    for (int i = 0; i < 3; ++i) {
      topo.shards.push_back({nodes_[i], {ranges[i]}, {nodes_[i + 3]}});
    }
    Step commit;
    commit.kind = StepKind::kCommitTopology;
    commit.topology = topo;
    plan.steps.push_back(commit);
    return plan;
  }

  void Propose(MemoryJournal& journal, model::Plan plan) {
    ASSERT_TRUE(journal.Record(model::PlanProposed{std::move(plan), 0}, 0, true).ok());
  }

  void Bootstrap(MemoryJournal& journal) {
    Propose(journal, BootstrapPlan());
    Executor ex(config_, &journal);
    Status s = ex.RunPlan(nullptr);
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << cluster_->LogTails();
    ASSERT_TRUE(cluster_->WaitForClusterOk(std::chrono::seconds(20)).ok());
  }

  // Proposes a one-step plan (id 2) and runs it.
  Status RunOneStep(MemoryJournal& journal, StepKind kind, size_t target, size_t peer,
                    std::vector<SlotRange> slots) {
    model::Plan plan;
    plan.id = 2;
    Step step;
    step.kind = kind;
    step.target = nodes_[target];
    if (peer != target) step.peer = nodes_[peer];
    step.slots = std::move(slots);
    plan.steps.push_back(step);
    Propose(journal, plan);
    Executor ex(config_, &journal);
    return ex.RunPlan(nullptr);
  }

  test::RedisClient Client(size_t i) {
    auto c = cluster_->node(i).Connect();
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }

  // Writes `n` keys whose slots fall in `range` straight to node `owner`.
  std::vector<std::string> WriteKeys(size_t owner, SlotRange range, int n) {
    auto c = Client(owner);
    std::vector<std::string> keys;
    for (int i = 0; keys.size() < static_cast<size_t>(n); ++i) {
      std::string k = "key:" + std::to_string(i);
      uint16_t slot = KeySlot(k);
      if (slot < range.first || slot > range.last) continue;
      c.Append({"SET", k, "value-" + k});
      keys.push_back(k);
    }
    for (size_t i = 0; i < keys.size(); ++i) EXPECT_TRUE(c.GetReply().ok());
    return keys;
  }

  ExecutorConfig config_;
  std::unique_ptr<test::LocalCluster> cluster_;
  std::vector<NodeRef> nodes_;
};

TEST_F(ExecutorTest, BootstrapPlanFormsClusterAndCommitsTopology) {
  MemoryJournal journal;
  Bootstrap(journal);
  auto state = journal.State();
  EXPECT_FALSE(state.plan.has_value());
  ASSERT_EQ(state.topology.epoch, 1u);
  EXPECT_EQ(state.topology.shards.size(), 3u);
  ASSERT_EQ(state.plan_history.size(), 1u);
  EXPECT_EQ(state.plan_history[0].outcome, model::PlanOutcome::kCompleted);
  // Every step was started (synced) before it completed.
  int started = 0, completed = 0;
  for (const auto& e : journal.Events()) {
    started += std::holds_alternative<model::StepStarted>(e.payload);
    completed += std::holds_alternative<model::StepCompleted>(e.payload);
  }
  EXPECT_EQ(started, 18);
  EXPECT_EQ(completed, 18);
}

TEST_F(ExecutorTest, ReplicateStepsRunAtOnceEachStartedAndCompletedInTheLog) {
  // Each master holds its first sync 2 s for more replicas, so a replicate step takes at least
  // 2 s: run one after another, the first completes before the next starts.
  for (size_t i = 0; i < 3; ++i) {
    auto r = Client(i).Command("CONFIG", "SET", "repl-diskless-sync-delay", "2");
    ASSERT_TRUE(r.ok() && !r->is_error());
  }
  MemoryJournal journal;
  Bootstrap(journal);
  const auto& steps = BootstrapPlan().steps;
  std::vector<uint32_t> order;  // Replicate steps: +index when started, -index-1 when completed.
  for (const auto& e : journal.Events()) {
    if (const auto* x = std::get_if<model::StepStarted>(&e.payload)) {
      if (steps[x->step].kind == StepKind::kReplicate) order.push_back(x->step);
    }
    if (const auto* x = std::get_if<model::StepCompleted>(&e.payload)) {
      if (steps[x->step].kind == StepKind::kReplicate) order.push_back(1000 + x->step);
    }
  }
  // All three started (synced, before any side effect) before the first completed, and each
  // completed once.
  ASSERT_EQ(order.size(), 6u);
  for (size_t i = 0; i < 3; ++i) EXPECT_LT(order[i], 1000u) << "event " << i;
  std::set<uint32_t> completed(order.begin() + 3, order.end());
  EXPECT_EQ(completed, (std::set<uint32_t>{1014, 1015, 1016}));
}

// The most steps of `kind` started and not yet completed at one time, from the log.
size_t MostAtOnce(MemoryJournal& journal, const std::vector<Step>& steps, StepKind kind) {
  size_t now = 0, most = 0;
  for (const auto& e : journal.Events()) {
    if (const auto* x = std::get_if<model::StepStarted>(&e.payload)) {
      if (steps[x->step].kind == kind) most = std::max(most, ++now);
    }
    if (const auto* x = std::get_if<model::StepCompleted>(&e.payload)) {
      if (steps[x->step].kind == kind) --now;
    }
  }
  return most;
}

TEST_F(ExecutorTest, MeetStepsToOneMemberRunAtOnce) {
  // Five nodes meet node 0. A meet completes when both nodes list each other after a handshake,
  // which takes Redis's cluster cron (100 ms) a round or two: one after another, each meet
  // completes before the next starts.
  MemoryJournal journal;
  Bootstrap(journal);
  const auto steps = BootstrapPlan().steps;
  EXPECT_GE(MostAtOnce(journal, steps, StepKind::kMeet), 3u);
  // Each started once and completed once.
  std::multiset<uint32_t> started, completed;
  for (const auto& e : journal.Events()) {
    if (const auto* x = std::get_if<model::StepStarted>(&e.payload)) started.insert(x->step);
    if (const auto* x = std::get_if<model::StepCompleted>(&e.payload)) completed.insert(x->step);
  }
  EXPECT_EQ(started.size(), steps.size());
  EXPECT_EQ(std::set<uint32_t>(started.begin(), started.end()).size(), steps.size());
  EXPECT_EQ(completed, started);
}

TEST_F(ExecutorTest, MeetsWaitForEveryConfigEpochAndReplicatesForTheirMeets) {
  MemoryJournal journal;
  Bootstrap(journal);
  const auto steps = BootstrapPlan().steps;
  std::map<uint32_t, size_t> started_at, completed_at;  // Step -> position in the log.
  const auto events = journal.Events();
  for (size_t i = 0; i < events.size(); ++i) {
    if (const auto* x = std::get_if<model::StepStarted>(&events[i].payload)) {
      started_at[x->step] = i;
    }
    if (const auto* x = std::get_if<model::StepCompleted>(&events[i].payload)) {
      completed_at[x->step] = i;
    }
  }
  for (uint32_t m = 0; m < steps.size(); ++m) {
    if (steps[m].kind == StepKind::kMeet) {
      for (uint32_t e = 0; e < steps.size(); ++e) {
        if (steps[e].kind == StepKind::kSetConfigEpoch) {
          EXPECT_LT(completed_at[e], started_at[m]) << "epoch step " << e << ", meet step " << m;
        }
      }
    }
    if (steps[m].kind == StepKind::kReplicate) {
      for (uint32_t e = 0; e < steps.size(); ++e) {
        if (steps[e].kind == StepKind::kMeet &&
            (steps[e].target == steps[m].target || steps[e].target == steps[m].peer)) {
          EXPECT_LT(completed_at[e], started_at[m]) << "meet step " << e << ", replicate " << m;
        }
      }
    }
  }
  // The commit starts after everything else completed.
  const uint32_t commit = static_cast<uint32_t>(steps.size() - 1);
  for (uint32_t e = 0; e < commit; ++e) EXPECT_LT(completed_at[e], started_at[commit]) << e;
}

// The slot owners node `viewer` reports, slot 0 only.
std::string OwnerOfSlot0(test::RedisClient& viewer) {
  auto r = viewer.Command("CLUSTER", "SLOTS");
  if (!r.ok()) return "error";
  for (const auto& range : r->elements) {
    if (range.elements[0].integer == 0) return range.elements[2].elements[2].str;
  }
  return "";
}

TEST_F(ExecutorTest, CommitWaitsUntilEveryNodeKnowsEveryOwner) {
  MemoryJournal journal;
  Bootstrap(journal);
  // Node 2 forgets that node 0 owns slot 0, as a node that has not heard from node 0 since it
  // took its slots. Left alone, it learns it again at node 0's next ping (in a second or more).
  auto viewer = Client(2);
  auto r = viewer.Command("CLUSTER", "DELSLOTS", "0");
  ASSERT_TRUE(r.ok() && !r->is_error()) << (r.ok() ? r->str : r.status().ToString());
  ASSERT_EQ(OwnerOfSlot0(viewer), "");
  model::Plan plan;
  plan.id = 2;
  plan.steps.push_back(BootstrapPlan().steps.back());  // Commit the bootstrap's topology again.
  Propose(journal, plan);
  Status s = Executor(config_, &journal).RunPlan(nullptr);
  ASSERT_TRUE(s.ok()) << s.ToString();
  // Committed only once node 2 knew again (node 0 met it to tell it).
  EXPECT_EQ(OwnerOfSlot0(viewer), nodes_[0].id);
}

TEST_F(ExecutorTest, BootstrapIsIdempotentWhenRunAgain) {
  MemoryJournal journal;
  Bootstrap(journal);
  auto plan = BootstrapPlan();
  plan.id = 2;
  Propose(journal, plan);
  Executor ex(config_, &journal);
  Status s = ex.RunPlan(nullptr);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(ExecutorTest, MigrateMovesEveryKeyAndOwnership) {
  MemoryJournal journal;
  Bootstrap(journal);
  auto keys = WriteKeys(0, {0, 999}, 5000);
  Status s = RunOneStep(journal, StepKind::kMigrate, 0, 1, {{0, 999}});
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto dest = Client(1);
  for (const auto& k : keys) {
    auto v = dest.CommandString("GET", k);
    ASSERT_TRUE(v.ok()) << k;
    EXPECT_EQ(*v, "value-" + k);
  }
  auto src = Client(0);
  EXPECT_EQ(*src.CommandString("DBSIZE"), "0");
  // Every node agrees that node 1 owns slot 500, and progress covered all 1000 slots.
  for (size_t i = 0; i < 3; ++i) {
    auto c = Client(i);
    auto r = c.Command("CLUSTER", "SLOTS");
    ASSERT_TRUE(r.ok());
    bool found = false;
    for (const auto& range : r->elements) {
      if (range.elements[0].integer <= 500 && range.elements[1].integer >= 500) {
        EXPECT_EQ(range.elements[2].elements[2].str, nodes_[1].id) << "view of node " << i;
        found = true;
      }
    }
    EXPECT_TRUE(found);
  }
  uint64_t keys_moved = 0;
  std::vector<SlotRange> done;
  for (const auto& e : journal.Events()) {
    if (auto* p = std::get_if<model::StepProgress>(&e.payload)) {
      keys_moved += p->keys_moved;
      done.insert(done.end(), p->slots_done.begin(), p->slots_done.end());
    }
  }
  EXPECT_EQ(keys_moved, keys.size());
  EXPECT_EQ(model::NormalizeRanges(done), (std::vector<SlotRange>{{0, 999}}));
}

TEST_F(ExecutorTest, ResumesAHalfDoneMigrationWithoutLosingKeys) {
  MemoryJournal journal;
  Bootstrap(journal);
  auto keys = WriteKeys(0, {100, 100}, 300);
  // Leave slot 100 half migrated, as a crash between MIGRATE batches would.
  auto dest = Client(1);
  auto src = Client(0);
  ASSERT_FALSE(dest.Command("CLUSTER", "SETSLOT", "100", "IMPORTING", nodes_[0].id)->is_error());
  ASSERT_FALSE(src.Command("CLUSTER", "SETSLOT", "100", "MIGRATING", nodes_[1].id)->is_error());
  std::vector<std::string> mig = {"MIGRATE", "127.0.0.2", std::to_string(cluster_->node(1).port()),
                                  "", "0", "5000", "KEYS"};
  mig.insert(mig.end(), keys.begin(), keys.begin() + 150);
  auto r = src.Command(mig);
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->is_error()) << r->str;

  Status s = RunOneStep(journal, StepKind::kMigrate, 0, 1, {{100, 100}});
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const auto& k : keys) {
    auto v = dest.CommandString("GET", k);
    ASSERT_TRUE(v.ok()) << k;
    EXPECT_EQ(*v, "value-" + k);
  }
  auto nodes = src.CommandString("CLUSTER", "NODES");
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(nodes->find('['), std::string::npos) << "open slot left: " << *nodes;
}

TEST_F(ExecutorTest, BusyKeyWithDifferentValueStopsAndOverwritesNothing) {
  MemoryJournal journal;
  Bootstrap(journal);
  auto keys = WriteKeys(0, {200, 200}, 20);
  auto dest = Client(1);
  // The destination already holds one of the keys with another value (while importing).
  ASSERT_FALSE(dest.Command("CLUSTER", "SETSLOT", "200", "IMPORTING", nodes_[0].id)->is_error());
  ASSERT_FALSE(dest.Command("ASKING")->is_error());
  ASSERT_FALSE(dest.Command("SET", keys[3], "other")->is_error());

  Status s = RunOneStep(journal, StepKind::kMigrate, 0, 1, {{200, 200}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(keys[3]), std::string::npos) << s.ToString();
  // Both values survive.
  ASSERT_FALSE(dest.Command("ASKING")->is_error());
  EXPECT_EQ(*dest.CommandString("GET", keys[3]), "other");
  auto src = Client(0);
  EXPECT_EQ(*src.CommandString("GET", keys[3]), "value-" + keys[3]);
  auto state = journal.State();
  ASSERT_EQ(state.plan_history.back().outcome, model::PlanOutcome::kFailed);
  EXPECT_NE(state.plan_history.back().detail.find("BUSYKEY"), std::string::npos);
}

TEST_F(ExecutorTest, BusyKeyWithEqualValueIsReplacedAndMigrationCompletes) {
  MemoryJournal journal;
  Bootstrap(journal);
  auto keys = WriteKeys(0, {300, 300}, 20);
  auto dest = Client(1);
  ASSERT_FALSE(dest.Command("CLUSTER", "SETSLOT", "300", "IMPORTING", nodes_[0].id)->is_error());
  ASSERT_FALSE(dest.Command("ASKING")->is_error());
  ASSERT_FALSE(dest.Command("SET", keys[5], "value-" + keys[5])->is_error());

  Status s = RunOneStep(journal, StepKind::kMigrate, 0, 1, {{300, 300}});
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const auto& k : keys) EXPECT_EQ(*dest.CommandString("GET", k), "value-" + k);
  EXPECT_EQ(*Client(0).CommandString("DBSIZE"), "0");
}

TEST_F(ExecutorTest, FixOpenSlotWithoutPeerMakesSlotsStable) {
  MemoryJournal journal;
  Bootstrap(journal);
  auto dest = Client(1);
  for (int s = 400; s < 410; ++s) {
    ASSERT_FALSE(dest.Command("CLUSTER", "SETSLOT", std::to_string(s), "IMPORTING", nodes_[0].id)
                     ->is_error());
  }
  Status s = RunOneStep(journal, StepKind::kFixOpenSlot, 1, 1, {{400, 409}});
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto nodes = dest.CommandString("CLUSTER", "NODES");
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(nodes->find('['), std::string::npos) << *nodes;
}

TEST_F(ExecutorTest, FailoverPromotesReplicaAndVerifiesWithRole) {
  MemoryJournal journal;
  Bootstrap(journal);
  Status s = RunOneStep(journal, StepKind::kFailover, 3, 0, {});
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto c = Client(3);
  auto role = c.Command("ROLE");
  ASSERT_TRUE(role.ok());
  EXPECT_EQ(role->elements[0].str, "master");
}

}  // namespace
}  // namespace rs::executor
