// Sessions through the proxy when the cluster changes under them, at the byte level: an ASK
// while a transaction is queued. Against a real 3-master + 3-replica cluster.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace rs::test
