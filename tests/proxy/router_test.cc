// The routing and redirect policy, fed replies without sockets or a loop.
#include "proxy/router.h"

#include <gtest/gtest.h>

namespace rs::proxy {
namespace {

OpFacts Facts(OpRole role, int redirects = 0, int retries = 0, bool watching = false,
              int64_t remaining_ms = -1) {
  OpFacts f;
  f.role = role;
  f.redirects = static_cast<uint8_t>(redirects);
  f.retries = static_cast<uint8_t>(retries);
  f.watching = watching;
  f.remaining_ms = remaining_ms;
  return f;
}

TEST(RouterTest, PlainRequestsFollowMovedAndAskAndRetryTryagain) {
  Router r;
  Action moved = r.OnError(Facts(OpRole::kPlain), "MOVED 3999 127.0.0.1:7002");
  EXPECT_EQ(moved.verdict, Verdict::kFollow);
  EXPECT_EQ(moved.address, "127.0.0.1:7002");
  EXPECT_FALSE(moved.asking);
  EXPECT_EQ(moved.patch_slot, 3999);
  EXPECT_TRUE(moved.refresh);
  Action ask = r.OnError(Facts(OpRole::kPlain), "ASK 3999 127.0.0.1:7002");
  EXPECT_EQ(ask.verdict, Verdict::kFollow);
  EXPECT_TRUE(ask.asking);
  EXPECT_EQ(ask.patch_slot, -1);  // ASK is for this request only: the table stays
  EXPECT_FALSE(ask.refresh);
  EXPECT_EQ(r.OnError(Facts(OpRole::kPlain), "TRYAGAIN Multiple keys request").verdict,
            Verdict::kRetryLater);
  EXPECT_EQ(r.OnError(Facts(OpRole::kPlain), "CLUSTERDOWN The cluster is down").verdict,
            Verdict::kRetryLater);
  EXPECT_EQ(r.OnError(Facts(OpRole::kPlain), "WRONGTYPE Operation against a key").verdict,
            Verdict::kDeliver);
}

TEST(RouterTest, RedirectsAndRetriesAreBounded) {
  RouterPolicy p;
  p.max_redirects = 5;
  p.max_retries = 10;
  Router r(p);
  EXPECT_EQ(r.OnError(Facts(OpRole::kPlain, 5), "MOVED 1 h:1").verdict, Verdict::kDeliver);
  EXPECT_EQ(r.OnError(Facts(OpRole::kPlain, 4), "MOVED 1 h:1").verdict, Verdict::kFollow);
  EXPECT_EQ(r.OnError(Facts(OpRole::kPlain, 0, 10), "TRYAGAIN x").verdict, Verdict::kDeliver);
  // A MOVED line that does not parse reaches the client as it is.
  EXPECT_EQ(r.OnError(Facts(OpRole::kPlain), "MOVED nonsense").verdict, Verdict::kDeliver);
}

TEST(RouterTest, RedirectWhileQueuingReplaysUnlessAWatchCannotMove) {
  Router r;
  Action moved = r.OnError(Facts(OpRole::kTxQueued), "MOVED 12 10.0.0.2:6379");
  EXPECT_EQ(moved.verdict, Verdict::kReplay);
  EXPECT_EQ(moved.address, "10.0.0.2:6379");
  EXPECT_FALSE(moved.asking);
  Action ask = r.OnError(Facts(OpRole::kTxQueued), "ASK 12 10.0.0.2:6379");
  EXPECT_EQ(ask.verdict, Verdict::kReplay);
  EXPECT_TRUE(ask.asking);
  EXPECT_EQ(r.OnError(Facts(OpRole::kTxQueued, 0, 0, true), "MOVED 12 10.0.0.2:6379").verdict,
            Verdict::kAbortWatch);
  // A redirected EXEC means the node discarded the transaction: it is replayed (or, with a
  // WATCH, aborted), never delivered as a half-result.
  EXPECT_EQ(r.OnError(Facts(OpRole::kTxExec), "MOVED 12 10.0.0.2:6379").verdict, Verdict::kReplay);
  EXPECT_EQ(r.OnError(Facts(OpRole::kTxExec, 0, 0, true), "ASK 12 10.0.0.2:6379").verdict,
            Verdict::kAbortWatch);
  EXPECT_EQ(r.OnError(Facts(OpRole::kWatch), "MOVED 12 10.0.0.2:6379").verdict,
            Verdict::kAbortWatch);
  // Errors Redis flags the transaction for are the client's: EXEC will say EXECABORT.
  EXPECT_EQ(r.OnError(Facts(OpRole::kTxQueued), "TRYAGAIN x").verdict, Verdict::kDeliver);
  EXPECT_EQ(r.OnError(Facts(OpRole::kTxQueued), "ERR unknown command").verdict,
            Verdict::kDeliver);
}

TEST(RouterTest, ALostConnectionAfterExecIsAnErrorNotAGuess) {
  Router r;
  Action exec = r.OnConnectionLost(Facts(OpRole::kTxExec), "10.0.0.1:6379",
                                   "ERR proxy: backend 10.0.0.1:6379 failed: reset");
  EXPECT_EQ(exec.verdict, Verdict::kFail);
  EXPECT_NE(exec.error.find("may or may not have run"), std::string::npos) << exec.error;
  Action plain = r.OnConnectionLost(Facts(OpRole::kPlain), "10.0.0.1:6379", "ERR proxy: x");
  EXPECT_EQ(plain.verdict, Verdict::kFail);
  EXPECT_EQ(plain.error, "ERR proxy: x");
  EXPECT_EQ(r.OnConnectionLost(Facts(OpRole::kTxQueued), "a:1", "e").verdict, Verdict::kFail);
}

TEST(RouterTest, AnExecNeverWrittenIsNotCalledUncertain) {
  Router r;
  OpFacts f = Facts(OpRole::kTxExec);
  f.sent = false;
  Action exec = r.OnConnectionLost(f, "10.0.0.1:6379", "ERR proxy: x; the command was not sent");
  EXPECT_EQ(exec.verdict, Verdict::kFail);
  EXPECT_EQ(exec.error, "ERR proxy: x; the command was not sent");
}

TEST(RouterTest, BlockedCommandsAreReissuedWithinTheirTime) {
  RouterPolicy p;
  p.retry_backoff_ms = 20;
  p.blocking_retry_ms = 1000;
  Router r(p);
  Action moved = r.OnError(Facts(OpRole::kBlocking, 0, 0, false, 5000), "MOVED 7 h:2");
  EXPECT_EQ(moved.verdict, Verdict::kReissue);
  EXPECT_EQ(moved.address, "h:2");
  EXPECT_EQ(moved.patch_slot, 7);
  Action unblocked = r.OnError(
      Facts(OpRole::kBlocking), "UNBLOCKED force unblock from blocking operation, instance state "
                                "changed (master -> replica?)");
  EXPECT_EQ(unblocked.verdict, Verdict::kReissue);
  EXPECT_TRUE(unblocked.address.empty());  // the slot's owner, after a refresh
  EXPECT_TRUE(unblocked.refresh);
  EXPECT_EQ(r.OnError(Facts(OpRole::kBlocking, 0, 0, false, 0), "MOVED 7 h:2").verdict,
            Verdict::kTimedOut);
  // CLUSTERDOWN during a failover: retried while its time lasts.
  EXPECT_EQ(r.OnError(Facts(OpRole::kBlocking, 0, 3, false, 1000), "CLUSTERDOWN x").verdict,
            Verdict::kRetryLater);
  EXPECT_EQ(r.OnError(Facts(OpRole::kBlocking, 0, 60, false, 1000), "CLUSTERDOWN x").verdict,
            Verdict::kDeliver);
  // A blocking command that blocks for ever is retried for blocking_retry_ms.
  EXPECT_EQ(r.OnError(Facts(OpRole::kBlocking, 0, 49, false, -1), "CLUSTERDOWN x").verdict,
            Verdict::kRetryLater);
  EXPECT_EQ(r.OnError(Facts(OpRole::kBlocking, 0, 50, false, -1), "CLUSTERDOWN x").verdict,
            Verdict::kDeliver);
  // Its node lost: wait for the slot's next owner, within the same budget.
  EXPECT_EQ(r.OnConnectionLost(Facts(OpRole::kBlocking, 0, 0, false, 2000), "h:1", "e").verdict,
            Verdict::kRetryLater);
  EXPECT_EQ(r.OnConnectionLost(Facts(OpRole::kBlocking, 0, 0, false, 0), "h:1", "e").verdict,
            Verdict::kTimedOut);
  Action gave_up = r.OnConnectionLost(Facts(OpRole::kBlocking, 0, 50, false, -1), "h:1", "e");
  EXPECT_EQ(gave_up.verdict, Verdict::kFail);
  EXPECT_EQ(gave_up.error, "e");
}

TEST(RouterTest, InternalAndWaitRepliesAreNeverRedirected) {
  Router r;
  EXPECT_EQ(r.OnError(Facts(OpRole::kInternal), "MOVED 1 h:1").verdict, Verdict::kDeliver);
  EXPECT_EQ(r.OnError(Facts(OpRole::kWait), "MOVED 1 h:1").verdict, Verdict::kDeliver);
  EXPECT_EQ(r.OnError(Facts(OpRole::kWait), "TRYAGAIN x").verdict, Verdict::kDeliver);
}

TEST(RouterTest, ReplicaReadsGoToAHealthyReplicaPerPolicy) {
  RoutingTable t;
  int16_t m = t.AddMaster("10.0.0.1:6379");
  t.replicas[m] = {"10.0.0.2:6379", "10.0.0.3:6379"};
  t.replica_healthy = {{false, true}};
  for (int s = 0; s < kSlotCount; ++s) t.owner[s] = m;
  bool is_replica = false;
  EXPECT_EQ(*Router::Target(t, 5, true, ReadFrom::kMaster, 0, &is_replica), "10.0.0.1:6379");
  EXPECT_FALSE(is_replica);
  EXPECT_EQ(*Router::Target(t, 5, false, ReadFrom::kReplica, 0, &is_replica), "10.0.0.1:6379");
  // Only the healthy replica is read from, whatever the pick.
  for (size_t pick = 0; pick < 4; ++pick) {
    EXPECT_EQ(*Router::Target(t, 5, true, ReadFrom::kPreferReplica, pick, &is_replica),
              "10.0.0.3:6379");
    EXPECT_TRUE(is_replica);
  }
  // No healthy replica: the master serves, rather than failing the read.
  t.replica_healthy = {{false, false}};
  EXPECT_EQ(*Router::Target(t, 5, true, ReadFrom::kReplica, 0, &is_replica), "10.0.0.1:6379");
  EXPECT_FALSE(is_replica);
  t.owner[9] = RoutingTable::kUnassigned;
  EXPECT_EQ(Router::Target(t, 9, false, ReadFrom::kMaster, 0, &is_replica), nullptr);
}

TEST(RouterTest, ReadFromParsesItsThreeValues) {
  ReadFrom r = ReadFrom::kMaster;
  EXPECT_TRUE(ParseReadFrom("prefer-replica", &r));
  EXPECT_EQ(r, ReadFrom::kPreferReplica);
  EXPECT_TRUE(ParseReadFrom("replica", &r));
  EXPECT_EQ(r, ReadFrom::kReplica);
  EXPECT_TRUE(ParseReadFrom("master", &r));
  EXPECT_FALSE(ParseReadFrom("replicas", &r));
}

}  // namespace
}  // namespace rs::proxy
