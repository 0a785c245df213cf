#include "proxy/splitter.h"

#include <gtest/gtest.h>

#include "common/slot.h"

namespace rs::proxy {
namespace {

TEST(SplitterTest, MgetIsSplitPerSlotAndMergedInKeyOrder) {
  // "a", "b", "c" hash to different slots; "{a}x" shares a's slot.
  std::vector<std::string_view> args = {"MGET", "a", "b", "{a}x", "c"};
  ASSERT_EQ(KeySlot("a"), KeySlot("{a}x"));
  std::vector<int> keys = {1, 2, 3, 4};
  auto subs = SplitBySlot(args, keys, SplitKind::kMget);
  ASSERT_EQ(subs.size(), 3u);
  EXPECT_EQ(subs[0].slot, KeySlot("a"));
  EXPECT_EQ(subs[0].command, "*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$4\r\n{a}x\r\n");
  EXPECT_EQ(subs[0].outputs, (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(subs[1].outputs, (std::vector<uint32_t>{1}));
  EXPECT_EQ(subs[2].outputs, (std::vector<uint32_t>{3}));

  Merger m(MergeKind::kMget, 3, 4);
  for (size_t i = 0; i < 3; ++i) m.outputs()[i] = subs[i].outputs;
  m.Add(2, "*1\r\n$2\r\nvc\r\n");
  EXPECT_FALSE(m.done());
  m.Add(0, "*2\r\n$2\r\nva\r\n$-1\r\n");
  m.Add(1, "*1\r\n$2\r\nvb\r\n");
  ASSERT_TRUE(m.done());
  EXPECT_EQ(m.Finish(), "*4\r\n$2\r\nva\r\n$2\r\nvb\r\n$-1\r\n$2\r\nvc\r\n");
}

TEST(SplitterTest, MsetKeepsValuesWithTheirKeys) {
  std::vector<std::string_view> args = {"MSET", "a", "1", "b", "2"};
  auto subs = SplitBySlot(args, {1, 3}, SplitKind::kMset);
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].command, "*3\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n");
  EXPECT_EQ(subs[1].command, "*3\r\n$4\r\nMSET\r\n$1\r\nb\r\n$1\r\n2\r\n");
  Merger m(MergeKind::kAllOk, 2);
  m.Add(0, "+OK\r\n");
  m.Add(1, "+OK\r\n");
  EXPECT_EQ(m.Finish(), "+OK\r\n");
}

TEST(SplitterTest, IntegerRepliesAreSummed) {
  Merger m(MergeKind::kSumInt, 3);
  m.Add(0, ":2\r\n");
  m.Add(1, ":0\r\n");
  m.Add(2, ":5\r\n");
  EXPECT_EQ(m.Finish(), ":7\r\n");
}

TEST(SplitterTest, TheFirstErrorInPartOrderWins) {
  Merger m(MergeKind::kSumInt, 3);
  m.Add(2, "-ERR third\r\n");
  m.Add(0, ":1\r\n");
  m.AddError(1, "ERR proxy: backend down");
  EXPECT_EQ(m.Finish(), "-ERR proxy: backend down\r\n");
}

TEST(SplitterTest, MgetReplyOfTheWrongShapeBecomesAnError) {
  Merger m(MergeKind::kMget, 1, 2);
  m.outputs()[0] = {0, 1};
  m.Add(0, "*1\r\n$1\r\nx\r\n");
  EXPECT_EQ(m.Finish().substr(0, 4), "-ERR");
}

TEST(SplitterTest, SameSlotDetectsHashTags) {
  int slot = -1;
  std::vector<std::string_view> args = {"MGET", "{u1}a", "{u1}b"};
  EXPECT_TRUE(SameSlot(args, {1, 2}, &slot));
  EXPECT_EQ(slot, KeySlot("u1"));
  std::vector<std::string_view> other = {"MGET", "a", "b"};
  EXPECT_FALSE(SameSlot(other, {1, 2}, &slot));
}

TEST(SplitterTest, InfoSumsCountersAndKeyspace) {
  std::string a =
      "# Server\r\nredis_version:7.0.15\r\ntcp_port:7001\r\n# Clients\r\n"
      "connected_clients:3\r\n# Keyspace\r\ndb0:keys=10,expires=1,avg_ttl=0\r\n";
  std::string b =
      "# Server\r\nredis_version:7.0.15\r\ntcp_port:7002\r\n# Clients\r\n"
      "connected_clients:4\r\n# Keyspace\r\ndb0:keys=5,expires=2,avg_ttl=0\r\n";
  std::string out = AggregateInfo({a, b});
  EXPECT_NE(out.find("redis_version:7.0.15\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("tcp_port:7001\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("connected_clients:7\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("db0:keys=15,expires=3,avg_ttl=0\r\n"), std::string::npos) << out;
}

TEST(SplitterTest, InfoIsBuiltFromTheNodesThatAnsweredAndNamesTheOthers) {
  Merger m(MergeKind::kInfo, 3);
  m.set_prefix("# Proxy\r\nproxy_threads:1\r\n\r\n# Backends\r\nsessions_idle:0\r\n");
  m.set_nodes({"10.0.0.1:1", "10.0.0.2:2", "10.0.0.3:3"});
  const std::string payload = "# Keyspace\r\ndb0:keys=10,expires=1,avg_ttl=0\r\n";
  m.Add(0, "$" + std::to_string(payload.size()) + "\r\n" + payload + "\r\n");
  EXPECT_FALSE(m.has(1));
  m.AddError(1, "ERR proxy: backend 10.0.0.2:2 is unavailable (refused), x");
  m.AddNoAnswer(2);
  ASSERT_TRUE(m.done());
  EXPECT_TRUE(m.has(2));
  std::string out = m.Finish();
  ASSERT_EQ(out[0], '$') << out;  // INFO answers, it does not fail with the first error
  EXPECT_NE(out.find("# Backends\r\nsessions_idle:0\r\n"
                     "info_node0:addr=10.0.0.1:1,state=ok\r\n"
                     "info_node1:addr=10.0.0.2:2,state=error,error=ERR proxy: backend 10.0.0.2:2 "
                     "is unavailable (refused); x\r\n"
                     "info_node2:addr=10.0.0.3:3,state=no-answer\r\n\r\n# Keyspace\r\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("db0:keys=10,expires=1,avg_ttl=0\r\n"), std::string::npos) << out;
}

TEST(SplitterTest, InfoTakesTheLargestOfWhatEveryMasterHolds) {
  // SCRIPT LOAD reached all three masters, and one EVAL cached a script on the second only.
  std::string a = "# Memory\r\nused_memory:100\r\nnumber_of_cached_scripts:2\r\nmaxmemory:0\r\n";
  std::string b = "# Memory\r\nused_memory:200\r\nnumber_of_cached_scripts:3\r\nmaxmemory:0\r\n";
  std::string c = "# Memory\r\nused_memory:300\r\nnumber_of_cached_scripts:2\r\nmaxmemory:0\r\n";
  std::string out = AggregateInfo({a, b, c});
  EXPECT_NE(out.find("used_memory:600\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("number_of_cached_scripts:3\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("maxmemory:0\r\n"), std::string::npos) << out;
}

TEST(SplitterTest, InfoTakesTheLargestPrefixTableAndSumsTrackedKeys) {
  // A BCAST client's prefixes are registered on every master; its tracked keys on one each.
  std::string a = "# Stats\r\ntracking_total_keys:2\r\ntracking_total_prefixes:1\r\n";
  std::string b = "# Stats\r\ntracking_total_keys:3\r\ntracking_total_prefixes:1\r\n";
  std::string out = AggregateInfo({a, b});
  EXPECT_NE(out.find("tracking_total_keys:5\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("tracking_total_prefixes:1\r\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace rs::proxy
