// The pure parts of pub/sub through the proxy: which channels and patterns concern keyspace
// notifications, node pushes parsed, PUBSUB replies merged, a client's subscriptions and the
// registry's counts.
#include "proxy/pubsub.h"

#include <gtest/gtest.h>

#include <thread>

namespace rs::proxy {
namespace {

TEST(PubSubTest, KeyspaceChannelsAreTheTwoNotificationPrefixes) {
  EXPECT_TRUE(IsKeyspaceChannel("__keyspace@0__:foo"));
  EXPECT_TRUE(IsKeyspaceChannel("__keyevent@0__:set"));
  EXPECT_TRUE(IsKeyspaceChannel("__keyevent@0__:keymiss"));
  EXPECT_FALSE(IsKeyspaceChannel("__keyspace"));
  EXPECT_FALSE(IsKeyspaceChannel("news.__keyspace@0__:foo"));
  EXPECT_FALSE(IsKeyspaceChannel("__KEYSPACE@0__:foo"));  // Redis matches channels exactly
  EXPECT_FALSE(IsKeyspaceChannel(""));
}

TEST(PubSubTest, PatternsThatCouldMatchAKeyspaceChannel) {
  struct Case {
    const char* pattern;
    bool may_match;
  };
  const Case cases[] = {
      {"*", true},
      {"__keyspace@0__:*", true},
      {"__keyevent@*", true},
      {"__key*", true},
      {"__key?????@0__:foo", true},
      {"__keys[abp]ace@*", true},
      {"__key[a-z]vent@0__:set", true},
      {"__key[z-a]vent@0__:set", true},  // a reversed range, as Redis swaps it
      {"__key[^x]vent@0__:set", true},
      {"\\_\\_keyspace@0__:*", true},
      {"_[_]keyspace@*", true},
      {"*foo", true},     // "__keyspace@foo"
      {"__keys[", true},  // malformed: assumed to match
      {"news.*", false},
      {"__k", false},  // matches "__k" only: the pattern ends before the prefix does
      {"?", false},
      {"__keyspace", false},  // matches only "__keyspace" itself, not a longer channel
      {"__keyspacex*", false},
      {"__key[^se]vent@*", false},
      {"__key[a-d]vent@*", false},
      {"_[a-z]keyspace@*", false},
      {"\\*", false},
      {"a*", false},
      {"", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(PatternMayMatchKeyspace(c.pattern), c.may_match) << c.pattern;
  }
}

TEST(PubSubTest, PrefixMatchingFollowsGlobSemantics) {
  EXPECT_TRUE(PatternMayMatchPrefix("ab*", "abc"));
  EXPECT_TRUE(PatternMayMatchPrefix("abc", "abc"));
  EXPECT_TRUE(PatternMayMatchPrefix("abcdef", "abc"));
  EXPECT_FALSE(PatternMayMatchPrefix("ab", "abc"));
  EXPECT_FALSE(PatternMayMatchPrefix("abd*", "abc"));
  EXPECT_TRUE(PatternMayMatchPrefix("a?c", "abc"));
  EXPECT_TRUE(PatternMayMatchPrefix("a[\\]]c", "a]c"));
  EXPECT_FALSE(PatternMayMatchPrefix("a[^b]c", "abc"));
  EXPECT_TRUE(PatternMayMatchPrefix("a\\", "a\\"));  // a trailing backslash is itself
}

TEST(PubSubTest, ParsesNodePushesInEitherProtocol) {
  PushView p;
  ASSERT_TRUE(ParsePush(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n", &p));
  EXPECT_TRUE(p.push);
  ASSERT_EQ(p.size, 3);
  EXPECT_EQ(p.e[0], "message");
  EXPECT_EQ(p.e[1], "ch");
  EXPECT_EQ(p.e[2], "hello");
  ASSERT_TRUE(ParsePush("*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$0\r\n\r\n", &p));
  EXPECT_FALSE(p.push);
  EXPECT_EQ(p.e[1], "c*");
  EXPECT_EQ(p.e[3], "");
  ASSERT_TRUE(ParsePush(">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n", &p));
  EXPECT_TRUE(p.null[1]);
  EXPECT_EQ(p.e[2], "0");
  ASSERT_TRUE(ParsePush("*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n", &p));
  EXPECT_TRUE(p.null[1]);
  // A payload with CRLF inside is framed by its length.
  ASSERT_TRUE(ParsePush(">3\r\n$8\r\nsmessage\r\n$1\r\nx\r\n$4\r\na\r\nb\r\n", &p));
  EXPECT_EQ(p.e[2], "a\r\nb");
  EXPECT_FALSE(ParsePush("+PONG\r\n", &p));
  EXPECT_FALSE(ParsePush(">5\r\n", &p));
  EXPECT_FALSE(ParsePush(">2\r\n$4\r\npong\r\n*1\r\n:1\r\n", &p));  // nested: not a message
  EXPECT_FALSE(ParsePush(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$9\r\nshort\r\n", &p));
}

TEST(PubSubTest, MessagesAreReencodedForTheClientsProtocol) {
  // What a node sends a RESP3 connection, and what Redis sends a RESP2 client for the same message.
  const std::string push = ">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$3\r\na\r\n\r\n";
  const std::string array = "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$3\r\na\r\n\r\n";
  auto whole = [](ClientMessage m) { return std::string(1, m.type) + std::string(m.rest); };
  EXPECT_EQ(whole(ReencodeMessage(push, 2)), array);
  EXPECT_EQ(whole(ReencodeMessage(push, 3)), push);
  EXPECT_EQ(whole(ReencodeMessage(array, 3)), push);
  EXPECT_EQ(whole(ReencodeMessage(array, 2)), array);
  // The rest is a view of the node's bytes: nothing copied.
  EXPECT_EQ(ReencodeMessage(push, 2).rest.data(), push.data() + 1);
}

TEST(PubSubTest, MergesChannelListsAsAUnion) {
  PubsubMerge m = MergePubsubReplies(
      PubsubQuery::kChannels,
      {"*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*0\r\n", "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"});
  EXPECT_TRUE(m.error.empty());
  EXPECT_EQ(m.channels, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(PubSubTest, MergesNumsubBySummingPerChannel) {
  PubsubMerge m = MergePubsubReplies(
      PubsubQuery::kNumsub,
      {"*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:0\r\n", "*4\r\n$1\r\na\r\n:2\r\n$1\r\nb\r\n:5\r\n"});
  ASSERT_TRUE(m.error.empty());
  ASSERT_EQ(m.counts.size(), 2u);
  EXPECT_EQ(m.counts[0], (std::pair<std::string, int64_t>{"a", 3}));
  EXPECT_EQ(m.counts[1], (std::pair<std::string, int64_t>{"b", 5}));
  EXPECT_EQ(MergePubsubReplies(PubsubQuery::kNumpat, {":1\r\n", ":3\r\n"}).numpat, 4);
  EXPECT_TRUE(MergePubsubReplies(PubsubQuery::kNumsub, {"*0\r\n", "*0\r\n"}).counts.empty());
}

TEST(PubSubTest, AnErrorFromAnyNodeIsTheReply) {
  PubsubMerge m =
      MergePubsubReplies(PubsubQuery::kNumpat, {":1\r\n", "-ERR proxy: backend x failed: y\r\n"});
  EXPECT_EQ(m.error, "-ERR proxy: backend x failed: y\r\n");
  m = MergePubsubReplies(PubsubQuery::kNumsub,
                         {"*2\r\n$1\r\na\r\n:1\r\n", "*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:1\r\n"});
  EXPECT_FALSE(m.error.empty());
  m = MergePubsubReplies(PubsubQuery::kChannels, {"+OK\r\n"});
  EXPECT_FALSE(m.error.empty());
}

TEST(PubSubTest, SubscriptionsCountLikeRedis) {
  Subscriptions s;
  EXPECT_TRUE(s.Add(SubKind::kChannel, "a"));
  EXPECT_FALSE(s.Add(SubKind::kChannel, "a"));
  EXPECT_TRUE(s.Add(SubKind::kPattern, "p2"));
  EXPECT_TRUE(s.Add(SubKind::kPattern, "p1"));
  EXPECT_TRUE(s.Add(SubKind::kShard, "s"));
  EXPECT_EQ(s.CountFor(SubKind::kChannel), 3u);  // channels and patterns together
  EXPECT_EQ(s.CountFor(SubKind::kPattern), 3u);
  EXPECT_EQ(s.CountFor(SubKind::kShard), 1u);
  // Patterns in subscription order, as Redis's PUNSUBSCRIBE without arguments answers.
  EXPECT_EQ(s.Names(SubKind::kPattern), (std::vector<std::string>{"p2", "p1"}));
  EXPECT_TRUE(s.Remove(SubKind::kPattern, "p2"));
  EXPECT_FALSE(s.Remove(SubKind::kPattern, "p2"));
  EXPECT_FALSE(s.Remove(SubKind::kChannel, "s"));  // kinds are apart
  EXPECT_TRUE(s.Remove(SubKind::kShard, "s"));
  EXPECT_TRUE(s.Remove(SubKind::kChannel, "a"));
  EXPECT_FALSE(s.empty());
  EXPECT_TRUE(s.Remove(SubKind::kPattern, "p1"));
  EXPECT_TRUE(s.empty());
}

TEST(PubSubTest, RegistryCountsClientsAndConnectionsAcrossThreads) {
  PubSubRegistry r;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r] {
      for (int i = 0; i < 1000; ++i) {
        r.AddClient(SubKind::kChannel, "news", 1);
        r.AddClient(SubKind::kPattern, "n*", 1);
      }
      r.AddConnection(SubKind::kChannel, "news", 1);
      r.AddConnection(SubKind::kPattern, "n*", 1);
      for (int i = 0; i < 500; ++i) r.AddClient(SubKind::kChannel, "news", -1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(r.Clients(SubKind::kChannel, "news"), 2000);
  EXPECT_EQ(r.Connections(SubKind::kChannel, "news"), 4);
  EXPECT_EQ(r.Clients(SubKind::kShard, "news"), 0);  // kinds are apart
  EXPECT_EQ(r.DistinctClientPatterns(), 1);
  EXPECT_EQ(r.ConnectionPatterns(), 4);
  r.AddConnection(SubKind::kPattern, "n*", -4);
  r.AddClient(SubKind::kPattern, "n*", -4000);
  EXPECT_EQ(r.DistinctClientPatterns(), 0);
  EXPECT_EQ(r.ConnectionPatterns(), 0);
}

TEST(GlobMatchTest, FollowsRedisStringmatch) {
  EXPECT_TRUE(GlobMatch("chan.*", "chan.foo"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("h?llo", "hello"));
  EXPECT_FALSE(GlobMatch("h?llo", "hllo"));
  EXPECT_TRUE(GlobMatch("h[ae]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[^e]llo", "hello"));
  EXPECT_TRUE(GlobMatch("h[a-c]llo", "hbllo"));
  EXPECT_TRUE(GlobMatch("a\\*b", "a*b"));
  EXPECT_FALSE(GlobMatch("a\\*b", "axb"));
  EXPECT_FALSE(GlobMatch("foo*", "bar"));
  EXPECT_TRUE(GlobMatch("*o*o*", "foo.boo"));
}

TEST(PubSubRegistryTest, ClientsReceivingCountsChannelAndMatchingPatterns) {
  PubSubRegistry r;
  r.AddClient(SubKind::kChannel, "news.1", 2);
  r.AddClient(SubKind::kPattern, "news.*", 1);
  r.AddClient(SubKind::kPattern, "sport.*", 3);
  EXPECT_EQ(r.ClientsReceiving("news.1"), 3);
  EXPECT_EQ(r.ClientsReceiving("news.2"), 1);
  EXPECT_EQ(r.ClientsReceiving("weather"), 0);
}

}  // namespace
}  // namespace rs::proxy
