// Sessions through the proxy when the cluster changes under them, at the byte level: an ASK
// while a transaction is queued, the node holding a WATCH or running an EXEC killed (kill -9),
// and a RESP3 client's transactions and blocking pops. Against a real 3-master + 3-replica
// cluster.
#include <gtest/gtest.h>

#include <thread>

#include "common/address.h"
#include "common/slot.h"
#include "proxy_fixture.h"
#include "support/resp_conn.h"
#include "support/test_status.h"

namespace rs::test {
namespace {

using namespace std::chrono_literals;

class ProxySessionFaultTest : public ::testing::Test {
 protected:
  void SetUp() override { RS_ASSERT_OK(h_.Start(3, 2000)); }

  // A master other than `owner`.
  std::string OtherMaster(const std::string& owner) {
    for (const std::string& a : h_.proxy().latest_table()->masters) {
      if (a != owner) return a;
    }
    return "";
  }

  // Writes key=value through the proxy and waits until a replica has it, so a failover keeps it.
  void SetReplicated(const std::string& key, const std::string& value) {
    RS_ASSERT_OK(h_.WaitForReplicasInSync(20s));
    RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
    RS_ASSERT_OK_AND_ASSIGN(Reply set, c.Command("SET", key, value));
    ASSERT_EQ(set.str, "OK");
    RS_ASSERT_OK_AND_ASSIGN(Reply acked, c.Command("WAIT", "1", "5000"));
    ASSERT_EQ(acked.integer, 1) << acked.ToString();
  }

  // kill -9 of the master owning `slot`; returns its address.
  std::string KillOwnerOf(int slot) {
    auto owner = h_.OwnerOf(slot);
    EXPECT_TRUE(owner.ok()) << owner.status().ToString();
    if (!owner.ok()) return "";
    int index = h_.cluster().IndexOf(*owner);
    EXPECT_GE(index, 0);
    if (index >= 0) RS_EXPECT_OK(h_.cluster().node(static_cast<size_t>(index)).Kill());
    return *owner;
  }

  // GET `key` through the proxy once its slot is served again after a failover (a replica of
  // `victim` promoted): the value, or why not within 30 s.
  Result<std::string> GetAfterFailover(const std::string& key, const std::string& victim) {
    RS_ASSIGN_OR_RETURN(RedisClient c, h_.Connect());
    auto deadline = std::chrono::steady_clock::now() + 30s;
    std::string last = "no attempt";
    while (std::chrono::steady_clock::now() < deadline) {
      auto owner = h_.OwnerOf(KeySlot(key));
      if (owner.ok() && *owner != victim) {
        RS_ASSIGN_OR_RETURN(Reply r, c.Command("GET", key));
        if (!r.is_error()) return r.is_nil() ? std::string("(nil)") : r.str;
        last = r.str;
      }
      std::this_thread::sleep_for(50ms);
    }
    return Status::Timeout("no failover of " + victim + " within 30 s; last: " + last);
  }

  ProxyHarness h_;
};

TEST_F(ProxySessionFaultTest, AskWhileQueuingReplaysWithAskingAndExecRunsOnTheTarget) {
  const std::string key = "{ask}n";
  const int slot = KeySlot(key);
  RS_ASSERT_OK_AND_ASSIGN(std::string from, h_.OwnerOf(slot));
  const std::string to = OtherMaster(from);
  RS_ASSERT_OK_AND_ASSIGN(Address to_addr, Address::Parse(to));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient src, h_.ConnectNode(from));
  RS_ASSERT_OK(src.Command("SET", key, "10"));
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, RespConn::Connect(h_.port()));
  std::vector<std::string> replies;
  RS_ASSERT_OK(MigrateSlot(h_, slot, from, to, [&] {
    // The key moves ahead of the rest of its slot: for it the source now answers ASK.
    auto m = src.Command("MIGRATE", to_addr.host, std::to_string(to_addr.port), key, "0", "5000");
    ASSERT_TRUE(m.ok() && m->str == "OK") << (m.ok() ? m->ToString() : m.status().ToString());
    for (const auto& cmd : std::vector<std::vector<std::string>>{
             {"MULTI"}, {"INCRBY", key, "5"}, {"INCRBY", key, "1"}, {"EXEC"}}) {
      auto r = c.Call(cmd);
      replies.push_back(r.ok() ? *r : r.status().ToString());
    }
  }));
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0], "+OK\r\n");
  EXPECT_EQ(replies[1], "+QUEUED\r\n");
  EXPECT_EQ(replies[2], "+QUEUED\r\n");
  EXPECT_EQ(replies[3], "*2\r\n:15\r\n:16\r\n") << "EXEC ran on the importing node, once";
  RS_ASSERT_OK_AND_ASSIGN(RedisClient dst, h_.ConnectNode(to));
  RS_ASSERT_OK_AND_ASSIGN(std::string v, dst.CommandString("GET", key));
  EXPECT_EQ(v, "16");
  RS_ASSERT_OK_AND_ASSIGN(std::string through, c.Call({"GET", key}));
  EXPECT_EQ(through, "$2\r\n16\r\n");
  // The session went back to the pool without the ASKING flag: a plain transaction on it runs.
  RS_ASSERT_OK(c.Call({"MULTI"}));
  RS_ASSERT_OK(c.Call({"INCR", key}));
  RS_ASSERT_OK_AND_ASSIGN(std::string exec, c.Call({"EXEC"}));
  EXPECT_EQ(exec, "*1\r\n:17\r\n");
}

TEST_F(ProxySessionFaultTest, WatchWhoseNodeIsKilledNeverLetsExecApply) {
  const std::string key = "{wk}k";
  SetReplicated(key, "1");
  // One client has its transaction queued when the node dies, another only its WATCH.
  RS_ASSERT_OK_AND_ASSIGN(RespConn queued, RespConn::Connect(h_.port()));
  RS_ASSERT_OK_AND_ASSIGN(std::string w1, queued.Call({"WATCH", key}));
  ASSERT_EQ(w1, "+OK\r\n");
  RS_ASSERT_OK(queued.Call({"MULTI"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string q, queued.Call({"SET", key, "2"}));
  ASSERT_EQ(q, "+QUEUED\r\n");
  RS_ASSERT_OK_AND_ASSIGN(RespConn watching, RespConn::Connect(h_.port()));
  RS_ASSERT_OK_AND_ASSIGN(std::string w2, watching.Call({"WATCH", key}));
  ASSERT_EQ(w2, "+OK\r\n");

  const std::string victim = KillOwnerOf(KeySlot(key));
  std::this_thread::sleep_for(200ms);  // the proxy has seen its session connections close
  RS_ASSERT_OK_AND_ASSIGN(std::string exec1, queued.Call({"EXEC"}));
  EXPECT_TRUE(exec1 == "*-1\r\n" || exec1[0] == '-') << exec1;
  RS_ASSERT_OK(watching.Call({"MULTI"}));
  RS_ASSERT_OK(watching.Call({"SET", key, "3"}));  // QUEUED or an error: the node is gone
  RS_ASSERT_OK_AND_ASSIGN(std::string exec2, watching.Call({"EXEC"}));
  EXPECT_TRUE(exec2 == "*-1\r\n" || exec2[0] == '-') << exec2;

  RS_ASSERT_OK_AND_ASSIGN(std::string v, GetAfterFailover(key, victim));
  EXPECT_EQ(v, "1") << "a transaction whose WATCH was lost ran";
  // The same connection runs a watched transaction on the promoted replica.
  RS_ASSERT_OK_AND_ASSIGN(std::string w3, queued.Call({"WATCH", key}));
  EXPECT_EQ(w3, "+OK\r\n");
  RS_ASSERT_OK(queued.Call({"MULTI"}));
  RS_ASSERT_OK(queued.Call({"SET", key, "4"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string exec3, queued.Call({"EXEC"}));
  EXPECT_EQ(exec3, "*1\r\n+OK\r\n");
}

TEST_F(ProxySessionFaultTest, NodeKilledAfterExecWasSentGivesAnErrorNotARetry) {
  const std::string key = "{ex}k";
  SetReplicated(key, "1");
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(c.Call({"MULTI"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string q, c.Call({"INCR", key}));
  ASSERT_EQ(q, "+QUEUED\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string owner, h_.OwnerOf(KeySlot(key)));
  const size_t index = static_cast<size_t>(h_.cluster().IndexOf(owner));
  // Stopped, the node takes the EXEC into its socket buffer and answers nothing; then it dies.
  RS_ASSERT_OK(h_.cluster().node(index).Pause());
  RS_ASSERT_OK(c.Send({"EXEC"}));
  EXPECT_TRUE(c.Quiet(300ms));
  RS_ASSERT_OK(h_.cluster().node(index).Kill());
  RS_ASSERT_OK_AND_ASSIGN(std::string exec, c.Read(5s));
  EXPECT_EQ(exec.rfind("-ERR proxy: ", 0), 0u) << exec;
  EXPECT_NE(exec.find("may or may not have run"), std::string::npos) << exec;
  EXPECT_NE(exec.find(owner), std::string::npos) << exec;

  RS_ASSERT_OK_AND_ASSIGN(std::string v, GetAfterFailover(key, owner));
  EXPECT_EQ(v, "1") << "the EXEC was sent again to the promoted replica";
  EXPECT_TRUE(c.Quiet(100ms)) << "a second reply to one EXEC";
  RS_ASSERT_OK_AND_ASSIGN(std::string after, c.Call({"INCR", key}));
  EXPECT_EQ(after, ":2\r\n");
}

TEST_F(ProxySessionFaultTest, Resp3ClientRunsTransactionsAndBlockingPops) {
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, RespConn::Connect(h_.port()));
  RS_ASSERT_OK_AND_ASSIGN(std::string hello, c.Call({"HELLO", "3"}));
  ASSERT_EQ(hello.substr(0, 4), "%8\r\n") << hello;
  RS_ASSERT_OK_AND_ASSIGN(std::string multi, c.Call({"MULTI"}));
  EXPECT_EQ(multi, "+OK\r\n");
  for (const auto& cmd : std::vector<std::vector<std::string>>{{"HSET", "{r3x}h", "f", "v"},
                                                               {"HGETALL", "{r3x}h"},
                                                               {"GET", "{r3x}missing"},
                                                               {"ZADD", "{r3x}z", "1.5", "m"},
                                                               {"ZSCORE", "{r3x}z", "m"}}) {
    RS_ASSERT_OK_AND_ASSIGN(std::string queued, c.Call(cmd));
    EXPECT_EQ(queued, "+QUEUED\r\n") << cmd[0];
  }
  // The node's RESP3 replies inside EXEC: a map, a "_" null, a double.
  RS_ASSERT_OK_AND_ASSIGN(std::string exec, c.Call({"EXEC"}));
  EXPECT_EQ(exec, "*5\r\n:1\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n_\r\n:1\r\n,1.5\r\n");
  // An aborted WATCH is a RESP3 null.
  RS_ASSERT_OK_AND_ASSIGN(RedisClient other, h_.Connect());
  RS_ASSERT_OK(c.Call({"WATCH", "{r3x}h"}));
  RS_ASSERT_OK(other.Command("HSET", "{r3x}h", "f", "changed"));
  RS_ASSERT_OK(c.Call({"MULTI"}));
  RS_ASSERT_OK(c.Call({"HDEL", "{r3x}h", "f"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string aborted, c.Call({"EXEC"}));
  EXPECT_EQ(aborted, "_\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string kept, c.Call({"HGET", "{r3x}h", "f"}));
  EXPECT_EQ(kept, "$7\r\nchanged\r\n");
  // Blocking pops wait on a RESP3 session: the pushed element, a score as a double.
  RS_ASSERT_OK(c.Send({"BLPOP", "{r3x}q", "0"}));
  EXPECT_TRUE(c.Quiet(200ms));
  RS_ASSERT_OK(other.Command("RPUSH", "{r3x}q", "x"));
  RS_ASSERT_OK_AND_ASSIGN(std::string popped, c.Read());
  EXPECT_EQ(popped, "*2\r\n$6\r\n{r3x}q\r\n$1\r\nx\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string zpop, c.Call({"BZPOPMIN", "{r3x}z", "1"}));
  EXPECT_EQ(zpop, "*3\r\n$6\r\n{r3x}z\r\n$1\r\nm\r\n,1.5\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string none, c.Call({"BLPOP", "{r3x}q", "0.1"}));
  EXPECT_EQ(none, "_\r\n");
  // A transaction after the blocking pops, on the same connection, is RESP3 still.
  RS_ASSERT_OK(c.Call({"MULTI"}));
  RS_ASSERT_OK(c.Call({"GET", "{r3x}missing"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string exec2, c.Call({"EXEC"}));
  EXPECT_EQ(exec2, "*1\r\n_\r\n");
}

}  // namespace
}  // namespace rs::test
