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

TEST(CommandTableTest, KindsOfHandshakeAdminAndUnsupportedCommands) {
  auto kind = [](std::vector<std::string_view> args) {
    return RefineKind(*CommandTable::Get().Find(args[0]), args);
  };
  EXPECT_EQ(kind({"PING"}), CommandKind::kProxy);
  EXPECT_EQ(kind({"HELLO", "2"}), CommandKind::kProxy);
  EXPECT_EQ(kind({"FLUSHALL"}), CommandKind::kRefused);
  EXPECT_EQ(kind({"KEYS", "*"}), CommandKind::kRefused);
  EXPECT_EQ(kind({"CONFIG", "SET", "x", "y"}), CommandKind::kRefused);
  EXPECT_EQ(kind({"CONFIG", "GET", "x"}), CommandKind::kKeyless);
  EXPECT_EQ(kind({"BLPOP", "k", "0"}), CommandKind::kUnsupported);
  EXPECT_EQ(kind({"SUBSCRIBE", "c"}), CommandKind::kUnsupported);
  EXPECT_EQ(kind({"SCAN", "0"}), CommandKind::kUnsupported);
  EXPECT_EQ(kind({"XREAD", "BLOCK", "0", "STREAMS", "s", "$"}), CommandKind::kUnsupported);
  EXPECT_EQ(kind({"XREAD", "STREAMS", "s", "0"}), CommandKind::kKeyed);
  EXPECT_EQ(kind({"DBSIZE"}), CommandKind::kSumMasters);
  EXPECT_EQ(kind({"SCRIPT", "LOAD", "return 1"}), CommandKind::kBroadcast);
  EXPECT_EQ(kind({"FUNCTION", "LOAD", "x"}), CommandKind::kBroadcast);
  EXPECT_EQ(kind({"MGET", "a"}), CommandKind::kSplit);
}

}  // namespace
}  // namespace rs::proxy
