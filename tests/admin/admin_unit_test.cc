// Pure parts of the admin server: tokens, operation validation, alert triggers and cool-down.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "admin/alerts.h"
#include "admin/auth.h"
#include "admin/backup_request.h"
#include "admin/operation_json.h"
#include "admin/topology_poll.h"

namespace rs::admin {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TEST(TopologyPollTest, AnswersAtOnceUnlessTheCallerHasTheCurrentEpochOfThisGeneration) {
  const std::string g = "0123456789abcdef0123456789abcdef";
  auto at_once = [&](std::optional<uint64_t> after, std::optional<std::string> gen,
                     uint64_t epoch) {
    return TopologyAnswersAtOnce(TopologyPoll{after, gen}, epoch, g);
  };
  EXPECT_TRUE(at_once(std::nullopt, std::nullopt, 0));  // A plain read.
  EXPECT_TRUE(at_once(std::nullopt, std::nullopt, 3));
  EXPECT_TRUE(at_once(2, std::nullopt, 3));   // Newer.
  EXPECT_FALSE(at_once(3, std::nullopt, 3));  // Current: wait.
  EXPECT_FALSE(at_once(3, g, 3));
  EXPECT_FALSE(at_once(3, "", 3));  // An empty generation is no generation.
  // The caller followed a history this controller no longer has (its data dir was lost).
  EXPECT_TRUE(at_once(8, std::nullopt, 2));  // after > epoch.
  EXPECT_TRUE(at_once(8, g, 2));
  EXPECT_TRUE(at_once(2, "ffffffffffffffffffffffffffffffff", 2));  // Same epoch, other history.
  // Nothing committed yet: an empty topology would route nothing, so polls wait.
  EXPECT_FALSE(at_once(8, std::nullopt, 0));
  EXPECT_FALSE(at_once(0, "ffffffffffffffffffffffffffffffff", 0));
}

TEST(BackupRequestTest, NamesOnePathComponentUnderTheRootAndKeepsAtLeastOne) {
  constexpr int64_t kNow = 1'795'024'800'000;  // 2026-11-18T18:00:00Z
  auto r = BackupRequestFromBody("", kNow);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name, "eventlog-20261118T180000Z");
  EXPECT_FALSE(r->keep.has_value());
  r = BackupRequestFromBody(R"({"name":"before-upgrade","keep":3})", kNow);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name, "before-upgrade");
  EXPECT_EQ(r->keep, 3u);
  for (const char* bad :
       {R"({"name":"../etc"})", R"({"name":"a/b"})", R"({"name":".x"})", R"({"name":7})",
        R"({"keep":0})", R"({"keep":-1})", R"({"keep":"2"})", "[]", "not json"}) {
    EXPECT_FALSE(BackupRequestFromBody(bad, kNow).ok()) << bad;
  }
}

TEST(TokenSetTest, AcceptsOnlyAnExactBearerSecretAndNamesIt) {
  TokenSet t({"alice:abc123", "bare-secret", ""});
  EXPECT_EQ(t.Check("Bearer abc123"), "alice");
  EXPECT_EQ(t.Check("Bearer bare-secret"), "admin");
  EXPECT_FALSE(t.Check("Bearer abc12"));
  EXPECT_FALSE(t.Check("Bearer abc1234"));
  EXPECT_FALSE(t.Check("abc123"));
  EXPECT_FALSE(t.Check("Bearer "));
  EXPECT_FALSE(t.Check(""));
  EXPECT_TRUE(TokenSet({}).empty());
}

TEST(ConstantTimeEqualTest, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEqual("", ""));
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual(std::string_view("abc\0", 4), "abc"));
}

TEST(ParseSlotListTest, NormalisesRangesAndRejectsGarbage) {
  auto r = ParseSlotList("200, 0-100,101-150");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(model::RangesToString(*r), "0-150,200");
  EXPECT_FALSE(ParseSlotList("").ok());
  EXPECT_FALSE(ParseSlotList("16384").ok());
  EXPECT_FALSE(ParseSlotList("5-2").ok());
  EXPECT_FALSE(ParseSlotList("a-b").ok());
  EXPECT_FALSE(ParseSlotList("1,,2").ok());
}

model::ClusterState TwoNodes() {
  model::ClusterState s;
  s.members["127.0.0.1:7000"] = {1, "127.0.0.1:7000", "h1"};
  s.observed["127.0.0.1:7001"] = {};
  return s;
}

TEST(OperationFromJsonTest, BuildsRequestsWithWho) {
  auto s = TwoNodes();
  auto r = OperationFromJson(json{{"kind", "migrate"},
                                  {"from", "127.0.0.1:7000"},
                                  {"to", "127.0.0.1:7001"},
                                  {"slots", "0-9"}},
                             s, "alice");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->who, "alice");
  EXPECT_EQ(r->kind, model::OperatorKind::kMigrate);
  EXPECT_EQ(model::CountSlots(r->slots), 10u);
  auto f = OperationFromJson(json{{"kind", "failover"},
                                  {"node", "127.0.0.1:7001"},
                                  {"mode", "takeover"},
                                  {"confirm", std::string(kDataLossConfirmation)}},
                             s, "bob");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->mode, model::FailoverMode::kTakeover);
  auto add = OperationFromJson(json{{"kind", "add-node"}, {"node", "10.0.0.9:6379"}}, s, "x");
  EXPECT_TRUE(add.ok()) << "a new node need not be known yet";
  auto w =
      OperationFromJson(json{{"kind", "rebalance"}, {"weights", {{"127.0.0.1:7000", 2}}}}, s, "x");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->weights.at("127.0.0.1:7000"), 2);
}

TEST(OperationFromJsonTest, RejectsWhatCannotBeRightWithAReason) {
  auto s = TwoNodes();
  auto reason = [&](const json& j) {
    auto r = OperationFromJson(j, s, "x");
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_NE(reason(json::array()).find("object"), std::string::npos);
  EXPECT_NE(reason(json{{"kind", 3}}).find("kind"), std::string::npos);
  EXPECT_NE(
      reason(
          json{{"kind", "migrate"}, {"from", "127.0.0.1:7000"}, {"to", "9.9.9.9:1"}, {"count", 3}})
          .find("unknown node 9.9.9.9:1"),
      std::string::npos);
  EXPECT_NE(reason(json{{"kind", "migrate"},
                        {"from", "127.0.0.1:7000"},
                        {"to", "127.0.0.1:7001"},
                        {"count", 0}})
                .find("count"),
            std::string::npos);
  EXPECT_NE(reason(json{{"kind", "failover"},
                        {"node", "127.0.0.1:7001"},
                        {"mode", "force"},
                        {"confirm", "yes"}})
                .find(kDataLossConfirmation),
            std::string::npos);
  EXPECT_NE(reason(json{{"kind", "add-node"}, {"node", "not an address"}}), "ok");
  EXPECT_NE(reason(json{{"kind", "rebalance"}, {"weights", {{"127.0.0.1:7000", "heavy"}}}}), "ok");
}

// Alerter fed synthetic events; the record callback collects what would be recorded.
class AlerterTest : public ::testing::Test {
 protected:
  void Make(std::chrono::seconds cooldown = 60s) {
    alerter_ = std::make_unique<Alerter>(
        "", cooldown,
        [this](const Alert& a, bool delivered) {
          std::lock_guard lock(mu_);
          EXPECT_FALSE(delivered) << "no webhook configured";
          got_.push_back(a);
        },
        clock_);
  }
  eventlog::DecodedEvent Ev(model::EventPayload p, int64_t time_ms = 0) {
    eventlog::DecodedEvent d;
    d.event.seq = ++seq_;
    d.event.time_ms = time_ms;
    d.event.payload = std::move(p);
    return d;
  }
  std::vector<Alert> Got() {
    alerter_->Stop();  // Drains the queue.
    std::lock_guard lock(mu_);
    return got_;
  }
  static model::NodeHealthChanged Down(const std::string& addr) {
    model::NodeHealthChanged h;
    h.address = addr;
    h.health.health = model::Health::kDown;
    h.health.reason = model::HealthReason::kRefused;
    return h;
  }

  FakeClock clock_;  // The cool-down's time: tests move it instead of sleeping.
  std::unique_ptr<Alerter> alerter_;
  std::mutex mu_;
  std::vector<Alert> got_;
  model::Seq seq_ = 0;
};

TEST_F(AlerterTest, NodeDownOnceWithinTheCooldownAndNeverForHistory) {
  Make();
  alerter_->Observe(Ev(Down("10.0.0.1:1")), /*live=*/false);
  alerter_->Observe(Ev(Down("10.0.0.2:1")), true);
  alerter_->Observe(Ev(Down("10.0.0.2:1")), true);
  auto got = Got();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, "node-down");
  EXPECT_EQ(got[0].subject, "node 10.0.0.2:1");
  EXPECT_EQ(got[0].cause, 2u);
}

TEST_F(AlerterTest, MutedNodesStaySilentUntilUnmuted) {
  Make(0s);
  alerter_->Observe(Ev(model::AlertRaised{"node 10.0.0.2:1", "mute", "", true}), false);
  alerter_->Observe(Ev(Down("10.0.0.2:1")), true);
  EXPECT_TRUE(alerter_->Muted("10.0.0.2:1"));
  alerter_->Observe(Ev(model::AlertRaised{"node 10.0.0.2:1", "unmute", "", true}), true);
  alerter_->Observe(Ev(Down("10.0.0.2:1")), true);
  auto got = Got();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].cause, 4u);
}

TEST_F(AlerterTest, PlanFailedFailoverDoneAndUncoveredSlots) {
  Make();
  model::Plan failover;
  failover.id = 7;
  failover.steps.push_back({});
  failover.steps[0].kind = model::StepKind::kFailover;
  alerter_->Observe(Ev(model::PlanProposed{failover, 0}), true);
  alerter_->Observe(Ev(model::PlanFinished{7, model::PlanOutcome::kCompleted, ""}), true);
  model::Plan other;
  other.id = 8;
  alerter_->Observe(Ev(model::PlanProposed{other, 0}), true);
  alerter_->Observe(Ev(model::PlanFinished{8, model::PlanOutcome::kFailed, "boom"}), true);
  model::Topology t;
  t.epoch = 3;
  alerter_->Observe(Ev(model::TopologyCommitted{t}, 1'000'000), true);
  model::NodeObserved o;
  o.address = "10.0.0.1:1";
  o.observation.role = model::Role::kMaster;
  o.observation.slots = {{0, 8000}};
  model::PeerView peer;
  peer.role = model::Role::kMaster;
  peer.slots = {{8001, 16383}};
  peer.fail = true;  // Its slots are not served.
  o.observation.peers = {peer};
  // Right after a commit, a lagging view is gossip catching up, not an outage.
  model::NodeObserved lagging = o;
  lagging.observation.slots = {{0, 5000}};
  alerter_->Observe(Ev(lagging, 1'001'000), true);
  alerter_->Observe(Ev(o, 1'010'000), true);
  alerter_->Observe(Ev(o, 1'011'000), true);  // Same view again: no second alert.
  auto got = Got();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].kind, "failover-done");
  EXPECT_EQ(got[1].kind, "plan-failed");
  EXPECT_NE(got[1].message.find("boom"), std::string::npos);
  EXPECT_EQ(got[2].kind, "uncovered-slots");
  EXPECT_NE(got[2].message.find("8001 of 16384"), std::string::npos) << got[2].message;
}

model::DiscoveryStatusChanged Lainlet(bool reachable, std::string reason) {
  return {"lainlet:http://127.0.0.1:9001/v2/procwatcher?appname=x", reachable, std::move(reason)};
}

TEST_F(AlerterTest, LainletUnreachableOnceWithinTheCooldownThenItsRecovery) {
  Make();
  alerter_->Observe(Ev(Lainlet(false, "connect 127.0.0.1:9001: connection refused")), true);
  // Its own record of the alert must not trigger anything (no loops).
  alerter_->Observe(Ev(model::AlertRaised{"lainlet", "lainlet-unreachable", "x", true}), true);
  alerter_->Observe(Ev(Lainlet(true, "init on the watch")), true);
  alerter_->Observe(Ev(Lainlet(false, "HTTP 500 boom")), true);     // Held by the cool-down,
  alerter_->Observe(Ev(Lainlet(true, "init on the watch")), true);  // dropped: it cleared,
  alerter_->Tick();                                                 // and no recovery either.
  auto got = Got();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].kind, "lainlet-unreachable");
  EXPECT_EQ(got[0].subject, "lainlet");
  EXPECT_EQ(got[0].cause, 1u);
  EXPECT_NE(got[0].message.find("is unreachable: connect 127.0.0.1:9001: connection refused"),
            std::string::npos)
      << got[0].message;
  EXPECT_EQ(got[1].kind, "lainlet-reachable");
  EXPECT_EQ(got[1].subject, "lainlet");
  EXPECT_EQ(got[1].cause, 3u);
}

TEST_F(AlerterTest, MembersFileUnusableAndUsableAgainAreAlertedAsSuch) {
  Make();
  const std::string src = "file:/etc/redis-ctl/members";
  alerter_->Observe(Ev(model::DiscoveryStatusChanged{
                        src, false, "members file unusable at start: /x: line 2: bad port"}),
                    true);
  alerter_->Observe(
      Ev(model::DiscoveryStatusChanged{src, true, "members file valid: 6 members"}), true);
  auto got = Got();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].subject, "members file");
  EXPECT_EQ(got[0].kind, "members-file-invalid");
  EXPECT_NE(got[0].message.find(src + " is unusable: members file unusable at start: /x: line 2"),
            std::string::npos)
      << got[0].message;
  EXPECT_EQ(got[1].kind, "members-file-valid");
  EXPECT_NE(got[1].message.find("is usable again"), std::string::npos) << got[1].message;
}

TEST_F(AlerterTest, HeldBackAlertIsSentWhenTheCooldownEndsIfItsConditionStillHolds) {
  Make(1s);
  alerter_->Observe(Ev(Lainlet(false, "HTTP 500 boom")), true);       // 1: sent.
  alerter_->Observe(Ev(Lainlet(true, "init on the watch")), true);    // 2: recovery sent.
  alerter_->Observe(Ev(Lainlet(false, "connect: refused")), true);    // 3: held back...
  alerter_->Observe(Ev(Down("10.0.0.1:1")), true);                    // 4: sent.
  alerter_->Observe(Ev(model::NodeHealthChanged{"10.0.0.1:1", {}}), true);
  alerter_->Observe(Ev(Down("10.0.0.1:1")), true);                    // 6: held back, then
  alerter_->Observe(Ev(model::NodeHealthChanged{"10.0.0.1:1", {}}), true);  // cleared.
  alerter_->Observe(Ev(Down("10.0.0.2:1")), true);                    // 8: sent.
  alerter_->Observe(Ev(model::NodeHealthChanged{"10.0.0.2:1", {}}), true);
  alerter_->Observe(Ev(Down("10.0.0.2:1")), true);                    // 10: held back, then
  alerter_->Observe(Ev(model::AlertRaised{"node 10.0.0.2:1", "mute", "", true}), true);
  clock_.Advance(900ms);
  alerter_->Tick();  // Within the cool-down: nothing yet.
  clock_.Advance(200ms);
  alerter_->Tick();  // ...the lainlet outage still holds: sent; the node's mute wins.
  alerter_->Observe(Ev(Lainlet(true, "init on the watch")), true);    // 12: its recovery.
  auto got = Got();
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[0].kind, "lainlet-unreachable");
  EXPECT_EQ(got[1].kind, "lainlet-reachable");
  EXPECT_EQ(got[2].subject, "node 10.0.0.1:1");
  EXPECT_EQ(got[3].subject, "node 10.0.0.2:1");
  EXPECT_EQ(got[4].kind, "lainlet-unreachable");
  EXPECT_EQ(got[4].cause, 3u);
  EXPECT_NE(got[4].message.find("connect: refused"), std::string::npos) << got[4].message;
  EXPECT_EQ(got[5].kind, "lainlet-reachable");
  EXPECT_EQ(got[5].cause, 12u);
}

TEST_F(AlerterTest, TheEndOfAnOutageAnnouncedBeforeARestartIsAnnounced) {
  Make(0s);
  alerter_->Observe(Ev(Lainlet(false, "HTTP 500 boom")), /*live=*/false);
  alerter_->Observe(Ev(model::AlertRaised{"lainlet", "lainlet-unreachable", "x", true}), false);
  alerter_->Observe(Ev(Lainlet(true, "init on the watch")), true);
  auto got = Got();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, "lainlet-reachable");
}

TEST_F(AlerterTest, LainletUnreachableIsNotRaisedWhileCatchingUp) {
  Make(0s);
  alerter_->Observe(Ev(Lainlet(false, "HTTP 500 boom")), /*live=*/false);
  // An outage that was never announced (no alert in the history): nor is its end.
  alerter_->Observe(Ev(Lainlet(true, "init on the watch")), true);
  alerter_->Observe(Ev(Lainlet(true, "periodic GET answered 200")), true);
  EXPECT_TRUE(Got().empty());
}

TEST_F(AlerterTest, LainletAlertsRepeatAfterTheCooldown) {
  Make(0s);
  alerter_->Observe(Ev(Lainlet(false, "HTTP 500 boom")), true);
  alerter_->Observe(Ev(Lainlet(false, "HTTP 500 boom")), true);
  alerter_->Observe(Ev(Lainlet(true, "init on the watch")), true);
  auto got = Got();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].kind, "lainlet-unreachable");
  EXPECT_EQ(got[1].kind, "lainlet-unreachable");
  EXPECT_EQ(got[2].kind, "lainlet-reachable");
}

}  // namespace
}  // namespace rs::admin
