// Under load: live resharding (1000 slots moved away and back while a client pipelines SET/GET
// pairs over 200,000 keys, through the proxy and, as the baseline, straight to the masters) and
// failover (kill -9 of a master, same client connection continues).
#include <gtest/gtest.h>

#include <cstdlib>

#include <atomic>
#include <map>
#include <thread>

#include "common/slot.h"
#include "proxy/redirect.h"
#include "proxy/topology_source.h"
#include "proxy_fixture.h"
#include "support/test_status.h"

namespace rs::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Where the load's pipelined SET/GET pairs go: one connection to the proxy, or straight to the
// masters (the baseline).
class PairPipeline {
 public:
  virtual ~PairPipeline() = default;
  // Sends SET key value / GET key for every pair in one pipelined batch; the replies, SET then
  // GET per pair. A transport failure is an error status.
  virtual Result<std::vector<Reply>> Run(
      const std::vector<std::pair<std::string, std::string>>& pairs) = 0;
};

class ThroughProxy : public PairPipeline {
 public:
  explicit ThroughProxy(RedisClient c) : c_(std::move(c)) {}
  Result<std::vector<Reply>> Run(
      const std::vector<std::pair<std::string, std::string>>& pairs) override {
    for (const auto& [k, v] : pairs) {
      c_.Append({"SET", k, v});
      c_.Append({"GET", k});
    }
    std::vector<Reply> replies;
    for (size_t i = 0; i < 2 * pairs.size(); ++i) {
      RS_ASSIGN_OR_RETURN(Reply r, c_.GetReply());
      replies.push_back(std::move(r));
    }
    return replies;
  }

 private:
  RedisClient c_;
};

// The baseline: what a cluster-aware client gets without a proxy. It pipelines each batch to
// the masters by its own slot map and follows MOVED (patching the map) and ASK (ASKING, for that
// pair only) itself, one pair at a time, like redis-py's or Jedis's cluster clients.
class DirectToMasters : public PairPipeline {
 public:
  static Result<DirectToMasters> Create(ProxyHarness& h, const std::string& seed) {
    RS_ASSIGN_OR_RETURN(proxy::RoutingTable table,
                        proxy::FetchClusterSlots({seed}, proxy::ProxyConfig{}));
    DirectToMasters d(h);
    for (int s = 0; s < kSlotCount; ++s) {
      if (const std::string* owner = table.OwnerOf(s)) d.owner_[static_cast<size_t>(s)] = *owner;
    }
    return d;
  }

  Result<std::vector<Reply>> Run(
      const std::vector<std::pair<std::string, std::string>>& pairs) override {
    // Send every pair to the node the map names, then read each node's replies in its order.
    std::vector<std::string> sent_to(pairs.size());
    std::vector<std::string> order;
    for (size_t i = 0; i < pairs.size(); ++i) {
      sent_to[i] = owner_[static_cast<size_t>(KeySlot(pairs[i].first))];
      RS_ASSIGN_OR_RETURN(RedisClient * c, Node(sent_to[i]));
      c->Append({"SET", pairs[i].first, pairs[i].second});
      c->Append({"GET", pairs[i].first});
      if (std::find(order.begin(), order.end(), sent_to[i]) == order.end()) {
        order.push_back(sent_to[i]);
      }
    }
    for (const std::string& node : order) {
      RS_ASSIGN_OR_RETURN(RedisClient * c, Node(node));
      RS_RETURN_IF_ERROR(c->Flush());
    }
    std::vector<Reply> replies(2 * pairs.size());
    for (const std::string& node : order) {
      for (size_t i = 0; i < pairs.size(); ++i) {
        if (sent_to[i] != node) continue;
        RS_ASSIGN_OR_RETURN(RedisClient * c, Node(node));
        RS_ASSIGN_OR_RETURN(replies[2 * i], c->GetReply());
        RS_ASSIGN_OR_RETURN(replies[2 * i + 1], c->GetReply());
      }
    }
    for (size_t i = 0; i < pairs.size(); ++i) {
      for (int hops = 0; hops < proxy::kMaxRedirects; ++hops) {
        proxy::Redirect r = Redirected(replies[2 * i], replies[2 * i + 1]);
        if (r.kind != proxy::RedirectKind::kMoved && r.kind != proxy::RedirectKind::kAsk) break;
        if (r.kind == proxy::RedirectKind::kMoved) owner_[static_cast<size_t>(r.slot)] = r.address;
        RS_ASSIGN_OR_RETURN(RedisClient * c, Node(r.address));
        const bool ask = r.kind == proxy::RedirectKind::kAsk;
        if (ask) c->Append({"ASKING"});
        c->Append({"SET", pairs[i].first, pairs[i].second});
        if (ask) c->Append({"ASKING"});
        c->Append({"GET", pairs[i].first});
        if (ask) RS_RETURN_IF_ERROR(c->GetReply().status());
        RS_ASSIGN_OR_RETURN(replies[2 * i], c->GetReply());
        if (ask) RS_RETURN_IF_ERROR(c->GetReply().status());
        RS_ASSIGN_OR_RETURN(replies[2 * i + 1], c->GetReply());
      }
    }
    return replies;
  }

 private:
  explicit DirectToMasters(ProxyHarness& h) : h_(&h), owner_(kSlotCount) {}

  // The first redirect among a pair's two replies (the SET's, else the GET's).
  static proxy::Redirect Redirected(const Reply& set, const Reply& get) {
    proxy::Redirect r;
    if (set.is_error()) r = proxy::ParseRedirect(set.str);
    if (r.kind == proxy::RedirectKind::kNone && get.is_error()) r = proxy::ParseRedirect(get.str);
    return r;
  }

  Result<RedisClient*> Node(const std::string& address) {
    auto it = nodes_.find(address);
    if (it == nodes_.end()) {
      RS_ASSIGN_OR_RETURN(RedisClient c, h_->ConnectNode(address));
      it = nodes_.emplace(address, std::move(c)).first;
    }
    return &it->second;
  }

  ProxyHarness* h_;
  std::vector<std::string> owner_;  // by slot
  std::map<std::string, RedisClient> nodes_;
};

struct LoadFigures {
  uint64_t errors = 0, mismatches = 0, batches = 0, pairs = 0, slow_batches = 0;
  int64_t worst_us = 0;
  uint64_t worst_batch = 0;
  double seconds = 0;  // the slot moves
  std::string first_problem;
};

// Pipelines batches of 50 SET/GET pairs over 200,000 keys through `pipe` while 1000 slots move
// from master a to master b and back, and counts errors, mismatches and slow batches.
LoadFigures ReshardUnderLoad(ProxyHarness& h, const std::vector<std::string>& masters, size_t a,
                             size_t b, PairPipeline& pipe) {
  LoadFigures f;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> keys_touched{0};
  std::thread load([&] {
    constexpr int kKeys = 200000, kBatch = 50;
    uint64_t round = 0;
    int next = 0;
    std::vector<std::pair<std::string, std::string>> pairs(kBatch);
    while (!stop || keys_touched < static_cast<uint64_t>(kKeys)) {
      for (int i = 0; i < kBatch; ++i) {
        pairs[i].first = "key:" + std::to_string((next + i) % kKeys);
        pairs[i].second = "v" + std::to_string(round) + ":" + pairs[i].first;
      }
      auto t0 = Clock::now();
      auto replies = pipe.Run(pairs);
      int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
      if (!replies.ok()) {
        ++f.errors;
        f.first_problem = replies.status().ToString();
        return;
      }
      for (int i = 0; i < kBatch; ++i) {
        const Reply& set = (*replies)[2 * i];
        const Reply& get = (*replies)[2 * i + 1];
        if (set.is_error() || get.is_error()) {
          if (f.errors++ == 0) f.first_problem = set.ToString() + " / " + get.ToString();
        } else if (get.str != pairs[i].second) {
          if (f.mismatches++ == 0 && f.errors == 0) {
            f.first_problem = "mismatch on " + pairs[i].first + ": " + get.str;
          }
        }
      }
      if (us > f.worst_us) {
        f.worst_us = us;
        f.worst_batch = f.batches;
      }
      if (us > 10000) ++f.slow_batches;
      ++f.batches;
      f.pairs += kBatch;
      keys_touched += kBatch;
      next += kBatch;
      if (next >= kKeys) {
        next = 0;
        ++round;
      }
    }
  });
  std::this_thread::sleep_for(300ms);  // keys exist in every slot before the moves start
  auto moved = [&]() -> Status {
    RS_ASSIGN_OR_RETURN(Migrator m, Migrator::Create(h, masters));
    auto t0 = Clock::now();
    for (int slot = 0; slot < 1000; ++slot) RS_RETURN_IF_ERROR(m.Move(slot, a, b));
    for (int slot = 0; slot < 1000; ++slot) RS_RETURN_IF_ERROR(m.Move(slot, b, a));
    f.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return Status::Ok();
  }();
  stop = true;
  load.join();
  EXPECT_TRUE(moved.ok()) << moved.ToString();
  return f;
}

void Print(const char* what, const LoadFigures& f) {
  std::printf(
      "reshard %s: 2000 slot moves in %.1f s; %llu SET/GET pairs in %llu batches; worst batch "
      "%lld us (batch #%llu), %llu batches over 10 ms\n",
      what, f.seconds, static_cast<unsigned long long>(f.pairs),
      static_cast<unsigned long long>(f.batches), static_cast<long long>(f.worst_us),
      static_cast<unsigned long long>(f.worst_batch),
      static_cast<unsigned long long>(f.slow_batches));
}

TEST(ProxyLoadTest, LiveReshardingUnderPipelinedLoadHasNoErrorsOrMismatches) {
  ProxyHarness h;
  proxy::ProxyConfig cfg;
  cfg.slowlog_usec = 5000;  // slow requests are logged with their time at the node
  RS_ASSERT_OK(h.Start(3, 2000, cfg));
  std::vector<std::string> masters = h.proxy().latest_table()->masters;
  // masters[a] owns slot 0 (and the low range) in a fresh redis-cli cluster.
  RS_ASSERT_OK_AND_ASSIGN(std::string owner0, h.OwnerOf(0));
  size_t a = std::find(masters.begin(), masters.end(), owner0) - masters.begin();
  size_t b = (a + 1) % masters.size();

  RS_ASSERT_OK_AND_ASSIGN(RedisClient pc, h.Connect(10s));
  ThroughProxy through_proxy(std::move(pc));
  LoadFigures f = ReshardUnderLoad(h, masters, a, b, through_proxy);
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h.Connect());
  RS_ASSERT_OK_AND_ASSIGN(Reply info, c.Command("INFO"));
  Print("through the proxy", f);
  std::printf("proxy redirects: moved=%s ask=%s retries=%s\n",
              InfoField(info.str, "proxy_redirects_moved").c_str(),
              InfoField(info.str, "proxy_redirects_ask").c_str(),
              InfoField(info.str, "proxy_retries").c_str());
  EXPECT_EQ(f.errors, 0u) << f.first_problem;
  EXPECT_EQ(f.mismatches, 0u) << f.first_problem;
  EXPECT_GE(f.pairs, 200000u);
  EXPECT_NE(InfoField(info.str, "proxy_redirects_moved"), "0");
  // The 10 ms target is a speed target: on a shared, noisy machine it is checked only when asked
  // (RS_STRICT_LATENCY=1, as bench runs do). Always, no batch may stall the way a proxy that
  // reloads its slot map on every ASK does (hundreds of ms to seconds).
  const bool strict = std::getenv("RS_STRICT_LATENCY") != nullptr;
  EXPECT_LT(f.worst_us, strict ? 10000 : 250000)
      << "worst pipelined batch of 50 SET/GET pairs, in us";

  // The baseline beside it, same cluster, same moves: a cluster-aware client without the proxy.
  // Its worst batch is what this machine's scheduler and the nodes cost anyway.
  RS_ASSERT_OK_AND_ASSIGN(DirectToMasters direct, DirectToMasters::Create(h, masters[a]));
  LoadFigures d = ReshardUnderLoad(h, masters, a, b, direct);
  Print("direct (cluster-aware client)", d);
  EXPECT_EQ(d.errors, 0u) << d.first_problem;
  EXPECT_EQ(d.mismatches, 0u) << d.first_problem;
}

TEST(ProxyLoadTest, SameClientConnectionKeepsWorkingAfterMasterFailover) {
  ProxyHarness h;
  proxy::ProxyConfig cfg;
  cfg.backend_timeout_ms = 500;
  cfg.refresh_interval_ms = 500;
  RS_ASSERT_OK(h.Start(3, 1000, cfg));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h.Connect());
  std::vector<std::string> keys;
  for (int i = 0; i < 30; ++i) keys.push_back("fo:" + std::to_string(i));
  for (const auto& k : keys) RS_ASSERT_OK(c.CommandString("SET", k, "1"));
  RS_ASSERT_OK(h.WaitForReplicasInSync(20s));
  RS_ASSERT_OK_AND_ASSIGN(std::string victim, h.OwnerOf(KeySlot(keys[0])));
  int index = h.cluster().IndexOf(victim);
  ASSERT_GE(index, 0);
  RS_ASSERT_OK(h.cluster().node(index).Kill());

  // Requests fail fast (never hang) while the cluster fails over, then succeed again on the same
  // connection once the replica is promoted and the proxy has the new owner.
  auto t0 = Clock::now();
  int failures = 0, consecutive_ok = 0;
  std::string last_error;
  int64_t slowest_ms = 0;
  while (Clock::now() - t0 < 30s && consecutive_ok < 300) {
    const std::string& k = keys[consecutive_ok % keys.size()];
    auto r0 = Clock::now();
    auto r = c.Command("INCR", k);
    slowest_ms = std::max<int64_t>(
        slowest_ms,
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - r0).count());
    ASSERT_TRUE(r.ok()) << "the proxy connection broke: " << r.status().ToString();
    if (r->is_error()) {
      ++failures;
      last_error = r->str;
      consecutive_ok = 0;
      std::this_thread::sleep_for(20ms);
    } else {
      ++consecutive_ok;
    }
  }
  double took = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("failover: %d failed requests, recovered in %.1f s, slowest request %lld ms\n",
              failures, took, static_cast<long long>(slowest_ms));
  EXPECT_GE(consecutive_ok, 300) << "no recovery within 30 s; last error: " << last_error;
  EXPECT_LT(slowest_ms, 1500) << "a request hung instead of failing fast";
  auto owner = h.OwnerOf(KeySlot(keys[0]));
  ASSERT_TRUE(owner.ok()) << owner.status().ToString();
  EXPECT_NE(*owner, victim);
}

}  // namespace
}  // namespace rs::test
