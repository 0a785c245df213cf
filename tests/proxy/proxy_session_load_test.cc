// Sessions under faults, many clients at once: transactions (MULTI; INCR {t}a; INCR {t}b; EXEC)
// are never half-applied, and blocked pops (BLPOP) neither lose nor double an element, while
// their slots move away and back (live resharding) and when their master is killed (kill -9, the
// cluster fails over). Each test has its own cluster and prints its figures: operations, the
// errors clients saw, and how long the failover was visible through the proxy.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <thread>

#include "common/slot.h"
#include "pop_load.h"
#include "proxy_fixture.h"
#include "support/test_status.h"
#include "tx_load.h"

namespace rs::test {
namespace {

using namespace std::chrono_literals;

// `n` hash tags "{s<i>}" of distinct slots served by `owner`, per the proxy's table.
std::vector<std::string> TagsOwnedBy(ProxyHarness& h, const std::string& owner, size_t n) {
  std::vector<std::string> tags;
  std::set<int> slots;
  auto table = h.proxy().latest_table();
  for (int i = 0; tags.size() < n && i < 1000000; ++i) {
    std::string tag = "{s" + std::to_string(i) + "}";
    const int slot = KeySlot(tag);
    const std::string* o = table->OwnerOf(slot);
    if (o != nullptr && *o == owner && slots.insert(slot).second) tags.push_back(tag);
  }
  return tags;
}

// ---- the faults ----

// A node's view of the masters from its CLUSTER NODES: "id config-epoch slots..." per master,
// sorted, without the node's own "myself" flag (so every node's view compares equal).
std::string MastersView(const std::string& cluster_nodes) {
  std::vector<std::string> masters;
  std::istringstream lines(cluster_nodes);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string x; fields >> x;) f.push_back(x);
    if (f.size() < 8 || f[2].find("master") == std::string::npos) continue;
    std::string view = f[0] + " epoch " + f[6];
    for (size_t i = 8; i < f.size(); ++i) view += " " + f[i];
    masters.push_back(view);
  }
  std::sort(masters.begin(), masters.end());
  std::string out;
  for (const std::string& m : masters) out += m + "\n";
  return out;
}

// Until every node that answers names `owner` for each of `slots` and has the same view of the
// masters' slots and config epochs, and a little longer. Moving the same slots back as soon as
// the SETSLOTs had returned ended 1 run in 5 here with a slot each of the two masters believed
// the other's (a MOVED ping-pong in the cluster itself, whoever asks): Redis Cluster's gossip and
// config epochs had not settled. The exact race was not pinned down; it is not the proxy's.
Status AwaitAgreement(ProxyHarness& h, const std::vector<int>& slots, const std::string& owner) {
  std::string disagrees;
  for (auto deadline = Clock::now() + 10s; Clock::now() < deadline;) {
    disagrees.clear();
    std::string first_view;
    for (const std::string& node : h.cluster().Addresses()) {
      auto c = h.ConnectNode(node);
      if (!c.ok()) continue;  // a killed node
      auto nodes = c->CommandString("CLUSTER", "NODES");
      auto r = c->Command("CLUSTER", "SLOTS");
      if (!nodes.ok() || !r.ok()) continue;
      const std::string view = MastersView(*nodes);
      if (first_view.empty()) first_view = view;
      if (view != first_view) disagrees = node + " sees the masters as\n" + view;
      for (int slot : slots) {
        std::string says = "nobody";
        for (const Reply& range : r->elements) {
          if (range.elements.size() >= 3 && range.elements[0].integer <= slot &&
              slot <= range.elements[1].integer) {
            says = range.elements[2].elements[0].str + ":" +
                   std::to_string(range.elements[2].elements[1].integer);
          }
        }
        if (says != owner) disagrees = node + " says slot " + std::to_string(slot) + ": " + says;
      }
    }
    if (disagrees.empty()) {
      // Gossip sent before the agreement is heard too: without this pause, 1 run in 5 still ended
      // with a slot neither master owned; with it, none in 15.
      std::this_thread::sleep_for(250ms);
      return Status::Ok();
    }
    std::this_thread::sleep_for(20ms);
  }
  std::string views;
  for (const std::string& node : h.cluster().Addresses()) {
    auto c = h.ConnectNode(node);
    auto nodes = c.ok() ? c->CommandString("CLUSTER", "NODES") : Result<std::string>(c.status());
    views += "\n" + node + " sees:\n" + (nodes.ok() ? MastersView(*nodes) : "?");
  }
  return Status::Timeout("the nodes do not agree on the slots' owner: " + disagrees + views);
}

// Moves `slots` from masters[a] to masters[b] and back, one slot at a time, for `duration`,
// waiting between the two ways until the nodes agree (AwaitAgreement). Returns the number of
// moves.
Result<int> Reshard(ProxyHarness& h, size_t a, size_t b, const std::vector<int>& slots,
                    Clock::duration duration) {
  const std::vector<std::string> masters = h.proxy().latest_table()->masters;
  RS_ASSIGN_OR_RETURN(Migrator m, Migrator::Create(h, masters));
  int moves = 0;
  for (auto end = Clock::now() + duration; Clock::now() < end;) {
    for (int slot : slots) RS_RETURN_IF_ERROR(m.Move(slot, a, b));
    RS_RETURN_IF_ERROR(AwaitAgreement(h, slots, masters[b]));
    for (int slot : slots) RS_RETURN_IF_ERROR(m.Move(slot, b, a));
    RS_RETURN_IF_ERROR(AwaitAgreement(h, slots, masters[a]));
    moves += 2 * static_cast<int>(slots.size());
  }
  return moves;
}

// The proxy's redirect counters, for the figures.
std::string Redirects(ProxyHarness& h) {
  auto c = h.Connect();
  auto info = c.ok() ? c->Command("INFO") : Result<Reply>(c.status());
  if (!info.ok()) return info.status().ToString();
  return "proxy redirects: moved=" + InfoField(info->str, "proxy_redirects_moved") +
         " ask=" + InfoField(info->str, "proxy_redirects_ask") +
         " retries=" + InfoField(info->str, "proxy_retries");
}

std::vector<int> SlotsOf(const std::vector<std::string>& tags) {
  std::vector<int> slots;
  for (const std::string& tag : tags) slots.push_back(KeySlot(tag));
  return slots;
}

// The fault tests' cluster: 3 masters with a replica each, node timeout 2000 ms.
class ProxySessionLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RS_ASSERT_OK(h_.Start(3, 2000));
    masters_ = h_.proxy().latest_table()->masters;
  }

  // Kills masters_[0] (kill -9); it is dead and reaped on return.
  void KillMaster() {
    int index = h_.cluster().IndexOf(masters_[0]);
    ASSERT_GE(index, 0);
    RS_ASSERT_OK(h_.cluster().node(static_cast<size_t>(index)).Kill());
    killed_at_ = Clock::now();
  }

  // Until the cluster has promoted the killed master's replica (CLUSTER SLOTS names another
  // owner for `slot`).
  void AwaitFailover(int slot) {
    for (auto deadline = Clock::now() + 30s; Clock::now() < deadline;) {
      auto owner = h_.OwnerOf(slot);
      if (owner.ok() && *owner != masters_[0]) {
        promoted_after_ = Seconds(Clock::now() - killed_at_);
        return;
      }
      std::this_thread::sleep_for(20ms);
    }
    FAIL() << "no replica of " << masters_[0] << " was promoted within 30 s";
  }

  ProxyHarness h_;
  std::vector<std::string> masters_;
  Clock::time_point killed_at_{};
  double promoted_after_ = 0;
};

TEST_F(ProxySessionLoadTest, TransactionsAreNeverHalfAppliedUnderLiveResharding) {
  const std::vector<std::string> tags = TagsOwnedBy(h_, masters_[0], 16);
  TxLoad load(h_, tags);
  load.Start();
  std::this_thread::sleep_for(200ms);
  auto moves = Reshard(h_, 0, 1, SlotsOf(tags), 5s);
  load.Stop();
  RS_EXPECT_OK(moves);
  std::printf("live resharding: %d slot moves; %s\n", moves.ok() ? *moves : -1,
              Redirects(h_).c_str());
  CheckTransactions(h_, load, /*exact=*/true, "under live resharding");
  for (const TxClient& t : load.clients()) {
    EXPECT_EQ(t.tally.failures, 0u) << t.tag << ": " << t.tally.first_failure;
  }
}

TEST_F(ProxySessionLoadTest, BlockedPopsAreNeitherLostNorDoubledUnderLiveResharding) {
  const std::vector<std::string> tags = TagsOwnedBy(h_, masters_[0], 16);
  PopLoad load(h_, tags, /*consumers_per_list=*/2, /*producers=*/4);
  load.Start();
  std::this_thread::sleep_for(200ms);
  auto moves = Reshard(h_, 0, 1, SlotsOf(tags), 5s);
  load.StopProducers();
  load.Drain(5s);
  load.StopConsumers();
  RS_EXPECT_OK(moves);
  std::printf("live resharding: %d slot moves; %s\n", moves.ok() ? *moves : -1,
              Redirects(h_).c_str());
  CheckPops(h_, load, "under live resharding");
}

TEST_F(ProxySessionLoadTest, TransactionsAreNeverHalfAppliedWhenTheMasterIsKilled) {
  RS_ASSERT_OK(h_.WaitForReplicasInSync(20s));
  const std::vector<std::string> tags = TagsOwnedBy(h_, masters_[0], 16);
  TxLoad load(h_, tags);
  load.Start();
  std::this_thread::sleep_for(1s);
  ASSERT_NO_FATAL_FAILURE(KillMaster());
  load.MarkFault();
  ASSERT_NO_FATAL_FAILURE(AwaitFailover(KeySlot(tags[0])));
  std::this_thread::sleep_for(2s);  // and the load goes on on the promoted replica
  load.Stop();
  std::printf("kill -9 of %s: replica promoted after %.1f s; clients saw errors until %.1f s\n",
              masters_[0].c_str(), promoted_after_, OutageAfter(load.clients(), killed_at_));
  CheckTransactions(h_, load, /*exact=*/false, "with the master killed");
}

TEST_F(ProxySessionLoadTest, BlockedPopsAreNeitherLostNorDoubledWhenTheMasterIsKilled) {
  RS_ASSERT_OK(h_.WaitForReplicasInSync(20s));
  const std::vector<std::string> tags = TagsOwnedBy(h_, masters_[0], 16);
  PopLoad load(h_, tags, /*consumers_per_list=*/2, /*producers=*/4);
  load.Start();
  std::this_thread::sleep_for(1s);
  ASSERT_NO_FATAL_FAILURE(KillMaster());
  ASSERT_NO_FATAL_FAILURE(AwaitFailover(KeySlot(tags[0])));
  std::this_thread::sleep_for(2s);
  load.StopProducers();
  load.Drain(5s);
  load.StopConsumers();
  std::printf(
      "kill -9 of %s: replica promoted after %.1f s; producers saw errors until %.1f s, "
      "consumers until %.1f s\n",
      masters_[0].c_str(), promoted_after_, OutageAfter(load.producers(), killed_at_),
      OutageAfter(load.consumers(), killed_at_));
  CheckPops(h_, load, "with the master killed", killed_at_);
}

}  // namespace
}  // namespace rs::test
