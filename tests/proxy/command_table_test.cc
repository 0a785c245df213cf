#include "proxy/command_table.h"

#include <gtest/gtest.h>

namespace rs::proxy {
namespace {

std::vector<int> Keys(std::vector<std::string_view> args) {
  const CommandInfo* info = CommandTable::Get().Find(args[0]);
  EXPECT_NE(info, nullptr) << args[0];
  std::vector<int> out;
  if (info) CommandTable::KeyIndexes(*info, args, &out);
  return out;
}

TEST(CommandTableTest, FindsCommandsInAnyCase) {
  const CommandInfo* get = CommandTable::Get().Find("gEt");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->name, "get");
  EXPECT_EQ(get->kind, CommandKind::kKeyed);
  EXPECT_EQ(CommandTable::Get().Find("nosuchcommand"), nullptr);
  EXPECT_EQ(CommandTable::Get().Find(""), nullptr);
}

TEST(CommandTableTest, EveryEntryIsFindableByItsName) {
  const CommandTable& t = CommandTable::Get();
  for (size_t i = 0; i < t.size(); ++i) {
    const CommandInfo* found = t.Find(t.at(i).name);
    ASSERT_NE(found, nullptr) << t.at(i).name;
    EXPECT_EQ(found->index, i);
  }
}

TEST(CommandTableTest, SingleAndFixedKeyPositions) {
  EXPECT_EQ(Keys({"GET", "k"}), (std::vector<int>{1}));
  EXPECT_EQ(Keys({"RENAME", "a", "b"}), (std::vector<int>{1, 2}));
  EXPECT_EQ(Keys({"OBJECT", "ENCODING", "k"}), (std::vector<int>{2}));
  EXPECT_EQ(Keys({"BITOP", "AND", "d", "a", "b"}), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(Keys({"SUNION", "a", "b", "c"}), (std::vector<int>{1, 2, 3}));
}

TEST(CommandTableTest, MsetTakesEveryOtherArgumentAndRejectsOddPairs) {
  EXPECT_EQ(Keys({"MSET", "a", "1", "b", "2"}), (std::vector<int>{1, 3}));
  EXPECT_TRUE(Keys({"MSET", "a", "1", "b"}).empty());
}

TEST(CommandTableTest, NumkeysCommandsReadTheCount) {
  EXPECT_EQ(Keys({"EVAL", "return 1", "2", "a", "b", "x"}), (std::vector<int>{3, 4}));
  EXPECT_TRUE(Keys({"EVAL", "return 1", "0"}).empty());
  EXPECT_TRUE(Keys({"EVAL", "return 1", "3", "a"}).empty());  // too short: Redis says so
  EXPECT_TRUE(Keys({"EVAL", "return 1", "x", "a"}).empty());
  EXPECT_EQ(Keys({"ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"}),
            (std::vector<int>{1, 3, 4}));
  EXPECT_EQ(Keys({"ZUNION", "2", "a", "b"}), (std::vector<int>{2, 3}));
}

TEST(CommandTableTest, XreadKeysFollowStreams) {
  EXPECT_EQ(Keys({"XREAD", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"}),
            (std::vector<int>{4, 5}));
  EXPECT_TRUE(Keys({"XREAD", "STREAMS", "s1"}).empty());
}

TEST(CommandTableTest, ShortRequestsYieldNoKeys) {
  EXPECT_TRUE(Keys({"GET"}).empty());
  EXPECT_TRUE(Keys({"MGET"}).empty());
}

TEST(CommandTableTest, ClassifiesHandshakeSessionsAdminAndNeverRelayedCommands) {
  auto cls = [](std::vector<std::string_view> args) {
    return Classify(*CommandTable::Get().Find(args[0]), args);
  };
  auto kind = [&](std::vector<std::string_view> args) { return cls(args).kind; };
  auto handler = [&](std::vector<std::string_view> args) { return cls(args).handler; };
  EXPECT_EQ(handler({"PING"}), Handler::kPing);
  EXPECT_EQ(handler({"HELLO", "3"}), Handler::kHello);
  EXPECT_EQ(kind({"FLUSHALL"}), CommandKind::kRefused);
  EXPECT_EQ(handler({"FLUSHALL"}), Handler::kFlush);
  EXPECT_EQ(kind({"KEYS", "*"}), CommandKind::kRefused);
  EXPECT_EQ(kind({"CONFIG", "SET", "x", "y"}), CommandKind::kRefused);
  EXPECT_EQ(handler({"CONFIG", "SET", "x", "y"}), Handler::kConfig);
  EXPECT_EQ(handler({"CONFIG", "GET", "x"}), Handler::kConfig);  // its port is the proxy's
  EXPECT_EQ(handler({"BLPOP", "k", "0"}), Handler::kBlocking);
  EXPECT_EQ(handler({"WAIT", "1", "0"}), Handler::kWait);
  EXPECT_EQ(handler({"MULTI"}), Handler::kMulti);
  EXPECT_EQ(handler({"WATCH", "k"}), Handler::kWatch);
  EXPECT_EQ(handler({"SUBSCRIBE", "c"}), Handler::kSubscribe);
  EXPECT_EQ(handler({"SCAN", "0"}), Handler::kScan);
  EXPECT_EQ(handler({"XREAD", "BLOCK", "0", "STREAMS", "s", "$"}), Handler::kBlocking);
  EXPECT_EQ(kind({"XREAD", "STREAMS", "s", "0"}), CommandKind::kKeyed);
  EXPECT_EQ(kind({"DBSIZE"}), CommandKind::kSumMasters);
  EXPECT_EQ(kind({"SCRIPT", "LOAD", "return 1"}), CommandKind::kBroadcast);
  EXPECT_EQ(handler({"SCRIPT", "KILL"}), Handler::kScript);
  EXPECT_EQ(kind({"FUNCTION", "LOAD", "x"}), CommandKind::kBroadcast);
  EXPECT_EQ(kind({"MGET", "a"}), CommandKind::kSplit);
  for (std::string_view never : {"SYNC", "PSYNC", "REPLCONF"}) {
    EXPECT_EQ(kind({never}), CommandKind::kNever) << never;
  }
}

TEST(CommandTableTest, BlockingCommandsSayWhereTheirTimeoutIs) {
  EXPECT_EQ(CommandTable::Get().Find("blpop")->timeout, TimeoutArg::kLastSeconds);
  EXPECT_EQ(CommandTable::Get().Find("blmove")->timeout, TimeoutArg::kLastSeconds);
  EXPECT_EQ(CommandTable::Get().Find("blmpop")->timeout, TimeoutArg::kFirstSeconds);
  EXPECT_EQ(CommandTable::Get().Find("xread")->timeout, TimeoutArg::kBlockMillis);
  EXPECT_EQ(Keys({"BLPOP", "a", "b", "1.5"}), (std::vector<int>{1, 2}));
  EXPECT_EQ(Keys({"BLMOVE", "a", "b", "LEFT", "RIGHT", "0"}), (std::vector<int>{1, 2}));
  EXPECT_EQ(Keys({"BLMPOP", "0", "2", "a", "b", "LEFT"}), (std::vector<int>{3, 4}));
  EXPECT_EQ(Keys({"BZMPOP", "1", "1", "z", "MIN"}), (std::vector<int>{3}));
}

TEST(CommandTableTest, ReadOnlyFlagFollowsRedis) {
  EXPECT_TRUE(CommandTable::Get().Find("get")->readonly);
  EXPECT_TRUE(CommandTable::Get().Find("mget")->readonly);
  EXPECT_TRUE(CommandTable::Get().Find("zrange")->readonly);
  EXPECT_FALSE(CommandTable::Get().Find("set")->readonly);
  EXPECT_FALSE(CommandTable::Get().Find("del")->readonly);
  EXPECT_FALSE(CommandTable::Get().Find("eval")->readonly);
  EXPECT_TRUE(CommandTable::Get().Find("eval_ro")->readonly);
}

}  // namespace
}  // namespace rs::proxy
