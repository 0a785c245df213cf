// The pure parts of client-side caching through the proxy: CLIENT TRACKING and CLIENT CACHING
// checked as Redis checks them, the commands that set a node connection up, CLIENT
// TRACKINGINFO's reply, and the nodes' invalidations re-encoded for a redirect target.
#include "proxy/tracking.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rs::proxy {
namespace {

// Parses "CLIENT TRACKING ..." given as one string of space-separated words.
Result<TrackingCommand> Parse(const std::string& line, const TrackingState& current = {},
                              std::vector<int64_t> clients = {7, 9}) {
  static std::vector<std::string> words;
  words.clear();
  size_t pos = 0;
  while (pos <= line.size()) {
    size_t sp = line.find(' ', pos);
    if (sp == std::string::npos) sp = line.size();
    words.push_back(line.substr(pos, sp - pos));
    pos = sp + 1;
  }
  std::vector<std::string_view> args(words.begin(), words.end());
  return ParseTracking(args, current, [clients](int64_t id) {
    for (int64_t c : clients) {
      if (c == id) return true;
    }
    return false;
  });
}

std::string ErrorOf(const Result<TrackingCommand>& r) {
  return r.ok() ? "(ok)" : r.status().message();
}

TrackingState On(const std::string& line, TrackingState s = {}) {
  Result<TrackingCommand> cmd = Parse(line, s);
  EXPECT_TRUE(cmd.ok()) << line << ": " << ErrorOf(cmd);
  if (cmd.ok()) ApplyTracking(*cmd, &s);
  return s;
}

TEST(TrackingTest, ParsesEveryOption) {
  Result<TrackingCommand> cmd =
      Parse("CLIENT TRACKING on REDIRECT 7 BCAST PREFIX a: PREFIX b: NOLOOP");
  ASSERT_TRUE(cmd.ok()) << ErrorOf(cmd);
  EXPECT_TRUE(cmd->on);
  EXPECT_EQ(cmd->redirect, 7);
  EXPECT_TRUE(cmd->bcast);
  EXPECT_TRUE(cmd->noloop);
  EXPECT_EQ(cmd->prefixes, (std::vector<std::string>{"a:", "b:"}));
  cmd = Parse("client tracking ON optin");
  ASSERT_TRUE(cmd.ok());
  EXPECT_TRUE(cmd->optin);
  cmd = Parse("CLIENT TRACKING off");
  ASSERT_TRUE(cmd.ok());
  EXPECT_FALSE(cmd->on);
}

TEST(TrackingTest, ErrorsAreRedisOwnInRedisOrder) {
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING on REDIRECT 7 REDIRECT 9")),
            "ERR A client can only redirect to a single other client");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING on REDIRECT x")),
            "ERR value is not an integer or out of range");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING on REDIRECT 8")),
            "ERR The client ID you want redirect to does not exist");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING on REDIRECT 0")),
            "ERR The client ID you want redirect to does not exist");
  // Options are read before on/off, so the redirect's error wins over a bad mode.
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING maybe REDIRECT 8")),
            "ERR The client ID you want redirect to does not exist");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING maybe")), "ERR syntax error");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING on BOGUS")), "ERR syntax error");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING on REDIRECT")), "ERR syntax error");  // no value
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING on BCAST PREFIX")), "ERR syntax error");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING on PREFIX a")),
            "ERR PREFIX option requires BCAST mode to be enabled");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING on BCAST OPTIN")),
            "ERR OPTIN and OPTOUT are not compatible with BCAST");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING on OPTIN OPTOUT")),
            "ERR You can't specify both OPTIN mode and OPTOUT mode");
  // OFF takes the same options and checks none of the modes.
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING off PREFIX a OPTIN OPTOUT")), "(ok)");
}

TEST(TrackingTest, ModeSwitchesNeedTrackingOffFirst) {
  const TrackingState plain = On("CLIENT TRACKING on");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING on BCAST", plain)),
            "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
            "and then re-enabling it with a different mode.");
  const TrackingState bcast = On("CLIENT TRACKING on BCAST PREFIX a");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING on", bcast)),
            "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
            "and then re-enabling it with a different mode.");
  const TrackingState optin = On("CLIENT TRACKING on OPTIN");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING on OPTOUT", optin)),
            "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
            "and then re-enabling it with a different mode.");
  // Dropping OPTIN is allowed, and so is turning it on.
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING on", optin)), "(ok)");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING on OPTIN", plain)), "(ok)");
}

TEST(TrackingTest, OverlappingPrefixesAreRefusedWithBothNamed) {
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING ON BCAST PREFIX FOOBAR PREFIX FOO")),
            "ERR Prefix 'FOOBAR' overlaps with another provided prefix 'FOO'. Prefixes for a "
            "single client must not overlap.");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING ON BCAST PREFIX FOO PREFIX FOOBAR")),
            "ERR Prefix 'FOO' overlaps with another provided prefix 'FOOBAR'. Prefixes for a "
            "single client must not overlap.");
  // Not only the first one given: Redis 7.0.15 also answers +OK after this error (a bug).
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING ON BCAST PREFIX A PREFIX B PREFIX BC")),
            "ERR Prefix 'B' overlaps with another provided prefix 'BC'. Prefixes for a single "
            "client must not overlap.");
  const TrackingState held = On("CLIENT TRACKING ON BCAST PREFIX FOO PREFIX BAR");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING ON BCAST PREFIX FO", held)),
            "ERR Prefix 'FO' overlaps with an existing prefix 'FOO'. Prefixes for a single "
            "client must not overlap.");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING ON BCAST PREFIX BARB", held)),
            "ERR Prefix 'BARB' overlaps with an existing prefix 'BAR'. Prefixes for a single "
            "client must not overlap.");
  // The same prefix again overlaps with itself; the empty one with everything.
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING ON BCAST PREFIX BAR", held)),
            "ERR Prefix 'BAR' overlaps with an existing prefix 'BAR'. Prefixes for a single "
            "client must not overlap.");
  const TrackingState all = On("CLIENT TRACKING ON BCAST");
  EXPECT_EQ(ErrorOf(Parse("CLIENT TRACKING ON BCAST PREFIX x", all)),
            "ERR Prefix 'x' overlaps with an existing prefix ''. Prefixes for a single client "
            "must not overlap.");
}

TEST(TrackingTest, OnAccumulatesPrefixesAndReplacesTheRest) {
  TrackingState s = On("CLIENT TRACKING on BCAST REDIRECT 7 PREFIX b: PREFIX a: NOLOOP");
  EXPECT_EQ(s.prefixes, (std::set<std::string>{"a:", "b:"}));
  EXPECT_EQ(s.redirect, 7);
  EXPECT_TRUE(s.noloop);
  s.broken_redirect = true;
  s = On("CLIENT TRACKING on BCAST PREFIX c:", s);
  EXPECT_EQ(s.prefixes, (std::set<std::string>{"a:", "b:", "c:"}));
  EXPECT_EQ(s.redirect, 0);  // not given again: none
  EXPECT_FALSE(s.noloop);
  EXPECT_FALSE(s.broken_redirect);
  s = On("CLIENT TRACKING on BCAST", s);  // adds the empty prefix, unchecked
  EXPECT_EQ(s.prefixes.count(""), 1u);
  Result<TrackingCommand> off = Parse("CLIENT TRACKING off");
  ASSERT_TRUE(off.ok());
  ApplyTracking(*off, &s);
  EXPECT_FALSE(s.on);
  EXPECT_TRUE(s.prefixes.empty());
}

TEST(TrackingTest, CachingNeedsTheMatchingMode) {
  TrackingState off;
  Result<Caching> r = ParseCaching("yes", off);
  EXPECT_EQ(r.status().message(),
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with "
            "OPTIN or OPTOUT mode enabled");
  const TrackingState optin = On("CLIENT TRACKING on OPTIN");
  r = ParseCaching("YES", optin);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Caching::kYes);
  EXPECT_EQ(ParseCaching("no", optin).status().message(),
            "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
  const TrackingState optout = On("CLIENT TRACKING on OPTOUT");
  EXPECT_EQ(*ParseCaching("no", optout), Caching::kNo);
  EXPECT_EQ(ParseCaching("yes", optout).status().message(),
            "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
  EXPECT_EQ(ParseCaching("maybe", optout).status().message(), "ERR syntax error");
  // Tracking on without OPTIN/OPTOUT: Redis checks only that tracking is on, then the mode.
  const TrackingState plain = On("CLIENT TRACKING on");
  EXPECT_EQ(ParseCaching("yes", plain).status().message(),
            "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
}

TEST(TrackingTest, CachingLastsUntilAfterTheNextCommandOrTransaction) {
  EXPECT_FALSE(CachingExpired(/*previous_was_client=*/true, /*in_multi=*/false));
  EXPECT_TRUE(CachingExpired(false, false));
  EXPECT_FALSE(CachingExpired(false, true));  // MULTI and the commands queued after it
}

TEST(TrackingTest, NodeCommandsCarryTheClientsModeAndTheSinkAsRedirect) {
  const TrackingState s = On("CLIENT TRACKING on REDIRECT 7 OPTIN NOLOOP");
  EXPECT_EQ(NodeTrackingCommand(s, {}, 4242),
            "*7\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\non\r\n$8\r\nREDIRECT\r\n$4\r\n4242\r\n"
            "$5\r\nOPTIN\r\n$6\r\nNOLOOP\r\n");
  // Without a sink (no REDIRECT) there is no REDIRECT: the node pushes on the connection.
  const TrackingState b = On("CLIENT TRACKING on BCAST PREFIX x PREFIX y");
  std::vector<std::string> setup = NodeTrackingSetup(b, 0);
  ASSERT_EQ(setup.size(), 1u);
  EXPECT_EQ(setup[0],
            "*8\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\non\r\n$5\r\nBCAST\r\n$6\r\nPREFIX\r\n"
            "$1\r\nx\r\n$6\r\nPREFIX\r\n$1\r\ny\r\n");
  // The empty prefix added after named ones: a second command, after them (a node refuses both
  // together as overlapping).
  const TrackingState both = On("CLIENT TRACKING on BCAST", b);
  setup = NodeTrackingSetup(both, 0);
  ASSERT_EQ(setup.size(), 2u);
  EXPECT_EQ(setup[0], NodeTrackingCommand(both, std::vector<std::string>{"x", "y"}, 0));
  EXPECT_EQ(setup[1], "*4\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\non\r\n$5\r\nBCAST\r\n");
  EXPECT_EQ(CachingCommand(Caching::kNo), "*3\r\n$6\r\nCLIENT\r\n$7\r\nCACHING\r\n$2\r\nno\r\n");
}

TEST(TrackingTest, TrackingInfoInBothProtocols) {
  EXPECT_EQ(TrackingInfoReply(nullptr, 2),
            "*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n"
            "*0\r\n");
  TrackingState s = On("CLIENT TRACKING on OPTIN REDIRECT 9 NOLOOP");
  s.caching = Caching::kYes;
  s.broken_redirect = true;
  EXPECT_EQ(TrackingInfoReply(&s, 3),
            "%3\r\n$5\r\nflags\r\n~5\r\n$2\r\non\r\n$5\r\noptin\r\n$11\r\ncaching-yes\r\n"
            "$6\r\nnoloop\r\n$15\r\nbroken_redirect\r\n$8\r\nredirect\r\n:9\r\n"
            "$8\r\nprefixes\r\n*0\r\n");
  const TrackingState b = On("CLIENT TRACKING on BCAST PREFIX foo PREFIX bar");
  EXPECT_EQ(TrackingInfoReply(&b, 3),
            "%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$5\r\nbcast\r\n$8\r\nredirect\r\n:0\r\n"
            "$8\r\nprefixes\r\n*2\r\n$3\r\nbar\r\n$3\r\nfoo\r\n");
  EXPECT_EQ(GetRedir(nullptr), -1);
  EXPECT_EQ(GetRedir(&b), 0);
  EXPECT_EQ(GetRedir(&s), 9);
}

TEST(TrackingTest, NodePushesAreReadAndReencodedForTheTarget) {
  TrackingPush p;
  const std::string keys = ">2\r\n$10\r\ninvalidate\r\n*2\r\n$1\r\na\r\n$2\r\nbc\r\n";
  ASSERT_TRUE(ParseTrackingPush(keys, &p));
  EXPECT_EQ(p.kind, TrackingPushKind::kInvalidate);
  EXPECT_FALSE(p.null);
  EXPECT_EQ(p.value, "*2\r\n$1\r\na\r\n$2\r\nbc\r\n");
  // A RESP3 target gets the push as the node wrote it; a RESP2 target in pub/sub mode the
  // message on __redis__:invalidate; a RESP2 target that is not, nothing.
  EXPECT_EQ(InvalidationForTarget(p, 3, false), keys);
  EXPECT_EQ(InvalidationForTarget(p, 2, true),
            "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*2\r\n$1\r\na\r\n$2\r\nbc\r\n");
  EXPECT_EQ(InvalidationForTarget(p, 2, false), "");
  // A flush: every key, null in the target's protocol.
  ASSERT_TRUE(ParseTrackingPush(">2\r\n$10\r\ninvalidate\r\n_\r\n", &p));
  EXPECT_TRUE(p.null);
  EXPECT_EQ(InvalidationForTarget(p, 3, false), ">2\r\n$10\r\ninvalidate\r\n_\r\n");
  EXPECT_EQ(InvalidationForTarget(p, 2, true),
            "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n");
  EXPECT_EQ(NullInvalidationPush(), ">2\r\n$10\r\ninvalidate\r\n_\r\n");
  ASSERT_TRUE(ParseTrackingPush(">2\r\n$21\r\ntracking-redir-broken\r\n:4242\r\n", &p));
  EXPECT_EQ(p.kind, TrackingPushKind::kRedirBroken);
  EXPECT_EQ(RedirBrokenPush(17), ">2\r\n$21\r\ntracking-redir-broken\r\n:17\r\n");
  // Anything else is not a tracking push.
  EXPECT_FALSE(ParseTrackingPush(">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n", &p));
  EXPECT_FALSE(ParseTrackingPush("*2\r\n$10\r\ninvalidate\r\n_\r\n", &p));
  EXPECT_FALSE(ParseTrackingPush(">2\r\n$10\r\ninvalidate\r\n:1\r\n", &p));
  EXPECT_FALSE(ParseTrackingPush(">2\r\n$99\r\ninvalidate\r\n", &p));
}

}  // namespace
}  // namespace rs::proxy
