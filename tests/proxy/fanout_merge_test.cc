#include "proxy/fanout_merge.h"

#include <gtest/gtest.h>

namespace rs::proxy {
namespace {

std::vector<NodeReply> Nodes(std::vector<std::string> replies) {
  std::vector<NodeReply> out;
  for (size_t i = 0; i < replies.size(); ++i) {
    out.push_back({"10.0.0." + std::to_string(i + 1) + ":6379", replies[i]});
  }
  return out;
}

TEST(FanOutMergeTest, KeysConcatenatesEveryMastersKeys) {
  EXPECT_EQ(MergeConcat(Nodes({"*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*0\r\n", "*1\r\n$1\r\nc\r\n"})),
            "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
  EXPECT_EQ(MergeConcat(Nodes({"*1\r\n$1\r\na\r\n", "-ERR proxy: backend x failed\r\n"})),
            "-ERR proxy: backend x failed\r\n");
}

TEST(FanOutMergeTest, AllOkOrAnErrorThatNamesTheNodes) {
  EXPECT_EQ(MergeAllOk(Nodes({"+OK\r\n", "+OK\r\n"}), "CONFIG set"), "+OK\r\n");
  std::string err = MergeAllOk(
      Nodes({"+OK\r\n", "-ERR Invalid argument 'x'\r\n", "-ERR proxy: backend down\r\n"}),
      "CONFIG set");
  EXPECT_EQ(err,
            "-ERR proxy: CONFIG SET failed on 10.0.0.2:6379 (ERR Invalid argument 'x'), "
            "10.0.0.3:6379 (ERR proxy: backend down); it succeeded on the other 1 node(s)\r\n");
}

TEST(FanOutMergeTest, AnErrorEveryNodeGaveAlikeIsTheNodesOwn) {
  const std::string bad = "-ERR CONFIG SET failed (possibly related to argument 'x') - bad\r\n";
  EXPECT_EQ(MergeAllOk(Nodes({bad, bad, bad}), "CONFIG set"), bad);
}

TEST(FanOutMergeTest, ScriptKillIsOkIfOneKilledItAndNotbusyIfNoneRan) {
  const std::string notbusy = "-NOTBUSY No scripts in execution right now.\r\n";
  EXPECT_EQ(MergeKill(Nodes({notbusy, "+OK\r\n", notbusy})), "+OK\r\n");
  EXPECT_EQ(MergeKill(Nodes({notbusy, notbusy})), notbusy);
  const std::string unkillable = "-UNKILLABLE Sorry the script already executed write commands\r\n";
  EXPECT_EQ(MergeKill(Nodes({notbusy, unkillable})), unkillable);
}

TEST(FanOutMergeTest, PingIsTheProxysUnlessANodeSaysItIsBusy) {
  const std::string busy = "-BUSY Redis is busy running a script.\r\n";
  EXPECT_EQ(MergePing(Nodes({"+PONG\r\n", busy, "+PONG\r\n"}), "+PONG\r\n"), busy);
  EXPECT_EQ(MergePing(Nodes({"+PONG\r\n", "+PONG\r\n"}), "$2\r\nhi\r\n"), "$2\r\nhi\r\n");
  EXPECT_EQ(MergePing(Nodes({"-ERR proxy: backend x failed\r\n", "+PONG\r\n"}), "+PONG\r\n"),
            "+PONG\r\n");
}

TEST(FanOutMergeTest, ScriptExistsOnlyWhereEveryMasterHasIt) {
  EXPECT_EQ(MergeAndArrays(Nodes({"*3\r\n:1\r\n:1\r\n:0\r\n", "*3\r\n:1\r\n:0\r\n:0\r\n"})),
            "*3\r\n:1\r\n:0\r\n:0\r\n");
}

TEST(FanOutMergeTest, RandomKeyTakesTheFirstNodeWithAKeyFromThePick) {
  auto parts = Nodes({"$-1\r\n", "$1\r\nb\r\n", "$1\r\nc\r\n"});
  EXPECT_EQ(MergeRandomNonNil(parts, 0, 2), "$1\r\nb\r\n");
  EXPECT_EQ(MergeRandomNonNil(parts, 2, 2), "$1\r\nc\r\n");
  EXPECT_EQ(MergeRandomNonNil(Nodes({"$-1\r\n", "$-1\r\n"}), 1, 2), "$-1\r\n");
  EXPECT_EQ(MergeRandomNonNil(Nodes({"_\r\n"}), 0, 3), "_\r\n");
}

TEST(FanOutMergeTest, SlowlogMergesNewestFirstAndCounts) {
  auto entry = [](int id, int ts) {
    return "*6\r\n:" + std::to_string(id) + "\r\n:" + std::to_string(ts) +
           "\r\n:10\r\n*1\r\n$3\r\nget\r\n$9\r\n127.0.0.1\r\n$0\r\n\r\n";
  };
  std::string a = "*2\r\n" + entry(2, 300) + entry(1, 100);
  std::string b = "*1\r\n" + entry(7, 200);
  EXPECT_EQ(MergeSlowlog(Nodes({a, b}), -1), "*3\r\n" + entry(2, 300) + entry(7, 200) + entry(1, 100));
  EXPECT_EQ(MergeSlowlog(Nodes({a, b}), 2), "*2\r\n" + entry(2, 300) + entry(7, 200));
}

TEST(FanOutMergeTest, NamedTextSaysWhichNodeSaidWhat) {
  std::string out = MergeNamedText(Nodes({"$5\r\nhello\r\n", "=8\r\ntxt:hi!!\r\n"}), 2);
  EXPECT_EQ(out, "$41\r\n10.0.0.1:6379:\nhello\n10.0.0.2:6379:\nhi!!\n\r\n");
}

TEST(FanOutMergeTest, MemoryStatsSumsIntegersAndKeepsTheRest) {
  std::string a =
      "*6\r\n$14\r\npeak.allocated\r\n:100\r\n$4\r\ndb.0\r\n*2\r\n$8\r\noverhead\r\n:5\r\n"
      "$18\r\ndataset.percentage\r\n$4\r\n50.5\r\n";
  std::string b =
      "*6\r\n$14\r\npeak.allocated\r\n:23\r\n$4\r\ndb.0\r\n*2\r\n$8\r\noverhead\r\n:7\r\n"
      "$18\r\ndataset.percentage\r\n$4\r\n10.0\r\n";
  EXPECT_EQ(MergeSumFields(Nodes({a, b})),
            "*6\r\n$14\r\npeak.allocated\r\n:123\r\n$4\r\ndb.0\r\n*2\r\n$8\r\noverhead\r\n:12\r\n"
            "$18\r\ndataset.percentage\r\n$4\r\n50.5\r\n");
  // A field only one node has is kept; RESP3 maps stay maps.
  std::string m1 = "%1\r\n$1\r\nx\r\n:1\r\n";
  std::string m2 = "%2\r\n$1\r\nx\r\n:2\r\n$1\r\ny\r\n:9\r\n";
  EXPECT_EQ(MergeSumFields(Nodes({m1, m2})), "%2\r\n$1\r\nx\r\n:3\r\n$1\r\ny\r\n:9\r\n");
}

TEST(FanOutMergeTest, ConfigGetShowsTheProxysPort) {
  EXPECT_EQ(WithConfigValue("*4\r\n$4\r\nport\r\n$4\r\n7001\r\n$4\r\nbind\r\n$1\r\n*\r\n", "port",
                            "8889"),
            "*4\r\n$4\r\nport\r\n$4\r\n8889\r\n$4\r\nbind\r\n$1\r\n*\r\n");
  EXPECT_EQ(WithConfigValue("%1\r\n$4\r\nport\r\n$4\r\n7001\r\n", "port", "8889"),
            "%1\r\n$4\r\nport\r\n$4\r\n8889\r\n");
  EXPECT_EQ(WithConfigValue("*0\r\n", "port", "8889"), "*0\r\n");
  EXPECT_EQ(WithConfigValue("-ERR x\r\n", "port", "8889"), "-ERR x\r\n");
}

TEST(FanOutMergeTest, AggregateElementsSplitsTopLevelOnly) {
  std::vector<std::string_view> e;
  ASSERT_TRUE(AggregateElements("*2\r\n*1\r\n:1\r\n$1\r\nx\r\n", &e));
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0], "*1\r\n:1\r\n");
  EXPECT_EQ(e[1], "$1\r\nx\r\n");
  EXPECT_FALSE(AggregateElements("$1\r\nx\r\n", &e));
  EXPECT_FALSE(AggregateElements("*2\r\n:1\r\n", &e));  // short
}

}  // namespace
}  // namespace rs::proxy
