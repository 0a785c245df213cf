// A node that cannot join, against real redis-servers: the step-failed reason says what is wrong
// and what to set. A node on 127.0.0.2 without bind-source-addr connects from 127.0.0.1, so its
// MEET never completes; a replica whose master is in protected mode never syncs (Redis treats
// only 127.0.0.1, ::1 and unix sockets as local, so a replica on 127.0.0.2 is refused).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "executor/executor.h"
#include "memory_journal.h"
#include "support/local_redis.h"
#include "support/test_status.h"

namespace rs::executor {
namespace {

using model::NodeRef;
using model::Step;
using model::StepKind;

class JoinDiagnosisTest : public ::testing::Test {
 protected:
  JoinDiagnosisTest() {
    // Short waits and one attempt: each test fails a step, and should do so in seconds.
    config_.step.converge_timeout_ms = 4000;
    config_.max_attempts = 1;
  }

  // Starts a node and returns it as a NodeRef.
  NodeRef Start(test::LocalRedisOptions o) {
    // A short node timeout lets a failed handshake expire while the step still waits, as it
    // does in production with the 15 s default and a 20 s wait: the reason must survive it.
    o.cluster_node_timeout_ms = 1500;
    o.extra_config.push_back("repl-diskless-sync-delay 0");
    nodes_.push_back(std::make_unique<test::LocalRedis>(o));
    Status s = nodes_.back()->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto id = nodes_.back()->NodeId();
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return {nodes_.back()->address(), id.ok() ? *id : ""};
  }

  // The MEET tests' nodes: a on 127.0.0.1, b on 127.0.0.3 and the joiner on 127.0.0.2, which
  // sets bind-source-addr to its own address only if joiner_binds_source.
  struct JoinTrio {
    NodeRef a, b, joiner;
  };
  JoinTrio StartJoinTrio(bool joiner_binds_source) {
    test::LocalRedisOptions o;
    o.host = "127.0.0.1";
    JoinTrio t;
    t.a = Start(o);
    o.host = "127.0.0.3";
    t.b = Start(o);
    o.host = "127.0.0.2";
    o.set_source_address = joiner_binds_source;
    t.joiner = Start(o);
    return t;
  }

  static Step MakeStep(StepKind kind, const NodeRef& target, const NodeRef& peer) {
    Step s;
    s.kind = kind;
    s.target = target;
    s.peer = peer;
    return s;
  }

  // Runs a plan of `steps` and returns the error of its step-failed event ("" if none).
  std::string RunAndGetStepFailure(std::vector<Step> steps, uint32_t* failed_step) {
    model::Plan plan;
    plan.id = 1;
    plan.reason = "test";
    plan.steps = std::move(steps);
    EXPECT_TRUE(journal_.Record(model::PlanProposed{plan, 0}, 0, true).ok());
    Executor ex(config_, &journal_);
    auto started = std::chrono::steady_clock::now();
    Status s = ex.RunPlan(nullptr);
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("plan ran %.1f s: %s\n", secs, s.ToString().c_str());
    EXPECT_FALSE(s.ok());
    for (const auto& e : journal_.Events()) {
      if (const auto* f = std::get_if<model::StepFailed>(&e.payload)) {
        *failed_step = f->step;
        return f->error;
      }
    }
    return "";
  }

  ExecutorConfig config_;
  MemoryJournal journal_;
  std::vector<std::unique_ptr<test::LocalRedis>> nodes_;
};

TEST_F(JoinDiagnosisTest, MeetFromAnotherSourceAddressNamesBindSourceAddr) {
  auto [a, b, joiner] = StartJoinTrio(/*joiner_binds_source=*/false);
  ASSERT_FALSE(HasFailure());
  uint32_t failed = 0;
  std::string error = RunAndGetStepFailure(
      {MakeStep(StepKind::kMeet, b, a), MakeStep(StepKind::kMeet, joiner, b)}, &failed);
  EXPECT_EQ(failed, 1u) << error;
  // 127.0.0.3:P sees a handshake from 127.0.0.1:Q instead of 127.0.0.2:Q: ... set
  // bind-source-addr 127.0.0.2 ...
  const std::string port = joiner.address.substr(joiner.address.rfind(':') + 1);
  EXPECT_NE(error.find(b.address + " sees a handshake from 127.0.0.1:" + port + " instead of " +
                       joiner.address),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("set bind-source-addr 127.0.0.2"), std::string::npos) << error;
  EXPECT_NE(error.find("neither bind-source-addr nor cluster-announce-ip"), std::string::npos)
      << error;
  // The plan's outcome carries it too (redis-svc status and the console show that).
  auto state = journal_.State();
  ASSERT_FALSE(state.plan_history.empty());
  EXPECT_NE(state.plan_history.back().detail.find("bind-source-addr"), std::string::npos);
}

TEST_F(JoinDiagnosisTest, MeetWithOwnSourceAddressCompletes) {
  // The same three nodes with bind-source-addr set: the MEET completes (the control case).
  auto [a, b, joiner] = StartJoinTrio(/*joiner_binds_source=*/true);
  ASSERT_FALSE(HasFailure());
  model::Plan plan;
  plan.id = 1;
  plan.steps = {MakeStep(StepKind::kMeet, b, a), MakeStep(StepKind::kMeet, joiner, b)};
  ASSERT_TRUE(journal_.Record(model::PlanProposed{plan, 0}, 0, true).ok());
  Executor ex(config_, &journal_);
  RS_EXPECT_OK(ex.RunPlan(nullptr));
}

TEST_F(JoinDiagnosisTest, ReplicaOfProtectedMasterShowsTheDeniedAnswer) {
  test::LocalRedisOptions o;
  o.host = "127.0.0.1";
  o.extra_config = {"protected-mode yes"};  // After LocalRedis's own "no": the last one counts.
  NodeRef master = Start(o);
  o.host = "127.0.0.2";
  o.extra_config = {};
  NodeRef replica = Start(o);
  ASSERT_FALSE(HasFailure());
  uint32_t failed = 0;
  std::string error = RunAndGetStepFailure(
      {MakeStep(StepKind::kMeet, replica, master), MakeStep(StepKind::kReplicate, replica, master)},
      &failed);
  EXPECT_EQ(failed, 1u) << error;
  EXPECT_NE(
      error.find(replica.address + " has not completed its first sync from " + master.address),
      std::string::npos)
      << error;
  EXPECT_NE(error.find("master_link_status:down"), std::string::npos) << error;
  EXPECT_NE(error.find("a connection from 127.0.0.2 to " + master.address +
                       " gets \"-DENIED Redis is running in protected mode"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("set protected-mode no"), std::string::npos) << error;
  // The replica's own log agrees.
  EXPECT_NE(nodes_[1]->LogTail(200).find("DENIED"), std::string::npos);
}

}  // namespace
}  // namespace rs::executor
