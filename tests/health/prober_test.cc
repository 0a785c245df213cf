// The prober against real redis-server processes (started and stopped by pid by LocalRedis).
#include "health/prober.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "support/local_cluster.h"
#include "support/local_redis.h"
#include "support/redis_client.h"

namespace rs::health {
namespace {

using model::Health;
using model::HealthReason;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr int64_t kInterval = 200;

class ProberTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }

  void TearDown() override {
    if (prober_) {
      prober_->Stop();
      uv_run(&loop_, UV_RUN_DEFAULT);
      prober_.reset();
    }
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  void StartProber(ProberOptions opts, std::vector<std::string> targets) {
    prober_ = std::make_unique<Prober>(
        &loop_, opts, [this](model::EventPayload e) { events_.push_back(std::move(e)); });
    prober_->SetTargets(std::move(targets));
    ASSERT_TRUE(prober_->Start().ok());
  }

  static ProberOptions FastOptions() {
    ProberOptions o;
    o.interval_ms = kInterval;
    o.timeout_ms = kInterval;
    o.health.down_after_failures = 3;
    return o;
  }

  // Runs the loop until `pred` holds; returns how long that took, or nullopt on timeout.
  template <typename Pred>
  std::optional<milliseconds> RunUntil(Pred pred, milliseconds limit) {
    auto start = steady_clock::now();
    while (!pred()) {
      if (steady_clock::now() - start > limit) return std::nullopt;
      uv_run(&loop_, UV_RUN_ONCE);
    }
    return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
  }

  void RunFor(milliseconds d) {
    auto end = steady_clock::now() + d;
    while (steady_clock::now() < end) uv_run(&loop_, UV_RUN_ONCE);
  }

  std::vector<model::NodeHealth> HealthEvents(const std::string& address) const {
    std::vector<model::NodeHealth> out;
    for (const auto& e : events_) {
      if (auto* h = std::get_if<model::NodeHealthChanged>(&e); h && h->address == address) {
        out.push_back(h->health);
      }
    }
    return out;
  }
  int ObservedCount(const std::string& address) const {
    int n = 0;
    for (const auto& e : events_) {
      if (auto* o = std::get_if<model::NodeObserved>(&e); o && o->address == address) ++n;
    }
    return n;
  }
  const model::NodeObservation* LastObservation(const std::string& address) const {
    const model::NodeObservation* last = nullptr;
    for (const auto& e : events_) {
      if (auto* o = std::get_if<model::NodeObserved>(&e); o && o->address == address) {
        last = &o->observation;
      }
    }
    return last;
  }
  // Three masters (redis-cli --cluster create's minimum) with a short node timeout.
  static test::LocalClusterOptions ThreeMasters(int replicas_per_master) {
    test::LocalClusterOptions copts;
    copts.masters = 3;
    copts.replicas_per_master = replicas_per_master;
    copts.cluster_node_timeout_ms = 1000;
    return copts;
  }
  // Until every node of a 3-node cluster was observed with cluster_state:ok, knowing the other two.
  bool RunUntilFormed(const std::vector<std::string>& addrs, milliseconds limit) {
    return RunUntil(
               [&] {
                 for (const auto& a : addrs) {
                   const auto* o = LastObservation(a);
                   if (!o || !o->cluster_ok || o->peers.size() != 2) return false;
                 }
                 return true;
               },
               limit)
        .has_value();
  }
  bool LastHealthIs(const std::string& a, Health h, HealthReason r = HealthReason::kNone) const {
    auto hs = HealthEvents(a);
    return !hs.empty() && hs.back().health == h && hs.back().reason == r;
  }

  uv_loop_t loop_;
  std::unique_ptr<Prober> prober_;
  std::vector<model::EventPayload> events_;
};

TEST_F(ProberTest, KillNineIsDownRefusedWithinTwoIntervalsAndRestartIsUp) {
  test::LocalRedis redis;
  ASSERT_TRUE(redis.Start().ok());
  const std::string a = redis.address();
  StartProber(FastOptions(), {a});
  ASSERT_TRUE(RunUntil([&] { return LastHealthIs(a, Health::kUp); }, milliseconds(3000)));
  ASSERT_TRUE(RunUntil([&] { return ObservedCount(a) == 1; }, milliseconds(3000)));
  const auto* obs = LastObservation(a);
  EXPECT_EQ(obs->id.size(), 40u);
  EXPECT_EQ(obs->role, model::Role::kMaster);

  ASSERT_TRUE(redis.Kill().ok());
  auto took = RunUntil([&] { return LastHealthIs(a, Health::kDown, HealthReason::kRefused); },
                       milliseconds(3000));
  ASSERT_TRUE(took);
  EXPECT_LE(took->count(), 2 * kInterval) << "down/refused took " << took->count() << " ms";
  EXPECT_EQ(prober_->HealthOf(a)->reason, HealthReason::kRefused);

  ASSERT_TRUE(redis.Restart().ok());
  ASSERT_TRUE(RunUntil([&] { return LastHealthIs(a, Health::kUp); }, milliseconds(3000)));
  auto hs = HealthEvents(a);
  ASSERT_EQ(hs.size(), 3u);  // up, down, up: nothing in between.
  EXPECT_LT(hs[1].since_ms, hs[2].since_ms);
}

TEST_F(ProberTest, SigstopIsSuspectThenDownWithTimeoutAndSigcontIsUp) {
  test::LocalRedis redis;
  ASSERT_TRUE(redis.Start().ok());
  const std::string a = redis.address();
  StartProber(FastOptions(), {a});
  ASSERT_TRUE(RunUntil([&] { return LastHealthIs(a, Health::kUp); }, milliseconds(3000)));

  ASSERT_TRUE(redis.Pause().ok());
  ASSERT_TRUE(RunUntil([&] { return LastHealthIs(a, Health::kSuspect, HealthReason::kTimeout); },
                       milliseconds(2000)));
  ASSERT_TRUE(RunUntil([&] { return LastHealthIs(a, Health::kDown, HealthReason::kTimeout); },
                       milliseconds(3000)));
  ASSERT_TRUE(redis.Resume().ok());
  ASSERT_TRUE(RunUntil([&] { return LastHealthIs(a, Health::kUp); }, milliseconds(3000)));
  auto hs = HealthEvents(a);
  ASSERT_EQ(hs.size(), 4u);  // up, suspect, down, up.
  EXPECT_EQ(hs[1].health, Health::kSuspect);
  EXPECT_EQ(hs[2].health, Health::kDown);
  EXPECT_GE(hs[2].since_ms, hs[1].since_ms + kInterval);
}

TEST_F(ProberTest, WritesChangeSamplesButEmitNoEvents) {
  test::LocalRedis redis;
  ASSERT_TRUE(redis.Start().ok());
  const std::string a = redis.address();
  auto client = redis.Connect();
  ASSERT_TRUE(client.ok());
  // A one-node cluster that owns every slot accepts writes.
  ASSERT_TRUE(client->Command("CLUSTER", "ADDSLOTSRANGE", "0", "16383").ok());
  ProberOptions opts = FastOptions();
  opts.full_interval_ms = kInterval;  // Samples come from full rounds: take one every round.
  StartProber(opts, {a});
  ASSERT_TRUE(RunUntil(
      [&] {
        const auto* o = LastObservation(a);
        return o && o->cluster_ok && model::CountSlots(o->slots) == 16384;
      },
      milliseconds(5000)));
  size_t events_before = events_.size();
  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < 20; ++i) {
      auto r = client->Command("SET", "key" + std::to_string(round * 20 + i), "v");
      ASSERT_TRUE(r.ok() && !r->is_error()) << (r.ok() ? r->ToString() : r.status().ToString());
    }
    RunFor(milliseconds(kInterval));
  }
  RunFor(milliseconds(2 * kInterval));
  EXPECT_EQ(events_.size(), events_before) << "key counts and offsets must not emit events";
  auto samples = prober_->Samples(a);
  ASSERT_GE(samples.size(), 6u);
  EXPECT_EQ(samples.back().keys, 120u);
  EXPECT_GT(samples.back().used_memory, 0u);
  EXPECT_LT(samples.front().keys, samples.back().keys);
  EXPECT_TRUE(prober_->Samples("127.0.0.1:1").empty());
}

TEST_F(ProberTest, WrongPasswordIsSuspectAuth) {
  test::LocalRedisOptions ropts;
  ropts.password = "s3cret";
  test::LocalRedis redis(ropts);
  ASSERT_TRUE(redis.Start().ok());
  const std::string a = redis.address();
  StartProber(FastOptions(), {a});
  ASSERT_TRUE(RunUntil([&] { return LastHealthIs(a, Health::kSuspect, HealthReason::kAuth); },
                       milliseconds(3000)));
  prober_->Stop();
  uv_run(&loop_, UV_RUN_DEFAULT);
  events_.clear();
  ProberOptions opts = FastOptions();
  opts.password = "s3cret";
  StartProber(opts, {a});
  ASSERT_TRUE(RunUntil([&] { return LastHealthIs(a, Health::kUp); }, milliseconds(3000)));
}

TEST_F(ProberTest, LoadingNodeIsSuspectLoadingThenUp) {
  test::LocalRedisOptions ropts;
  // Slow, observable loading: 100 us per key, and answer clients every KB while loading.
  ropts.extra_config = {"key-load-delay 100", "loading-process-events-interval-bytes 1024",
                        "enable-debug-command local"};
  test::LocalRedis redis(ropts);
  ASSERT_TRUE(redis.Start().ok());
  const std::string a = redis.address();
  {
    auto client = redis.Connect();
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(client->Command("CLUSTER", "ADDSLOTSRANGE", "0", "16383").ok());
    auto r = client->Command("DEBUG", "POPULATE", "20000");
    ASSERT_TRUE(r.ok() && !r->is_error()) << (r.ok() ? r->ToString() : r.status().ToString());
    r = client->Command("SAVE");
    ASSERT_TRUE(r.ok() && !r->is_error());
  }
  StartProber(FastOptions(), {a});
  ASSERT_TRUE(RunUntil([&] { return LastHealthIs(a, Health::kUp); }, milliseconds(3000)));
  // Restart blocks until the server answers PONG, so the loop runs on a helper thread meanwhile
  // (the server itself must be started from this thread).
  std::atomic<bool> done = false;
  std::thread looper([&] {
    while (!done) uv_run(&loop_, UV_RUN_ONCE);
  });
  Status restarted = redis.Restart();
  done = true;
  looper.join();
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  ASSERT_TRUE(RunUntil([&] { return LastHealthIs(a, Health::kUp); }, milliseconds(5000)));
  bool saw_loading = false;
  for (const auto& h : HealthEvents(a)) {
    saw_loading |= h.health == Health::kSuspect && h.reason == HealthReason::kLoading;
  }
  EXPECT_TRUE(saw_loading) << "expected suspect/loading while the dataset loaded";
}

TEST_F(ProberTest, HostNameTargetIsResolvedAndProbed) {
  test::LocalRedis redis;
  ASSERT_TRUE(redis.Start().ok());
  const std::string a = "localhost:" + std::to_string(redis.port());
  StartProber(FastOptions(), {a, "no-such-host.invalid:6379"});
  ASSERT_TRUE(RunUntil([&] { return LastHealthIs(a, Health::kUp); }, milliseconds(3000)));
  ASSERT_TRUE(RunUntil(
      [&] {
        auto h = prober_->HealthOf("no-such-host.invalid:6379");
        return h && h->health != Health::kUp;
      },
      milliseconds(5000)));
  ASSERT_TRUE(redis.Kill().ok());
  ASSERT_TRUE(RunUntil([&] { return LastHealthIs(a, Health::kDown, HealthReason::kRefused); },
                       milliseconds(3000)));
}

TEST_F(ProberTest, DroppedTargetIsForgotten) {
  test::LocalRedis redis;
  ASSERT_TRUE(redis.Start().ok());
  const std::string a = redis.address();
  StartProber(FastOptions(), {a});
  ASSERT_TRUE(RunUntil([&] { return LastHealthIs(a, Health::kUp); }, milliseconds(3000)));
  prober_->SetTargets({});
  ASSERT_TRUE(RunUntil([&] { return !prober_->HealthOf(a).has_value(); }, milliseconds(1000)));
  size_t before = events_.size();
  ASSERT_TRUE(redis.Kill().ok());
  RunFor(milliseconds(3 * kInterval));
  EXPECT_EQ(events_.size(), before);
}

TEST_F(ProberTest, ClusterObservationAndPersistentClusterFailIsClusterDown) {
  test::LocalCluster cluster(ThreeMasters(/*replicas_per_master=*/0));
  ASSERT_TRUE(cluster.Start().ok()) << cluster.LogTails();
  auto addrs = cluster.Addresses();
  ProberOptions opts = FastOptions();
  opts.health.cluster_down_grace_ms = 3000;
  StartProber(opts, addrs);
  ASSERT_TRUE(RunUntilFormed(addrs, milliseconds(5000)));
  uint32_t slots = 0;
  for (const auto& a : addrs) slots += model::CountSlots(LastObservation(a)->slots);
  EXPECT_EQ(slots, 16384u);

  // No replicas: killing a master leaves its slots uncovered, so the others report
  // cluster_state:fail for good; only after the grace does it become clusterdown.
  ASSERT_TRUE(cluster.node(0).Kill().ok());
  auto took =
      RunUntil([&] { return LastHealthIs(addrs[1], Health::kSuspect, HealthReason::kClusterDown); },
               milliseconds(15000));
  ASSERT_TRUE(took);
  EXPECT_GE(took->count(), 3000);
  EXPECT_TRUE(LastHealthIs(addrs[0], Health::kDown, HealthReason::kRefused));
  EXPECT_FALSE(LastObservation(addrs[1])->cluster_ok);
}

TEST_F(ProberTest, RedisOwnFailoverWindowTriggersNothingOnSurvivors) {
  test::LocalCluster cluster(ThreeMasters(/*replicas_per_master=*/1));
  ASSERT_TRUE(cluster.Start().ok()) << cluster.LogTails();
  auto addrs = cluster.Addresses();
  StartProber(FastOptions(), addrs);
  ASSERT_TRUE(RunUntil(
      [&] {
        for (const auto& a : addrs) {
          const auto* o = LastObservation(a);
          if (!o || !o->cluster_ok) return false;
          // A replica that never synced refuses to fail over: wait for every link.
          if (o->role == model::Role::kReplica && !o->master_link_up) return false;
        }
        return true;
      },
      milliseconds(15000)));
  // Kill a master; its replica takes over after node timeout + election (about 3 s).
  int victim = -1;
  for (size_t i = 0; i < addrs.size(); ++i) {
    if (LastObservation(addrs[i])->role == model::Role::kMaster) {
      victim = static_cast<int>(i);
      break;
    }
  }
  ASSERT_GE(victim, 0);
  const std::string victim_id = LastObservation(addrs[victim])->id;
  std::string replica;
  for (const auto& a : addrs) {
    if (LastObservation(a)->master_id == victim_id) replica = a;
  }
  ASSERT_FALSE(replica.empty());
  ASSERT_TRUE(cluster.node(victim).Kill().ok());
  ASSERT_TRUE(RunUntil([&] { return LastObservation(replica)->role == model::Role::kMaster; },
                       milliseconds(20000)))
      << cluster.LogTails();
  ASSERT_TRUE(cluster.WaitForClusterOk(std::chrono::seconds(20)).ok()) << cluster.LogTails();
  RunFor(milliseconds(1500));
  for (size_t i = 0; i < addrs.size(); ++i) {
    if (static_cast<int>(i) == victim) continue;
    auto hs = HealthEvents(addrs[i]);
    ASSERT_EQ(hs.size(), 1u) << addrs[i] << " changed health during Redis's own failover";
    EXPECT_EQ(hs[0].health, Health::kUp);
    for (const auto& e : events_) {
      if (auto* o = std::get_if<model::NodeObserved>(&e); o && o->address == addrs[i]) {
        EXPECT_TRUE(o->observation.cluster_ok) << addrs[i] << " reported the failover window";
      }
    }
  }
  EXPECT_TRUE(LastHealthIs(addrs[victim], Health::kDown, HealthReason::kRefused));
}

// Calls of one command on a node since it started, from INFO commandstats.
uint64_t CommandCalls(test::RedisClient& c, const std::string& command) {
  auto info = c.CommandString("INFO", "commandstats");
  if (!info.ok()) return 0;
  auto pos = info->find("cmdstat_" + command + ":calls=");
  if (pos == std::string::npos) return 0;
  return std::stoull(info->substr(pos + command.size() + 15));
}

TEST_F(ProberTest, IdleNodeGetsClusterInfoEveryRoundAndTheFullProbeOnlyNowAndThen) {
  test::LocalRedis redis;
  ASSERT_TRUE(redis.Start().ok());
  const std::string a = redis.address();
  auto client = redis.Connect();
  ASSERT_TRUE(client.ok());
  ProberOptions opts = FastOptions();
  opts.interval_ms = 100;
  opts.full_interval_ms = 2000;
  StartProber(opts, {a});
  ASSERT_TRUE(RunUntil([&] { return ObservedCount(a) == 1; }, milliseconds(3000)));
  uint64_t info0 = CommandCalls(*client, "cluster|info");
  uint64_t nodes0 = CommandCalls(*client, "cluster|nodes");
  uint64_t ping0 = CommandCalls(*client, "ping");
  RunFor(milliseconds(4000));
  uint64_t info = CommandCalls(*client, "cluster|info") - info0;
  uint64_t nodes = CommandCalls(*client, "cluster|nodes") - nodes0;
  // About 40 rounds, of which 2 to 4 full (every 1 to 2 s); before, all 40 were full.
  EXPECT_GE(info, 15u);
  EXPECT_GE(nodes, 1u) << "no full round within 4 s at a full interval of 2 s";
  EXPECT_LE(nodes * 4, info) << nodes << " CLUSTER NODES for " << info << " rounds";
  EXPECT_EQ(CommandCalls(*client, "ping"), ping0) << "CLUSTER INFO is the liveness probe";
  EXPECT_EQ(ObservedCount(a), 1) << "an idle node's observation does not change";
  EXPECT_GE(prober_->Samples(a).size(), 2u) << "samples keep coming from the full rounds";
}

TEST_F(ProberTest, ChangeSeenInClusterInfoBringsAFreshObservationAtOnce) {
  test::LocalCluster cluster(ThreeMasters(/*replicas_per_master=*/0));
  ASSERT_TRUE(cluster.Start().ok()) << cluster.LogTails();
  auto addrs = cluster.Addresses();
  ProberOptions opts = FastOptions();
  opts.full_interval_ms = 600'000;  // No rotation within the test: only changes bring full rounds.
  StartProber(opts, addrs);
  auto epoch_of_0_seen_by = [&](const std::string& a) -> uint64_t {
    const auto* o = LastObservation(a);
    if (o == nullptr) return 0;
    if (a == addrs[0]) return o->config_epoch;
    for (const auto& p : o->peers) {
      if (p.address == addrs[0]) return p.config_epoch;
    }
    return 0;
  };
  ASSERT_TRUE(RunUntilFormed(addrs, milliseconds(10000)));
  RunFor(milliseconds(1500));  // Gossip of the creation settles.
  auto c = cluster.node(0).Connect();
  ASSERT_TRUE(c.ok());
  // A new config epoch for node 0: its CLUSTER INFO (cluster_my_epoch) changes, and the others
  // learn it by gossip, which only their CLUSTER NODES shows.
  auto bumped = c->CommandString("CLUSTER", "BUMPEPOCH");
  ASSERT_TRUE(bumped.ok() && bumped->starts_with("BUMPED")) << (bumped.ok() ? *bumped : "");
  uint64_t epoch = std::stoull(bumped->substr(7));
  auto took = RunUntil(
      [&] {
        for (const auto& a : addrs) {
          if (epoch_of_0_seen_by(a) != epoch) return false;
        }
        return true;
      },
      milliseconds(10000));
  ASSERT_TRUE(took) << "the views were not fetched again after node 0's epoch changed";
}

TEST_F(ProberTest, FullRefreshProbesEveryNodeAfterTheRequestAndRecordsItFirst) {
  test::LocalCluster cluster(ThreeMasters(/*replicas_per_master=*/0));
  ASSERT_TRUE(cluster.Start().ok()) << cluster.LogTails();
  auto addrs = cluster.Addresses();
  ProberOptions opts = FastOptions();
  opts.full_interval_ms = 600'000;
  StartProber(opts, addrs);
  ASSERT_TRUE(RunUntilFormed(addrs, milliseconds(10000)));
  RunFor(milliseconds(1500));
  // An open slot shows in CLUSTER NODES only, not in CLUSTER INFO: light rounds miss it.
  const std::string other_id = LastObservation(addrs[1])->id;
  ASSERT_FALSE(LastObservation(addrs[0])->slots.empty());
  const int slot = LastObservation(addrs[0])->slots.front().first;
  auto c = cluster.node(0).Connect();
  ASSERT_TRUE(c.ok());
  auto r = c->Command("CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", other_id);
  ASSERT_TRUE(r.ok() && !r->is_error()) << (r.ok() ? r->ToString() : r.status().ToString());
  RunFor(milliseconds(6 * kInterval));
  ASSERT_TRUE(LastObservation(addrs[0])->open_slots.empty())
      << "a light round saw the open slot: the test no longer tells refreshes apart";

  uint64_t ticket = prober_->RequestFullRefresh();
  EXPECT_FALSE(prober_->WaitForFullRefresh(ticket, milliseconds(0)));
  ASSERT_TRUE(RunUntil([&] { return prober_->WaitForFullRefresh(ticket, milliseconds(0)); },
                       milliseconds(5000)));
  ASSERT_EQ(LastObservation(addrs[0])->open_slots.size(), 1u)
      << "the refresh was done before the open slot was recorded";
  // A later ticket waits for new rounds again.
  uint64_t next = prober_->RequestFullRefresh();
  EXPECT_GT(next, ticket);
  EXPECT_FALSE(prober_->WaitForFullRefresh(next, milliseconds(0)));
  EXPECT_TRUE(RunUntil([&] { return prober_->WaitForFullRefresh(next, milliseconds(0)); },
                       milliseconds(5000)));
}

TEST_F(ProberTest, FullRefreshOfANodeThatDoesNotAnswerEndsAtTheTimeout) {
  test::LocalRedis redis;
  ASSERT_TRUE(redis.Start().ok());
  const std::string a = redis.address();
  StartProber(FastOptions(), {a});
  ASSERT_TRUE(RunUntil([&] { return LastHealthIs(a, Health::kUp); }, milliseconds(3000)));
  ASSERT_TRUE(redis.Pause().ok());
  uint64_t ticket = prober_->RequestFullRefresh();
  auto took = RunUntil([&] { return prober_->WaitForFullRefresh(ticket, milliseconds(0)); },
                       milliseconds(10000));
  ASSERT_TRUE(redis.Resume().ok());
  ASSERT_TRUE(took) << "a stopped node held the refresh up";
}

TEST_F(ProberTest, OneSlowAnswerIsNotSuspect) {
  test::LocalRedis redis;
  ASSERT_TRUE(redis.Start().ok());
  const std::string a = redis.address();
  ProberOptions opts = FastOptions();
  opts.interval_ms = 400;
  opts.timeout_ms = 300;
  StartProber(opts, {a});
  ASSERT_TRUE(RunUntil([&] { return LastHealthIs(a, Health::kUp); }, milliseconds(3000)));
  RunFor(milliseconds(2 * opts.interval_ms));
  // Stopped for about one round: one round times out, the next one is answered.
  ASSERT_TRUE(redis.Pause().ok());
  RunFor(milliseconds(450));
  ASSERT_TRUE(redis.Resume().ok());
  RunFor(milliseconds(3 * opts.interval_ms));
  auto hs = HealthEvents(a);
  ASSERT_EQ(hs.size(), 1u) << "one missed round changed the health to "
                           << model::HealthName(hs.back().health);
  // Stopped for several rounds: suspect, then down.
  ASSERT_TRUE(redis.Pause().ok());
  bool down = RunUntil([&] { return LastHealthIs(a, Health::kDown, HealthReason::kTimeout); },
                       milliseconds(5000))
                  .has_value();
  ASSERT_TRUE(redis.Resume().ok());
  ASSERT_TRUE(down);
  hs = HealthEvents(a);
  ASSERT_GE(hs.size(), 3u);
  EXPECT_EQ(hs[1].health, Health::kSuspect);
}

}  // namespace
}  // namespace rs::health
