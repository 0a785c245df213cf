// Client-side caching (CLIENT TRACKING) through the proxy, against a real 3-master + 3-replica
// cluster: invalidations from every master in the order the node wrote them, REDIRECT to a RESP2
// subscriber and to a RESP3 client, BCAST with prefixes, OPTIN/OPTOUT with CLIENT CACHING,
// NOLOOP, FLUSHALL, tracking-redir-broken, and the client's connections (tracking sessions,
// sinks) given back when it turns tracking off or disconnects.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <thread>

#include "common/address.h"
#include "common/slot.h"
#include "proxy_fixture.h"
#include "support/resp_conn.h"
#include "support/test_status.h"

namespace rs::test {
namespace {

using namespace std::chrono_literals;

std::string Bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}
// [invalidate, [keys...]] as a RESP3 client receives it.
std::string Invalidate(const std::vector<std::string>& keys) {
  std::string out = ">2\r\n$10\r\ninvalidate\r\n*" + std::to_string(keys.size()) + "\r\n";
  for (const std::string& k : keys) out += Bulk(k);
  return out;
}
const std::string kInvalidateAll = ">2\r\n$10\r\ninvalidate\r\n_\r\n";

std::string ReadOr(RespConn& c, std::chrono::milliseconds timeout = 3s) {
  auto r = c.Read(timeout);
  return r.ok() ? *r : "<" + r.status().message() + ">";
}

class ProxyTrackingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    proxy::ProxyConfig cfg;
    cfg.allow_admin_commands = true;  // FLUSHALL
    RS_ASSERT_OK(h_.Start(3, 2000, cfg));
  }

  // A RESP3 connection to the proxy.
  Result<RespConn> Resp3() {
    RS_ASSIGN_OR_RETURN(RespConn c, RespConn::Connect(h_.port()));
    RS_ASSIGN_OR_RETURN(std::string hello, c.Call({"HELLO", "3"}));
    if (hello.empty() || hello[0] != '%') return Status::Internal("HELLO 3: " + hello);
    return c;
  }

  // `field` of the proxy's INFO, asked by a client that does not track.
  int64_t ProxyInfo(const std::string& field) {
    auto c = h_.Connect();
    if (!c.ok()) return -1;
    auto info = c->CommandString("INFO");
    if (!info.ok()) return -1;
    size_t at = info->find("\n" + field + ":");
    if (at == std::string::npos) return -1;
    return std::stoll(info->substr(at + field.size() + 2));
  }

  // The sum over the masters of `field` in their own INFO.
  int64_t NodeInfoSum(const std::string& field) {
    int64_t sum = 0;
    for (const std::string& m : h_.Masters()) {
      auto c = h_.ConnectNode(m);
      if (!c.ok()) continue;
      auto info = c->CommandString("INFO");
      if (!info.ok()) continue;
      size_t at = info->find("\n" + field + ":");
      if (at != std::string::npos) sum += std::stoll(info->substr(at + field.size() + 2));
    }
    return sum;
  }

  // Node-side connections whose last command was CLIENT ID in RESP3: the proxy's sinks.
  int64_t NodeSinks() {
    int64_t n = 0;
    for (const std::string& m : h_.Masters()) {
      auto c = h_.ConnectNode(m);
      if (!c.ok()) continue;
      auto list = c->CommandString("CLIENT", "LIST");
      if (!list.ok()) continue;
      for (size_t at = list->find("cmd=client|id"); at != std::string::npos;
           at = list->find("cmd=client|id", at + 1)) {
        size_t eol = list->find('\n', at);
        if (list->substr(at, eol - at).find("resp=3") != std::string::npos) ++n;
      }
    }
    return n;
  }

  // Polls `fn` until it returns `want` (or 3 s passed); returns the last value.
  static int64_t Eventually(const std::function<int64_t()>& fn, int64_t want) {
    int64_t v = fn();
    for (int i = 0; i < 60 && v != want; ++i) {
      std::this_thread::sleep_for(50ms);
      v = fn();
    }
    return v;
  }

  ProxyHarness h_;
};

std::string Id(RespConn& c) {
  auto r = c.Call({"CLIENT", "ID"});
  return r.ok() && r->size() > 3 && (*r)[0] == ':' ? r->substr(1, r->size() - 3) : "?";
}

// A RESP3 client tracking the keys it reads gets one invalidation per key from whichever master
// holds it; on one master, in the node's own order: after the reply of the request that caused
// it, before the replies of those after.
TEST_F(ProxyTrackingTest, Resp3ClientGetsInvalidationsFromEveryMasterInTheNodesOrder) {
  std::vector<std::string> keys = h_.KeyPerMaster("trk:");
  ASSERT_EQ(keys.size(), 3u);
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, Resp3());
  RS_ASSERT_OK_AND_ASSIGN(RedisClient other, h_.Connect());
  for (const std::string& k : keys) RS_ASSERT_OK(other.Command("SET", k, "1"));
  RS_ASSERT_OK_AND_ASSIGN(std::string on, c.Call({"CLIENT", "TRACKING", "on"}));
  EXPECT_EQ(on, "+OK\r\n");
  for (const std::string& k : keys) {
    RS_ASSERT_OK_AND_ASSIGN(std::string v, c.Call({"GET", k}));
    EXPECT_EQ(v, "$1\r\n1\r\n");
  }
  for (const std::string& k : keys) RS_ASSERT_OK(other.Command("SET", k, "2"));
  std::set<std::string> got;
  for (size_t i = 0; i < keys.size(); ++i) got.insert(ReadOr(c));
  EXPECT_EQ(got, (std::set<std::string>{Invalidate({keys[0]}), Invalidate({keys[1]}),
                                        Invalidate({keys[2]})}));
  EXPECT_TRUE(c.Quiet(200ms)) << "a key is invalidated once, then no longer tracked";

  // Its own write, pipelined between two reads of the key.
  const std::string& k = keys[0];
  RS_ASSERT_OK(c.SendRaw("*2\r\n$3\r\nGET\r\n" + Bulk(k) + "*3\r\n$3\r\nSET\r\n" + Bulk(k) +
                         "$1\r\n3\r\n*2\r\n$3\r\nGET\r\n" + Bulk(k)));
  EXPECT_EQ(ReadOr(c), "$1\r\n2\r\n");
  EXPECT_EQ(ReadOr(c), "+OK\r\n");
  EXPECT_EQ(ReadOr(c), Invalidate({k}));
  EXPECT_EQ(ReadOr(c), "$1\r\n3\r\n");
  EXPECT_TRUE(c.Quiet(200ms));
}

// A transaction and a blocking command run on the tracking session of their master, so their
// invalidations follow their replies, as on one node.
TEST_F(ProxyTrackingTest, TransactionsAndBlockedCommandsKeepTheInvalidationAfterTheReply) {
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, Resp3());
  RS_ASSERT_OK(c.Call({"CLIENT", "TRACKING", "on"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string mset, c.Call({"MSET", "a{t}", "1", "b{t}", "2"}));
  EXPECT_EQ(mset, "+OK\r\n");
  RS_ASSERT_OK(c.Call({"GET", "a{t}"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string multi, c.Call({"MULTI"}));
  EXPECT_EQ(multi, "+OK\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string q1, c.Call({"INCR", "a{t}"}));
  EXPECT_EQ(q1, "+QUEUED\r\n");
  RS_ASSERT_OK(c.Call({"GET", "b{t}"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string exec, c.Call({"EXEC"}));
  EXPECT_EQ(exec, "*2\r\n:2\r\n$1\r\n2\r\n");
  EXPECT_EQ(ReadOr(c), Invalidate({"a{t}"}));

  RS_ASSERT_OK(c.Call({"RPUSH", "list2{t}", "a"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string range, c.Call({"LRANGE", "list2{t}", "0", "-1"}));
  EXPECT_EQ(range, "*1\r\n$1\r\na\r\n");
  RS_ASSERT_OK(c.Send({"BLMOVE", "list1{t}", "list2{t}", "LEFT", "LEFT", "0"}));
  EXPECT_TRUE(c.Quiet(200ms));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient other, h_.Connect());
  RS_ASSERT_OK(other.Command("RPUSH", "list1{t}", "foo"));
  EXPECT_EQ(ReadOr(c), "$3\r\nfoo\r\n");
  EXPECT_EQ(ReadOr(c), Invalidate({"list2{t}"}));
}

// REDIRECT: a RESP2 target in pub/sub mode gets __redis__:invalidate messages, a RESP3 target
// pushes, a RESP2 target not in pub/sub mode nothing (as from Redis); the tracking client itself
// gets none. Switching targets needs nothing of the nodes.
TEST_F(ProxyTrackingTest, RedirectGoesToAResp2SubscriberAndToAResp3Client) {
  std::vector<std::string> keys = h_.KeyPerMaster("rd:");
  ASSERT_EQ(keys.size(), 3u);
  RS_ASSERT_OK_AND_ASSIGN(RedisClient other, h_.Connect());
  for (const std::string& k : keys) RS_ASSERT_OK(other.Command("SET", k, "1"));
  RS_ASSERT_OK_AND_ASSIGN(RespConn sub2, RespConn::Connect(h_.port()));
  const std::string id2 = Id(sub2);
  RS_ASSERT_OK_AND_ASSIGN(std::string confirm, sub2.Call({"SUBSCRIBE", "__redis__:invalidate"}));
  EXPECT_EQ(confirm, "*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n");

  RS_ASSERT_OK_AND_ASSIGN(RespConn tracker, RespConn::Connect(h_.port()));
  RS_ASSERT_OK_AND_ASSIGN(std::string on,
                          tracker.Call({"CLIENT", "TRACKING", "on", "REDIRECT", id2}));
  EXPECT_EQ(on, "+OK\r\n");
  for (const std::string& k : keys) {
    RS_ASSERT_OK_AND_ASSIGN(std::string v, tracker.Call({"GET", k}));
    EXPECT_EQ(v, "$1\r\n1\r\n");
  }
  RS_ASSERT_OK(other.Command("SET", keys[0], "2"));
  EXPECT_EQ(ReadOr(sub2),
            "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n" + Bulk(keys[0]));
  EXPECT_TRUE(tracker.Quiet(200ms));

  RS_ASSERT_OK_AND_ASSIGN(RespConn resp3, Resp3());
  const std::string id3 = Id(resp3);
  RS_ASSERT_OK_AND_ASSIGN(on, tracker.Call({"CLIENT", "TRACKING", "on", "REDIRECT", id3}));
  EXPECT_EQ(on, "+OK\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string redir, tracker.Call({"CLIENT", "GETREDIR"}));
  EXPECT_EQ(redir, ":" + id3 + "\r\n");
  RS_ASSERT_OK(other.Command("SET", keys[1], "2"));  // read before the switch, on another master
  EXPECT_EQ(ReadOr(resp3), Invalidate({keys[1]}));
  EXPECT_TRUE(sub2.Quiet(200ms));

  RS_ASSERT_OK_AND_ASSIGN(RespConn plain2, RespConn::Connect(h_.port()));
  RS_ASSERT_OK_AND_ASSIGN(on, tracker.Call({"CLIENT", "TRACKING", "on", "REDIRECT", Id(plain2)}));
  EXPECT_EQ(on, "+OK\r\n");
  RS_ASSERT_OK(other.Command("SET", keys[2], "2"));
  EXPECT_TRUE(plain2.Quiet(300ms));
  EXPECT_TRUE(resp3.Quiet(10ms));
  RS_ASSERT_OK_AND_ASSIGN(std::string info, tracker.Call({"CLIENT", "TRACKINGINFO"}));
  EXPECT_EQ(info, "*6\r\n$5\r\nflags\r\n*1\r\n$2\r\non\r\n$8\r\nredirect\r\n:" + Id(plain2) +
                      "\r\n$8\r\nprefixes\r\n*0\r\n");

  RS_ASSERT_OK_AND_ASSIGN(std::string missing,
                          tracker.Call({"CLIENT", "TRACKING", "on", "REDIRECT", "987654"}));
  EXPECT_EQ(missing, "-ERR The client ID you want redirect to does not exist\r\n");
}

// BCAST: every write of a key with one of the prefixes, on any master, whether read or not.
TEST_F(ProxyTrackingTest, BcastWithPrefixesHearsOfWritesOnEveryMaster) {
  std::vector<std::string> users = h_.KeyPerMaster("user:");
  std::vector<std::string> others = h_.KeyPerMaster("other:");
  ASSERT_EQ(users.size(), 3u);
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, Resp3());
  RS_ASSERT_OK_AND_ASSIGN(std::string on, c.Call({"CLIENT", "TRACKING", "on", "BCAST", "PREFIX",
                                                  "user:", "PREFIX", "cfg:"}));
  EXPECT_EQ(on, "+OK\r\n");
  RS_ASSERT_OK_AND_ASSIGN(RedisClient other, h_.Connect());
  for (const std::string& k : users) {
    RS_ASSERT_OK(other.Command("SET", k, "1"));
    EXPECT_EQ(ReadOr(c), Invalidate({k}));
  }
  for (const std::string& k : others) RS_ASSERT_OK(other.Command("SET", k, "1"));
  EXPECT_TRUE(c.Quiet(300ms));
  RS_ASSERT_OK(other.Command("SET", "cfg:x", "1"));
  EXPECT_EQ(ReadOr(c), Invalidate({"cfg:x"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string info, c.Call({"CLIENT", "TRACKINGINFO"}));
  EXPECT_EQ(info,
            "%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$5\r\nbcast\r\n$8\r\nredirect\r\n:0\r\n"
            "$8\r\nprefixes\r\n*2\r\n$4\r\ncfg:\r\n$5\r\nuser:\r\n");
  // Prefixes add up; overlapping ones are refused as Redis refuses them.
  RS_ASSERT_OK_AND_ASSIGN(on, c.Call({"CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "other:"}));
  EXPECT_EQ(on, "+OK\r\n");
  RS_ASSERT_OK(other.Command("SET", others[1], "2"));
  EXPECT_EQ(ReadOr(c), Invalidate({others[1]}));
  RS_ASSERT_OK_AND_ASSIGN(std::string overlap,
                          c.Call({"CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "us"}));
  EXPECT_EQ(overlap,
            "-ERR Prefix 'us' overlaps with an existing prefix 'user:'. Prefixes for a single "
            "client must not overlap.\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string nobcast, c.Call({"CLIENT", "TRACKING", "on"}));
  EXPECT_EQ(nobcast,
            "-ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
            "and then re-enabling it with a different mode.\r\n");
}

// OPTIN: only the command right after CLIENT CACHING yes (or the transaction after it) is
// tracked, on whichever master it goes to; OPTOUT: all but the one after CLIENT CACHING no.
TEST_F(ProxyTrackingTest, OptinAndOptoutApplyClientCachingToTheNextCommandOnly) {
  std::vector<std::string> k = h_.KeyPerMaster("opt:");
  ASSERT_EQ(k.size(), 3u);
  RS_ASSERT_OK_AND_ASSIGN(RedisClient other, h_.Connect());
  for (const std::string& key : k) RS_ASSERT_OK(other.Command("SET", key, "1"));
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, Resp3());
  RS_ASSERT_OK_AND_ASSIGN(std::string caching, c.Call({"CLIENT", "CACHING", "yes"}));
  EXPECT_EQ(caching,
            "-ERR CLIENT CACHING can be called only when the client is in tracking mode with "
            "OPTIN or OPTOUT mode enabled\r\n");
  RS_ASSERT_OK(c.Call({"CLIENT", "TRACKING", "on", "OPTIN"}));
  RS_ASSERT_OK(c.Call({"GET", k[0]}));  // not opted in
  RS_ASSERT_OK_AND_ASSIGN(caching, c.Call({"CLIENT", "CACHING", "yes"}));
  EXPECT_EQ(caching, "+OK\r\n");
  RS_ASSERT_OK(c.Call({"GET", k[1]}));  // the next command: tracked
  RS_ASSERT_OK(c.Call({"GET", k[2]}));  // the one after: not
  for (const std::string& key : k) RS_ASSERT_OK(other.Command("SET", key, "2"));
  EXPECT_EQ(ReadOr(c), Invalidate({k[1]}));
  EXPECT_TRUE(c.Quiet(300ms));

  // CLIENT commands in between keep it; a transaction is the next command as a whole.
  RS_ASSERT_OK(c.Call({"CLIENT", "CACHING", "yes"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string info, c.Call({"CLIENT", "TRACKINGINFO"}));
  EXPECT_EQ(info,
            "%3\r\n$5\r\nflags\r\n~3\r\n$2\r\non\r\n$5\r\noptin\r\n$11\r\ncaching-yes\r\n"
            "$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n");
  RS_ASSERT_OK(c.Call({"MULTI"}));
  RS_ASSERT_OK(c.Call({"GET", k[0]}));
  RS_ASSERT_OK(c.Call({"GET", k[0]}));
  RS_ASSERT_OK_AND_ASSIGN(std::string exec, c.Call({"EXEC"}));
  EXPECT_EQ(exec, "*2\r\n$1\r\n2\r\n$1\r\n2\r\n");
  RS_ASSERT_OK(c.Call({"GET", k[2]}));  // after the transaction: not tracked
  RS_ASSERT_OK(other.Command("SET", k[2], "3"));
  RS_ASSERT_OK(other.Command("SET", k[0], "3"));
  EXPECT_EQ(ReadOr(c), Invalidate({k[0]}));
  EXPECT_TRUE(c.Quiet(300ms));

  RS_ASSERT_OK(c.Call({"CLIENT", "TRACKING", "off"}));
  RS_ASSERT_OK(c.Call({"CLIENT", "TRACKING", "on", "OPTOUT"}));
  RS_ASSERT_OK(c.Call({"GET", k[0]}));
  RS_ASSERT_OK_AND_ASSIGN(caching, c.Call({"CLIENT", "CACHING", "no"}));
  EXPECT_EQ(caching, "+OK\r\n");
  RS_ASSERT_OK(c.Call({"GET", k[1]}));  // not tracked
  RS_ASSERT_OK(c.Call({"GET", k[2]}));  // tracked again
  RS_ASSERT_OK(other.Command("SET", k[1], "4"));
  RS_ASSERT_OK(other.Command("SET", k[0], "4"));
  EXPECT_EQ(ReadOr(c), Invalidate({k[0]}));
  RS_ASSERT_OK(other.Command("SET", k[2], "4"));
  EXPECT_EQ(ReadOr(c), Invalidate({k[2]}));
  EXPECT_TRUE(c.Quiet(300ms));
  RS_ASSERT_OK_AND_ASSIGN(caching, c.Call({"CLIENT", "CACHING", "yes"}));
  EXPECT_EQ(caching,
            "-ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.\r\n");
}

// NOLOOP: the client's own writes (over its tracking session) are not reported to it.
TEST_F(ProxyTrackingTest, NoloopLeavesOutTheClientsOwnWrites) {
  std::vector<std::string> k = h_.KeyPerMaster("nl:");
  ASSERT_EQ(k.size(), 3u);
  RS_ASSERT_OK_AND_ASSIGN(RedisClient other, h_.Connect());
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, Resp3());
  RS_ASSERT_OK(c.Call({"CLIENT", "TRACKING", "on", "NOLOOP"}));
  RS_ASSERT_OK(c.Call({"GET", k[0]}));
  RS_ASSERT_OK(c.Call({"GET", k[1]}));
  RS_ASSERT_OK_AND_ASSIGN(std::string set, c.Call({"SET", k[0], "mine"}));
  EXPECT_EQ(set, "+OK\r\n");
  EXPECT_TRUE(c.Quiet(300ms));
  RS_ASSERT_OK(other.Command("SET", k[1], "theirs"));
  EXPECT_EQ(ReadOr(c), Invalidate({k[1]}));

  RS_ASSERT_OK(c.Call({"CLIENT", "TRACKING", "off"}));
  RS_ASSERT_OK(c.Call({"CLIENT", "TRACKING", "on", "BCAST", "NOLOOP"}));
  RS_ASSERT_OK(c.Call({"SET", k[2], "mine"}));
  EXPECT_TRUE(c.Quiet(300ms));
  RS_ASSERT_OK(other.Command("SET", k[2], "theirs"));
  EXPECT_EQ(ReadOr(c), Invalidate({k[2]}));
}

// FLUSHALL reaches every master; each one the client has a tracking session on tells it to
// forget every key (a RESP2 redirect target in pub/sub mode: a nil).
TEST_F(ProxyTrackingTest, FlushallInvalidatesEveryKeyOncePerMasterTracking) {
  std::vector<std::string> k = h_.KeyPerMaster("fl:");
  ASSERT_EQ(k.size(), 3u);
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, Resp3());
  RS_ASSERT_OK(c.Call({"CLIENT", "TRACKING", "on"}));
  RS_ASSERT_OK(c.Call({"GET", k[0]}));
  RS_ASSERT_OK(c.Call({"GET", k[1]}));
  RS_ASSERT_OK_AND_ASSIGN(RespConn sub2, RespConn::Connect(h_.port()));
  const std::string id = Id(sub2);
  RS_ASSERT_OK(sub2.Call({"SUBSCRIBE", "__redis__:invalidate"}));
  RS_ASSERT_OK_AND_ASSIGN(RespConn tracker2, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(tracker2.Call({"CLIENT", "TRACKING", "on", "REDIRECT", id}));
  RS_ASSERT_OK(tracker2.Call({"GET", k[2]}));

  RS_ASSERT_OK_AND_ASSIGN(RedisClient other, h_.Connect());
  RS_ASSERT_OK_AND_ASSIGN(Reply flush, other.Command("FLUSHALL"));
  EXPECT_EQ(flush.str, "OK");
  EXPECT_EQ(ReadOr(c), kInvalidateAll);
  EXPECT_EQ(ReadOr(c), kInvalidateAll);
  EXPECT_TRUE(c.Quiet(300ms));
  EXPECT_EQ(ReadOr(sub2), "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n");
  EXPECT_TRUE(sub2.Quiet(300ms));
}

// The redirect target goes away: at the next invalidation a RESP3 tracking client is told
// (tracking-redir-broken with the target's id), a RESP2 one is not; both show it in
// TRACKINGINFO. A target that is gone cannot be named again.
TEST_F(ProxyTrackingTest, GoneRedirectTargetGivesTrackingRedirBroken) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient other, h_.Connect());
  RS_ASSERT_OK(other.Command("SET", "rb", "1"));
  RS_ASSERT_OK_AND_ASSIGN(RespConn target, RespConn::Connect(h_.port()));
  const std::string id = Id(target);
  RS_ASSERT_OK_AND_ASSIGN(RespConn t3, Resp3());
  RS_ASSERT_OK(t3.Call({"CLIENT", "TRACKING", "on", "REDIRECT", id}));
  RS_ASSERT_OK(t3.Call({"GET", "rb"}));
  RS_ASSERT_OK_AND_ASSIGN(RespConn t2, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(t2.Call({"CLIENT", "TRACKING", "on", "REDIRECT", id}));
  RS_ASSERT_OK(t2.Call({"GET", "rb"}));
  RS_ASSERT_OK_AND_ASSIGN(std::string quit, target.Call({"QUIT"}));
  EXPECT_EQ(quit, "+OK\r\n");
  std::this_thread::sleep_for(100ms);
  RS_ASSERT_OK(other.Command("SET", "rb", "2"));
  EXPECT_EQ(ReadOr(t3), ">2\r\n$21\r\ntracking-redir-broken\r\n:" + id + "\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string info, t3.Call({"CLIENT", "TRACKINGINFO"}));
  EXPECT_EQ(info,
            "%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$15\r\nbroken_redirect\r\n"
            "$8\r\nredirect\r\n:" +
                id + "\r\n$8\r\nprefixes\r\n*0\r\n");
  EXPECT_TRUE(t2.Quiet(300ms));
  RS_ASSERT_OK_AND_ASSIGN(info, t2.Call({"CLIENT", "TRACKINGINFO"}));
  EXPECT_EQ(info,
            "*6\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$15\r\nbroken_redirect\r\n"
            "$8\r\nredirect\r\n:" +
                id + "\r\n$8\r\nprefixes\r\n*0\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string again, t2.Call({"CLIENT", "TRACKING", "on", "REDIRECT", id}));
  EXPECT_EQ(again, "-ERR The client ID you want redirect to does not exist\r\n");
}

// CLIENT TRACKING off: the tracking sessions are turned off on their nodes and given back, and
// the client's requests go over the shared connections again; RESET does the same.
TEST_F(ProxyTrackingTest, TrackingOffReturnsTheClientToTheSharedConnections) {
  std::vector<std::string> k = h_.KeyPerMaster("off:");
  ASSERT_EQ(k.size(), 3u);
  const int64_t baseline = NodeInfoSum("tracking_clients");
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, Resp3());
  RS_ASSERT_OK(c.Call({"CLIENT", "TRACKING", "on"}));
  EXPECT_EQ(ProxyInfo("sessions_in_use"), 0) << "sessions are taken when a request needs one";
  RS_ASSERT_OK(c.Call({"GET", k[0]}));
  RS_ASSERT_OK(c.Call({"GET", k[1]}));
  EXPECT_EQ(ProxyInfo("sessions_in_use"), 2);
  EXPECT_EQ(NodeInfoSum("tracking_clients"), baseline + 2);
  EXPECT_EQ(ProxyInfo("tracking_clients"), 1) << "a client, not its sessions";
  RS_ASSERT_OK_AND_ASSIGN(std::string off, c.Call({"CLIENT", "TRACKING", "off"}));
  EXPECT_EQ(off, "+OK\r\n");
  EXPECT_EQ(ProxyInfo("tracking_clients"), 0);
  EXPECT_EQ(Eventually([&] { return ProxyInfo("sessions_in_use"); }, 0), 0);
  EXPECT_EQ(Eventually([&] { return NodeInfoSum("tracking_clients"); }, baseline), baseline);
  RS_ASSERT_OK(c.Call({"GET", k[0]}));
  RS_ASSERT_OK(c.Call({"GET", k[2]}));
  EXPECT_EQ(ProxyInfo("sessions_in_use"), 0);
  RS_ASSERT_OK_AND_ASSIGN(RedisClient other, h_.Connect());
  RS_ASSERT_OK(other.Command("SET", k[0], "x"));
  EXPECT_TRUE(c.Quiet(300ms));
  RS_ASSERT_OK_AND_ASSIGN(std::string getredir, c.Call({"CLIENT", "GETREDIR"}));
  EXPECT_EQ(getredir, ":-1\r\n");

  RS_ASSERT_OK(c.Call({"CLIENT", "TRACKING", "on", "BCAST"}));
  EXPECT_EQ(Eventually([&] { return ProxyInfo("sessions_in_use"); }, 3), 3);
  RS_ASSERT_OK_AND_ASSIGN(std::string reset, c.Call({"RESET"}));
  EXPECT_EQ(reset, "+RESET\r\n");
  EXPECT_EQ(Eventually([&] { return ProxyInfo("sessions_in_use"); }, 0), 0);
  EXPECT_EQ(Eventually([&] { return NodeInfoSum("tracking_clients"); }, baseline), baseline);
  RS_ASSERT_OK_AND_ASSIGN(std::string info, c.Call({"CLIENT", "TRACKINGINFO"}));
  EXPECT_EQ(info,
            "*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n"
            "$8\r\nprefixes\r\n*0\r\n");
}

// A tracking client that disconnects closes its tracking sessions and its sinks.
TEST_F(ProxyTrackingTest, DisconnectingClosesTheTrackingSessionsAndSinks) {
  const int64_t baseline = NodeInfoSum("tracking_clients");
  RS_ASSERT_OK_AND_ASSIGN(RespConn target, RespConn::Connect(h_.port()));
  const std::string id = Id(target);
  RS_ASSERT_OK(target.Call({"SUBSCRIBE", "__redis__:invalidate"}));
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, Resp3());
  RS_ASSERT_OK_AND_ASSIGN(std::string on,
                          c.Call({"CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", id}));
  EXPECT_EQ(on, "+OK\r\n");
  EXPECT_EQ(ProxyInfo("sessions_in_use"), 3);
  EXPECT_EQ(NodeSinks(), 3);
  EXPECT_EQ(NodeInfoSum("tracking_clients"), baseline + 3);
  RS_ASSERT_OK_AND_ASSIGN(RedisClient other, h_.Connect());
  RS_ASSERT_OK(other.Command("SET", "dc", "1"));
  EXPECT_EQ(ReadOr(target),
            "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$2\r\ndc\r\n");
  c.Close();
  EXPECT_EQ(Eventually([&] { return ProxyInfo("sessions_in_use"); }, 0), 0);
  EXPECT_EQ(Eventually([&] { return NodeSinks(); }, 0), 0);
  EXPECT_EQ(Eventually([&] { return NodeInfoSum("tracking_clients"); }, baseline), baseline);
  RS_ASSERT_OK(other.Command("SET", "dc", "2"));
  EXPECT_TRUE(target.Quiet(300ms));
}

}  // namespace
}  // namespace rs::test
