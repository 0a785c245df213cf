// Under load: live resharding (1000 slots moved away and back while a client pipelines SET/GET
// pairs over 200,000 keys) and failover (kill -9 of a master, same client connection continues).
#include <gtest/gtest.h>

#include <cstdlib>

#include <atomic>
#include <thread>

#include "common/address.h"
#include "common/slot.h"
#include "proxy_fixture.h"
#include "support/test_status.h"

namespace rs::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Moves slots in Redis's safe order over connections kept open for the whole test.
class Migrator {
 public:
  static Result<Migrator> Create(ProxyHarness& h, const std::vector<std::string>& masters) {
    Migrator m;
    for (const auto& a : masters) {
      RS_ASSIGN_OR_RETURN(RedisClient c, h.ConnectNode(a));
      RS_ASSIGN_OR_RETURN(std::string id, c.CommandString("CLUSTER", "MYID"));
      m.ids_.push_back(id);
      m.clients_.push_back(std::move(c));
      m.addrs_.push_back(a);
    }
    return m;
  }
  Status Move(int slot, size_t from, size_t to) {
    std::string s = std::to_string(slot);
    RS_RETURN_IF_ERROR(Ok(clients_[to].Command("CLUSTER", "SETSLOT", s, "IMPORTING", ids_[from])));
    RS_RETURN_IF_ERROR(Ok(clients_[from].Command("CLUSTER", "SETSLOT", s, "MIGRATING", ids_[to])));
    RS_ASSIGN_OR_RETURN(Address dst, Address::Parse(addrs_[to]));
    while (true) {
      RS_ASSIGN_OR_RETURN(Reply keys, clients_[from].Command("CLUSTER", "GETKEYSINSLOT", s, "200"));
      if (keys.elements.empty()) break;
      std::vector<std::string> argv = {"MIGRATE", dst.host, std::to_string(dst.port), "", "0",
                                       "5000",    "KEYS"};
      for (const Reply& k : keys.elements) argv.push_back(k.str);
      RS_RETURN_IF_ERROR(Ok(clients_[from].Command(argv)));
    }
    RS_RETURN_IF_ERROR(Ok(clients_[to].Command("CLUSTER", "SETSLOT", s, "NODE", ids_[to])));
    RS_RETURN_IF_ERROR(Ok(clients_[from].Command("CLUSTER", "SETSLOT", s, "NODE", ids_[to])));
    for (size_t i = 0; i < clients_.size(); ++i) {
      if (i != from && i != to) {
        RS_RETURN_IF_ERROR(Ok(clients_[i].Command("CLUSTER", "SETSLOT", s, "NODE", ids_[to])));
      }
    }
    return Status::Ok();
  }

 private:
  static Status Ok(Result<Reply> r) {
    if (!r.ok()) return r.status();
    if (r->is_error()) return Status::Internal(r->str);
    return Status::Ok();
  }
  std::vector<RedisClient> clients_;
  std::vector<std::string> ids_;
  std::vector<std::string> addrs_;
};

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

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> errors{0}, mismatches{0}, batches{0}, pairs{0}, keys_touched{0};
  std::atomic<int64_t> worst_us{0};
  std::atomic<uint64_t> worst_batch{0}, slow_batches{0};
  std::string first_problem;
  std::thread load([&] {
    auto c = h.Connect(10s);
    if (!c.ok()) {
      first_problem = c.status().ToString();
      ++errors;
      return;
    }
    constexpr int kKeys = 200000, kBatch = 50;
    uint64_t round = 0;
    int next = 0;
    while (!stop || keys_touched < static_cast<uint64_t>(kKeys)) {
      auto t0 = Clock::now();
      for (int i = 0; i < kBatch; ++i) {
        std::string k = "key:" + std::to_string((next + i) % kKeys);
        c->Append({"SET", k, "v" + std::to_string(round) + ":" + k});
        c->Append({"GET", k});
      }
      for (int i = 0; i < kBatch; ++i) {
        std::string k = "key:" + std::to_string((next + i) % kKeys);
        auto set = c->GetReply();
        auto get = c->GetReply();
        if (!set.ok() || !get.ok() || set->is_error() || get->is_error()) {
          if (errors++ == 0) {
            first_problem = !set.ok()   ? set.status().ToString()
                            : !get.ok() ? get.status().ToString()
                                        : set->ToString() + " / " + get->ToString();
          }
        } else if (get->str != "v" + std::to_string(round) + ":" + k) {
          if (mismatches++ == 0 && errors == 0)
            first_problem = "mismatch on " + k + ": " + get->str;
        }
      }
      int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
      if (us > worst_us) {
        worst_us = us;
        worst_batch = batches.load();
      }
      if (us > 10000) ++slow_batches;
      ++batches;
      pairs += kBatch;
      keys_touched += kBatch;
      next += kBatch;
      if (next >= kKeys) {
        next = 0;
        ++round;
      }
    }
  });
  std::this_thread::sleep_for(300ms);  // keys exist in every slot before the moves start
  RS_ASSERT_OK_AND_ASSIGN(Migrator m, Migrator::Create(h, masters));
  auto t0 = Clock::now();
  for (int slot = 0; slot < 1000; ++slot) RS_ASSERT_OK(m.Move(slot, a, b));
  for (int slot = 0; slot < 1000; ++slot) RS_ASSERT_OK(m.Move(slot, b, a));
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  stop = true;
  load.join();
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h.Connect());
  RS_ASSERT_OK_AND_ASSIGN(Reply info, c.Command("INFO"));
  std::printf(
      "reshard: 2000 slot moves in %.1f s; %llu SET/GET pairs in %llu batches; worst "
      "batch %lld us (batch #%llu), %llu batches over 10 ms; moved=%s ask=%s retries=%s\n",
      seconds, static_cast<unsigned long long>(pairs.load()),
      static_cast<unsigned long long>(batches.load()), static_cast<long long>(worst_us.load()),
      static_cast<unsigned long long>(worst_batch.load()),
      static_cast<unsigned long long>(slow_batches.load()),
      InfoField(info.str, "proxy_redirects_moved").c_str(),
      InfoField(info.str, "proxy_redirects_ask").c_str(),
      InfoField(info.str, "proxy_retries").c_str());
  EXPECT_EQ(errors, 0u) << first_problem;
  EXPECT_EQ(mismatches, 0u) << first_problem;
  EXPECT_GE(keys_touched, 200000u);
  EXPECT_NE(InfoField(info.str, "proxy_redirects_moved"), "0");
  // The 10 ms target is a speed target: on a shared, noisy machine it is checked only when asked
  // (RS_STRICT_LATENCY=1, as bench runs do). Always, no batch may stall the way a proxy that
  // reloads its slot map on every ASK does (hundreds of ms to seconds).
  const bool strict = std::getenv("RS_STRICT_LATENCY") != nullptr;
  EXPECT_LT(worst_us, strict ? 10000 : 250000)
      << "worst pipelined batch of 50 SET/GET pairs, in us";
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
