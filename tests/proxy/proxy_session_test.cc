// Sessions through the proxy, against a real 3-master + 3-replica cluster: transactions and
// WATCH, blocking commands, WAIT, CLIENT REPLY and RESP3, including their edge cases (a
// redirect while queuing, a client that disconnects while blocked, a slot that moves under a
// blocked pop).
#include <gtest/gtest.h>

#include <thread>

#include "common/slot.h"
#include "proxy_fixture.h"
#include "support/resp_conn.h"
#include "support/test_status.h"

namespace rs::test {
namespace {

using namespace std::chrono_literals;

class ProxySessionTest : public ::testing::Test {
 protected:
  void SetUp() override { RS_ASSERT_OK(h_.Start(3, 2000)); }

  // A master other than the one owning `slot`.
  std::string OtherMaster(int slot) {
    auto owner = h_.OwnerOf(slot);
    EXPECT_TRUE(owner.ok());
    for (size_t i = 0; i < h_.cluster().size(); ++i) {
      std::string a = h_.cluster().Addresses()[i];
      if (a == *owner) continue;
      auto c = h_.ConnectNode(a);
      if (!c.ok()) continue;
      auto role = c->Command("ROLE");
      if (role.ok() && !role->elements.empty() && role->elements[0].str == "master") return a;
    }
    return "";
  }

  ProxyHarness h_;
};

TEST_F(ProxySessionTest, WatchedKeyTouchedByAnotherClientAbortsExec) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient a, h_.Connect());
  RS_ASSERT_OK_AND_ASSIGN(RedisClient b, h_.Connect());
  RS_ASSERT_OK(a.Command("SET", "{w}balance", "10"));
  RS_ASSERT_OK_AND_ASSIGN(Reply watch, a.Command("WATCH", "{w}balance"));
  EXPECT_EQ(watch.str, "OK");
  RS_ASSERT_OK(b.Command("SET", "{w}balance", "11"));  // another client writes the key
  RS_ASSERT_OK(a.Command("MULTI"));
  RS_ASSERT_OK_AND_ASSIGN(Reply q, a.Command("INCRBY", "{w}balance", "5"));
  EXPECT_EQ(q.str, "QUEUED");
  RS_ASSERT_OK_AND_ASSIGN(Reply exec, a.Command("EXEC"));
  EXPECT_TRUE(exec.is_nil()) << exec.ToString();
  RS_ASSERT_OK_AND_ASSIGN(std::string v, a.CommandString("GET", "{w}balance"));
  EXPECT_EQ(v, "11");
  // Untouched, the same transaction runs.
  RS_ASSERT_OK(a.Command("WATCH", "{w}balance"));
  RS_ASSERT_OK(a.Command("MULTI"));
  RS_ASSERT_OK(a.Command("INCRBY", "{w}balance", "5"));
  RS_ASSERT_OK_AND_ASSIGN(Reply ok, a.Command("EXEC"));
  ASSERT_EQ(ok.elements.size(), 1u) << ok.ToString();
  EXPECT_EQ(ok.elements[0].integer, 16);
  // WATCH of keys in two slots is refused like Redis Cluster refuses it.
  RS_ASSERT_OK_AND_ASSIGN(Reply cross, a.Command("WATCH", "x", "y"));
  EXPECT_EQ(cross.str, "CROSSSLOT Keys in request don't hash to the same slot");
}

TEST_F(ProxySessionTest, CommandsBeforeTheFirstKeyAreKeptAndSentFirst) {
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(c.SendRaw("MULTI\r\nPING\r\nECHO hi\r\nSET {pin}k v\r\nGET {pin}k\r\nEXEC\r\n"));
  std::vector<std::string> replies;
  for (int i = 0; i < 6; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(std::string r, c.Read());
    replies.push_back(r);
  }
  EXPECT_EQ(replies[0], "+OK\r\n");
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(replies[i], "+QUEUED\r\n") << i;
  EXPECT_EQ(replies[5], "*4\r\n+PONG\r\n$2\r\nhi\r\n+OK\r\n$1\r\nv\r\n");
  // An empty transaction.
  RS_ASSERT_OK_AND_ASSIGN(std::string m, c.Call({"MULTI"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string e, c.Call({"EXEC"}));
  EXPECT_EQ(e, "*0\r\n");
  // Nested MULTI and WATCH inside MULTI get Redis's errors and leave the transaction usable.
  RS_ASSERT_OK(c.Call({"MULTI"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string nested, c.Call({"MULTI"}));
  EXPECT_EQ(nested, "-ERR MULTI calls can not be nested\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string watch, c.Call({"WATCH", "x"}));
  EXPECT_EQ(watch, "-ERR WATCH inside MULTI is not allowed\r\n");
  RS_ASSERT_OK(c.Call({"INCR", "{pin}n"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string exec, c.Call({"EXEC"}));
  EXPECT_EQ(exec, "*1\r\n:1\r\n");
}

TEST_F(ProxySessionTest, MovedWhileQueuingReplaysTheTransactionOnTheNewOwner) {
  const std::string key = "{mv}counter";
  const int slot = KeySlot(key);
  RS_ASSERT_OK_AND_ASSIGN(std::string from, h_.OwnerOf(slot));
  const std::string to = OtherMaster(slot);
  ASSERT_FALSE(to.empty());
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, RespConn::Connect(h_.port()));
  RS_ASSERT_OK_AND_ASSIGN(std::string m, c.Call({"MULTI"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string q1, c.Call({"SET", key, "10"}));
  EXPECT_EQ(q1, "+QUEUED\r\n");
  // The slot moves behind the proxy's back: its table still says `from`.
  RS_ASSERT_OK(MigrateSlot(h_, slot, from, to));
  RS_ASSERT_OK_AND_ASSIGN(std::string q2, c.Call({"INCRBY", key, "5"}));
  EXPECT_EQ(q2, "+QUEUED\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string exec, c.Call({"EXEC"}));
  EXPECT_EQ(exec, "*2\r\n+OK\r\n:15\r\n");
  RS_ASSERT_OK_AND_ASSIGN(RedisClient dst, h_.ConnectNode(to));
  RS_ASSERT_OK_AND_ASSIGN(std::string v, dst.CommandString("GET", key));
  EXPECT_EQ(v, "15");  // applied once, on the new owner
}

TEST_F(ProxySessionTest, MovedUnderAWatchAbortsTheTransaction) {
  const std::string key = "{mw}k";
  const int slot = KeySlot(key);
  RS_ASSERT_OK_AND_ASSIGN(std::string from, h_.OwnerOf(slot));
  const std::string to = OtherMaster(slot);
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(c.Call({"SET", key, "1"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string w, c.Call({"WATCH", key}));
  EXPECT_EQ(w, "+OK\r\n");
  RS_ASSERT_OK(MigrateSlot(h_, slot, from, to));
  RS_ASSERT_OK_AND_ASSIGN(std::string m, c.Call({"MULTI"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string q, c.Call({"SET", key, "2"}));
  EXPECT_EQ(q, "+QUEUED\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string exec, c.Call({"EXEC"}));
  EXPECT_EQ(exec, "*-1\r\n");  // the watch could not follow the slot
  RS_ASSERT_OK_AND_ASSIGN(RedisClient dst, h_.ConnectNode(to));
  RS_ASSERT_OK_AND_ASSIGN(std::string v, dst.CommandString("GET", key));
  EXPECT_EQ(v, "1");  // nothing ran
}

TEST_F(ProxySessionTest, BlockingPopWaitsForAPushAndHonoursItsTimeout) {
  RS_ASSERT_OK_AND_ASSIGN(RespConn blocked, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(blocked.Send({"BLPOP", "{bl}q", "0"}));
  EXPECT_TRUE(blocked.Quiet(300ms));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient pusher, h_.Connect());
  RS_ASSERT_OK(pusher.Command("RPUSH", "{bl}q", "job1"));
  RS_ASSERT_OK_AND_ASSIGN(std::string got, blocked.Read());
  EXPECT_EQ(got, "*2\r\n$5\r\n{bl}q\r\n$4\r\njob1\r\n");
  // With a timeout and nothing pushed: the timeout reply after about that long.
  auto start = std::chrono::steady_clock::now();
  RS_ASSERT_OK_AND_ASSIGN(std::string none, blocked.Call({"BRPOP", "{bl}q", "0.5"}));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(none, "*-1\r\n");
  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 3s);
  // BLMOVE times out with a null array too (as Redis 7.0 answers it).
  RS_ASSERT_OK_AND_ASSIGN(std::string move,
                          blocked.Call({"BLMOVE", "{bl}q", "{bl}r", "LEFT", "RIGHT", "0.1"}));
  EXPECT_EQ(move, "*-1\r\n");
  // A blocked client reads no further request until it is answered, as on a node: the PING
  // pipelined behind the BLPOP is answered after it.
  RS_ASSERT_OK(blocked.SendRaw("BLPOP {bl}q 0.3\r\nPING\r\n"));
  RS_ASSERT_OK_AND_ASSIGN(std::string first, blocked.Read());
  EXPECT_EQ(first, "*-1\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string second, blocked.Read());
  EXPECT_EQ(second, "+PONG\r\n");
  // Keys of two slots: CROSSSLOT, as from a node.
  RS_ASSERT_OK_AND_ASSIGN(std::string cross, blocked.Call({"BLPOP", "a", "b", "0"}));
  EXPECT_EQ(cross, "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
}

TEST_F(ProxySessionTest, ClientThatDisconnectsWhileBlockedLosesNoElement) {
  {
    RS_ASSERT_OK_AND_ASSIGN(RespConn gone, RespConn::Connect(h_.port()));
    RS_ASSERT_OK(gone.Send({"BLPOP", "{dc}q", "0"}));
    EXPECT_TRUE(gone.Quiet(200ms));
    gone.Close();
  }
  std::this_thread::sleep_for(300ms);  // the proxy sees the close and drops the session
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK(c.Command("RPUSH", "{dc}q", "precious"));
  std::this_thread::sleep_for(100ms);
  RS_ASSERT_OK_AND_ASSIGN(Reply len, c.Command("LLEN", "{dc}q"));
  EXPECT_EQ(len.integer, 1) << "the element was popped for a client that is gone";
}

TEST_F(ProxySessionTest, BlockedPopFollowsItsSlotToTheNewOwner) {
  const std::string key = "{bm}q";
  const int slot = KeySlot(key);
  RS_ASSERT_OK_AND_ASSIGN(std::string from, h_.OwnerOf(slot));
  const std::string to = OtherMaster(slot);
  RS_ASSERT_OK_AND_ASSIGN(RespConn blocked, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(blocked.Send({"BLPOP", key, "10"}));
  EXPECT_TRUE(blocked.Quiet(200ms));
  // Redis unblocks the client with MOVED when the slot leaves; the proxy sends it again there.
  RS_ASSERT_OK(MigrateSlot(h_, slot, from, to));
  EXPECT_TRUE(blocked.Quiet(500ms)) << "the client saw the redirect";
  RS_ASSERT_OK_AND_ASSIGN(RedisClient dst, h_.ConnectNode(to));
  RS_ASSERT_OK(dst.Command("RPUSH", key, "after-move"));
  RS_ASSERT_OK_AND_ASSIGN(std::string got, blocked.Read(5s));
  EXPECT_EQ(got, "*2\r\n$5\r\n{bm}q\r\n$10\r\nafter-move\r\n");
  RS_ASSERT_OK_AND_ASSIGN(Reply len, dst.Command("LLEN", key));
  EXPECT_EQ(len.integer, 0);
}

TEST_F(ProxySessionTest, StreamReadBlocksUntilAnEntryArrives) {
  RS_ASSERT_OK_AND_ASSIGN(RespConn reader, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(reader.Send({"XREAD", "BLOCK", "5000", "STREAMS", "{xs}s", "$"}));
  EXPECT_TRUE(reader.Quiet(200ms));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK(c.Command("XADD", "{xs}s", "*", "f", "v"));
  RS_ASSERT_OK_AND_ASSIGN(std::string got, reader.Read());
  EXPECT_NE(got.find("$1\r\nf\r\n$1\r\nv\r\n"), std::string::npos) << got;
  RS_ASSERT_OK_AND_ASSIGN(std::string none,
                          reader.Call({"XREAD", "BLOCK", "100", "STREAMS", "{xs}s", "$"}));
  EXPECT_EQ(none, "*-1\r\n");
}

TEST_F(ProxySessionTest, WaitCountsTheReplicasThatHaveTheClientsWrites) {
  RS_ASSERT_OK(h_.WaitForReplicasInSync(20s));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK(c.Command("SET", "{wt}a", "1"));
  RS_ASSERT_OK(c.Command("SET", "{other}b", "1"));
  RS_ASSERT_OK_AND_ASSIGN(Reply w, c.Command("WAIT", "1", "2000"));
  EXPECT_EQ(w.integer, 1) << w.ToString();
  // More replicas than exist: it waits its timeout, then says how many it has.
  auto start = std::chrono::steady_clock::now();
  RS_ASSERT_OK_AND_ASSIGN(Reply w2, c.Command("WAIT", "2", "300"));
  EXPECT_EQ(w2.integer, 1);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
  // Meanwhile another client's requests are not held up.
  RS_ASSERT_OK_AND_ASSIGN(RedisClient other, h_.Connect());
  auto t0 = std::chrono::steady_clock::now();
  RS_ASSERT_OK_AND_ASSIGN(RespConn waiter, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(waiter.Send({"WAIT", "5", "2000"}));
  for (int i = 0; i < 20; ++i) RS_ASSERT_OK(other.Command("GET", "{wt}a"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
  RS_ASSERT_OK_AND_ASSIGN(std::string late, waiter.Read());
  EXPECT_EQ(late, ":1\r\n");
}

TEST_F(ProxySessionTest, MaxSessionsBoundsSessionConnectionsWithAClearError) {
  h_.StopProxy();
  proxy::ProxyConfig cfg;
  cfg.seeds = h_.cluster().Addresses();
  cfg.max_sessions = 2;
  RS_ASSERT_OK(h_.StartProxy(cfg));
  std::vector<RespConn> blocked;
  for (int i = 0; i < 2; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(RespConn b, RespConn::Connect(h_.port()));
    RS_ASSERT_OK(b.Send({"BLPOP", "{ms}q" + std::to_string(i), "0"}));
    blocked.push_back(std::move(b));
  }
  EXPECT_TRUE(blocked[1].Quiet(200ms));
  RS_ASSERT_OK_AND_ASSIGN(RespConn third, RespConn::Connect(h_.port()));
  RS_ASSERT_OK_AND_ASSIGN(std::string refused, third.Call({"BLPOP", "{ms}q9", "0"}));
  EXPECT_NE(refused.find("--max-sessions 2"), std::string::npos) << refused;
  // Plain commands still run on the shared connections.
  RS_ASSERT_OK_AND_ASSIGN(std::string pong, third.Call({"SET", "{ms}k", "v"}));
  EXPECT_EQ(pong, "+OK\r\n");
  // Once a blocked client is served, its session is free again.
  RS_ASSERT_OK(third.Call({"RPUSH", "{ms}q0", "x"}));
  RS_ASSERT_OK(blocked[0].Read());
  RS_ASSERT_OK_AND_ASSIGN(std::string ok, third.Call({"BLPOP", "{ms}q9", "0.1"}));
  EXPECT_EQ(ok, "*-1\r\n");
}

TEST_F(ProxySessionTest, ClientReplyOffAndSkipDropRepliesInOrder) {
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(c.SendRaw(
      "CLIENT REPLY OFF\r\nSET {cr}a 1\r\nGET {cr}a\r\nCLIENT REPLY ON\r\nGET {cr}a\r\n"
      "CLIENT REPLY SKIP\r\nINCR {cr}a\r\nGET {cr}a\r\n"));
  RS_ASSERT_OK_AND_ASSIGN(std::string on, c.Read());
  EXPECT_EQ(on, "+OK\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string get, c.Read());
  EXPECT_EQ(get, "$1\r\n1\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string after_skip, c.Read());
  EXPECT_EQ(after_skip, "$1\r\n2\r\n");
  EXPECT_TRUE(c.Quiet(200ms));
}

TEST_F(ProxySessionTest, Resp3ClientsGetResp3Replies) {
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, RespConn::Connect(h_.port()));
  RS_ASSERT_OK_AND_ASSIGN(std::string hello, c.Call({"HELLO", "3"}));
  ASSERT_EQ(hello.substr(0, 4), "%8\r\n") << hello;
  std::vector<std::string> fields = Elements(hello);
  ASSERT_EQ(fields.size(), 16u);
  EXPECT_EQ(fields[4], "proto");
  EXPECT_EQ(fields[5], "3");
  // Nulls of the node (a RESP3 connection) and of the proxy's own replies are "_".
  RS_ASSERT_OK_AND_ASSIGN(std::string miss, c.Call({"GET", "{r3}missing"}));
  EXPECT_EQ(miss, "_\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string name, c.Call({"CLIENT", "GETNAME"}));
  EXPECT_EQ(name, "_\r\n");
  RS_ASSERT_OK(c.Call({"HSET", "{r3}h", "f", "v"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string map, c.Call({"HGETALL", "{r3}h"}));
  EXPECT_EQ(map, "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
  // Merged replies: MGET across slots keeps RESP3 nulls; INFO is a verbatim string.
  RS_ASSERT_OK_AND_ASSIGN(std::string mget, c.Call({"MGET", "a", "b"}));
  EXPECT_EQ(mget, "*2\r\n_\r\n_\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string info, c.Call({"INFO", "server"}));
  EXPECT_EQ(info[0], '=');
  EXPECT_NE(info.find("txt:# Proxy"), std::string::npos);
  // A timed-out blocking pop and an aborted EXEC are RESP3 nulls too.
  RS_ASSERT_OK_AND_ASSIGN(std::string pop, c.Call({"BLPOP", "{r3}q", "0.1"}));
  EXPECT_EQ(pop, "_\r\n");
  // Back to RESP2 on the same connection.
  RS_ASSERT_OK(c.Call({"HELLO", "2"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string miss2, c.Call({"GET", "{r3}missing"}));
  EXPECT_EQ(miss2, "$-1\r\n");
}

}  // namespace
}  // namespace rs::test
