// Pub/sub through the proxy, against a real 3-master + 3-replica cluster: replies byte for byte
// as one Redis node sends them, messages published through the proxy and on any master, 100
// subscribers over one node connection, patterns, keyspace notifications from every master, shard
// channels following their slot, a home node that dies, python3-redis, PUBSUB counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <thread>

#include "common/address.h"
#include "common/slot.h"
#include "proxy_fixture.h"
#include "support/resp_conn.h"
#include "support/test_status.h"

namespace rs::test {
namespace {

using namespace std::chrono_literals;

// RESP bytes of a flat reply: "b:" bulk, "i:" integer, "n:" null.
std::string Flat(bool resp3, char aggregate, const std::vector<std::string>& elems) {
  std::string out;
  out += resp3 && aggregate == '*' ? '>' : aggregate;
  out += std::to_string(elems.size()) + "\r\n";
  for (const std::string& e : elems) {
    std::string v = e.substr(2);
    if (e[0] == 'b') out += "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
    if (e[0] == 'i') out += ":" + v + "\r\n";
    if (e[0] == 'n') out += resp3 ? "_\r\n" : "$-1\r\n";
  }
  return out;
}
std::string Push(bool resp3, const std::vector<std::string>& elems) {
  return Flat(resp3, '*', elems);
}

class ProxyPubSubTest : public ::testing::Test {
 protected:
  void SetUp() override { RS_ASSERT_OK(h_.Start(3, 2000, Config())); }
  virtual proxy::ProxyConfig Config() { return {}; }

  static Result<RespConn> ConnectTo(const std::string& address) {
    RS_ASSIGN_OR_RETURN(Address a, Address::Parse(address));
    return RespConn::Connect(a.port, a.host);
  }
  // The sum of PUBSUB NUMSUB `channel` over the masters, asked directly.
  int64_t NodeNumsub(const std::string& channel) {
    int64_t n = 0;
    for (const std::string& m : h_.Masters()) {
      auto c = h_.ConnectNode(m);
      if (!c.ok()) continue;
      auto r = c->Command("PUBSUB", "NUMSUB", channel);
      if (r.ok() && r->elements.size() == 2) n += r->elements[1].integer;
    }
    return n;
  }
  // Reads replies until `n` arrived or `timeout` passed.
  static std::vector<std::string> ReadN(RespConn& c, size_t n, std::chrono::milliseconds timeout) {
    std::vector<std::string> out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto r = c.Read(100ms);
      if (r.ok()) out.push_back(*r);
    }
    return out;
  }

  ProxyHarness h_;
};

std::string ReadOr(RespConn& c) {
  auto r = c.Read();
  return r.ok() ? *r : "<timeout>";
}

// The same conversation with a master and with the proxy; every byte must be equal.
std::string Conversation(RespConn& sub, RespConn& pub, bool resp3) {
  std::string out;
  auto call = [&](const std::vector<std::string>& args, int replies) {
    if (!sub.Send(args).ok()) return;
    for (int i = 0; i < replies; ++i) out += ReadOr(sub) + "|";
  };
  auto publish = [&](const std::vector<std::string>& args) {
    (void)pub.Call(args);
    out += ReadOr(sub) + "|";
  };
  if (resp3) (void)sub.Call({"HELLO", "3"});  // the proxy's HELLO reply says it is a proxy
  call({"SUBSCRIBE", "{ps}a", "{ps}b", "{ps}a"}, 3);
  call({"PSUBSCRIBE", "{ps}p.*"}, 1);
  publish({"PUBLISH", "{ps}a", "hello"});
  publish({"PUBLISH", "{ps}p.x", "hi\r\nthere"});
  call({"PING"}, 1);
  call({"PING", "foo"}, 1);
  call({"GET", "{ps}k"}, 1);  // RESP2: refused in subscribed mode; RESP3: a null
  call({"UNSUBSCRIBE", "{ps}b", "{ps}nope"}, 2);
  call({"UNSUBSCRIBE"}, 1);
  call({"PUNSUBSCRIBE"}, 1);
  call({"UNSUBSCRIBE"}, 1);
  call({"PUNSUBSCRIBE", "{ps}q*"}, 1);
  call({"PING"}, 1);
  call({"SSUBSCRIBE", "{ps}s", "{ps}s"}, 2);
  publish({"SPUBLISH", "{ps}s", "shard"});
  call({"SUNSUBSCRIBE"}, 1);
  call({"SUNSUBSCRIBE"}, 1);
  call({"SUBSCRIBE"}, 1);
  return out;
}

TEST_F(ProxyPubSubTest, RepliesAndMessagesAreByteExactAgainstRedis) {
  const std::string owner = *h_.OwnerOf(KeySlot("{ps}"));
  for (bool resp3 : {false, true}) {
    RS_ASSERT_OK_AND_ASSIGN(RespConn dsub, ConnectTo(owner));
    RS_ASSERT_OK_AND_ASSIGN(RespConn dpub, ConnectTo(owner));
    const std::string direct = Conversation(dsub, dpub, resp3);
    RS_ASSERT_OK_AND_ASSIGN(RespConn psub, RespConn::Connect(h_.port()));
    RS_ASSERT_OK_AND_ASSIGN(RespConn ppub, RespConn::Connect(h_.port()));
    const std::string proxied = Conversation(psub, ppub, resp3);
    EXPECT_EQ(proxied, direct) << (resp3 ? "RESP3" : "RESP2");
    // A sanity check on the transcript itself, so equal garbage cannot pass.
    EXPECT_NE(direct.find(Push(resp3, {"b:message", "b:{ps}a", "b:hello"})), std::string::npos);
    EXPECT_NE(direct.find(Push(resp3, {"b:unsubscribe", "n:", "i:0"})), std::string::npos);
    EXPECT_EQ(direct.find("<timeout>"), std::string::npos) << direct;
  }
}

TEST_F(ProxyPubSubTest, HundredSubscribersShareOneNodeConnectionAndGetEveryMessage) {
  constexpr int kSubscribers = 100;
  std::vector<RespConn> subs;
  for (int i = 0; i < kSubscribers; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(RespConn c, RespConn::Connect(h_.port()));
    RS_ASSERT_OK(c.Send({"SUBSCRIBE", "news"}));
    subs.push_back(std::move(c));
  }
  for (RespConn& c : subs) {
    RS_ASSERT_OK_AND_ASSIGN(std::string r, c.Read());
    ASSERT_EQ(r, Push(false, {"b:subscribe", "b:news", "i:1"}));
  }
  // One worker: the nodes see one subscriber, the proxy's connection.
  EXPECT_EQ(NodeNumsub("news"), 1);
  // Published right after the confirmations: through the proxy and on every master directly.
  RS_ASSERT_OK_AND_ASSIGN(RespConn pub, RespConn::Connect(h_.port()));
  std::vector<std::string> expected;
  for (int i = 0; i < 10; ++i) {
    RS_ASSERT_OK(pub.Call({"PUBLISH", "news", "p" + std::to_string(i)}));
    expected.push_back("p" + std::to_string(i));
  }
  for (const std::string& m : h_.Masters()) {
    RS_ASSERT_OK_AND_ASSIGN(RedisClient direct, h_.ConnectNode(m));
    for (int i = 0; i < 5; ++i) {
      RS_ASSERT_OK(direct.Command("PUBLISH", "news", m + "/" + std::to_string(i)));
      expected.push_back(m + "/" + std::to_string(i));
    }
  }
  std::sort(expected.begin(), expected.end());
  for (int i = 0; i < kSubscribers; ++i) {
    std::vector<std::string> got;
    for (const std::string& r : ReadN(subs[i], expected.size(), 5s)) {
      auto e = Elements(r);
      ASSERT_EQ(e.size(), 3u) << r;
      EXPECT_EQ(e[0], "message");
      got.push_back(e[2]);
    }
    std::sort(got.begin(), got.end());
    ASSERT_EQ(got, expected) << "subscriber " << i;
  }
  EXPECT_TRUE(subs[0].Quiet(300ms)) << "a message arrived twice";
}

TEST_F(ProxyPubSubTest, PatternsMatchOncePerPublish) {
  RS_ASSERT_OK_AND_ASSIGN(RespConn sub, RespConn::Connect(h_.port()));
  RS_ASSERT_OK_AND_ASSIGN(std::string r, sub.Call({"PSUBSCRIBE", "news.*"}));
  EXPECT_EQ(r, Push(false, {"b:psubscribe", "b:news.*", "i:1"}));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient pub, h_.Connect());
  RS_ASSERT_OK(pub.Command("PUBLISH", "news.a", "1"));
  RS_ASSERT_OK(pub.Command("PUBLISH", "other.b", "2"));
  for (const std::string& m : h_.Masters()) {
    RS_ASSERT_OK_AND_ASSIGN(RedisClient direct, h_.ConnectNode(m));
    RS_ASSERT_OK(direct.Command("PUBLISH", "news.b", m));
  }
  // Messages through different nodes may arrive in any order.
  std::vector<std::string> got = ReadN(sub, 4, 5s);
  ASSERT_EQ(got.size(), 4u);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got[0], Push(false, {"b:pmessage", "b:news.*", "b:news.a", "b:1"}));
  for (size_t i = 1; i < got.size(); ++i) EXPECT_EQ(Elements(got[i])[2], "news.b") << got[i];
  EXPECT_TRUE(sub.Quiet(300ms));
}

TEST_F(ProxyPubSubTest, UnsubscribeAllAndDisconnectReleaseTheNodeSubscription) {
  RS_ASSERT_OK_AND_ASSIGN(RespConn a, RespConn::Connect(h_.port()));
  RS_ASSERT_OK_AND_ASSIGN(RespConn b, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(a.Send({"SUBSCRIBE", "x", "y", "z"}));
  ASSERT_EQ(ReadN(a, 3, 5s).size(), 3u);
  RS_ASSERT_OK(b.Call({"SUBSCRIBE", "x"}));
  RS_ASSERT_OK(a.Send({"UNSUBSCRIBE"}));
  std::vector<std::string> un = ReadN(a, 3, 5s);
  ASSERT_EQ(un.size(), 3u);
  std::vector<std::string> names;
  for (size_t i = 0; i < un.size(); ++i) {
    auto e = Elements(un[i]);
    ASSERT_EQ(e.size(), 3u);
    EXPECT_EQ(e[0], "unsubscribe");
    EXPECT_EQ(e[2], std::to_string(2 - i));
    names.push_back(e[1]);
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"x", "y", "z"}));
  // Out of subscribed mode: commands work again, and no message comes.
  RS_ASSERT_OK_AND_ASSIGN(std::string pong, a.Call({"PING"}));
  EXPECT_EQ(pong, "+PONG\r\n");
  // y and z have no client left, x still has b; b then disconnects.
  auto wait_numsub = [&](const std::string& ch, int64_t want) {
    for (int i = 0; i < 50 && NodeNumsub(ch) != want; ++i) std::this_thread::sleep_for(20ms);
    return NodeNumsub(ch);
  };
  EXPECT_EQ(wait_numsub("y", 0), 0);
  EXPECT_EQ(wait_numsub("x", 1), 1);
  RS_ASSERT_OK_AND_ASSIGN(RedisClient pub, h_.Connect());
  RS_ASSERT_OK(pub.Command("PUBLISH", "x", "m"));
  EXPECT_EQ(Elements(*b.Read())[2], "m");
  EXPECT_TRUE(a.Quiet(200ms));
  b.Close();
  EXPECT_EQ(wait_numsub("x", 0), 0);
}

TEST_F(ProxyPubSubTest, PingResetAndOtherCommandsInSubscribedMode) {
  RS_ASSERT_OK_AND_ASSIGN(RespConn c, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(c.Call({"SUBSCRIBE", "ch"}));
  EXPECT_EQ(*c.Call({"PING"}), Push(false, {"b:pong", "b:"}));
  EXPECT_EQ(*c.Call({"SET", "k", "v"}),
            "-ERR Can't execute 'set': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
            "RESET are allowed in this context\r\n");
  EXPECT_EQ(*c.Call({"RESET"}), "+RESET\r\n");
  EXPECT_EQ(*c.Call({"GET", "k"}), "$-1\r\n");  // out of subscribed mode, SET never ran
  RS_ASSERT_OK_AND_ASSIGN(RedisClient pub, h_.Connect());
  RS_ASSERT_OK(pub.Command("PUBLISH", "ch", "after reset"));
  EXPECT_TRUE(c.Quiet(300ms));
  // RESP3: any command while subscribed, messages as pushes in between.
  RS_ASSERT_OK_AND_ASSIGN(RespConn r3, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(r3.Call({"HELLO", "3"}));
  EXPECT_EQ(*r3.Call({"SUBSCRIBE", "ch"}), Push(true, {"b:subscribe", "b:ch", "i:1"}));
  EXPECT_EQ(*r3.Call({"SET", "k", "v"}), "+OK\r\n");
  RS_ASSERT_OK(pub.Command("PUBLISH", "ch", "m1"));
  EXPECT_EQ(*r3.Read(), Push(true, {"b:message", "b:ch", "b:m1"}));
  EXPECT_EQ(*r3.Call({"GET", "k"}), "$1\r\nv\r\n");
  EXPECT_EQ(*r3.Call({"PING"}), "+PONG\r\n");
}

TEST_F(ProxyPubSubTest, KeyspaceNotificationsFromEveryMasterArriveExactlyOnce) {
  const std::vector<std::string> masters = h_.Masters();
  ASSERT_EQ(masters.size(), 3u);
  for (const std::string& m : masters) {
    RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.ConnectNode(m));
    RS_ASSERT_OK(c.Command("CONFIG", "SET", "notify-keyspace-events", "KEA"));
  }
  // A key on each master.
  std::map<std::string, std::string> key_of;  // master -> key
  for (int i = 0; key_of.size() < masters.size() && i < 1000; ++i) {
    std::string key = "ks" + std::to_string(i);
    key_of.emplace(*h_.OwnerOf(KeySlot(key)), key);
  }
  ASSERT_EQ(key_of.size(), 3u);
  RS_ASSERT_OK_AND_ASSIGN(RespConn events, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(events.Call({"PSUBSCRIBE", "__keyevent@0__:set"}));
  RS_ASSERT_OK_AND_ASSIGN(RespConn spaces, RespConn::Connect(h_.port()));
  for (const auto& [m, key] : key_of)
    RS_ASSERT_OK(spaces.Call({"SUBSCRIBE", "__keyspace@0__:" + key}));
  RS_ASSERT_OK_AND_ASSIGN(RespConn all, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(all.Call({"PSUBSCRIBE", "*"}));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  for (const auto& [m, key] : key_of) RS_ASSERT_OK(c.Command("SET", key, "v"));
  RS_ASSERT_OK(c.Command("PUBLISH", "plain", "once"));
  std::vector<std::string> got;
  for (const std::string& r : ReadN(events, 3, 5s)) got.push_back(Elements(r)[3]);
  std::sort(got.begin(), got.end());
  std::vector<std::string> keys;
  for (const auto& [m, key] : key_of) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(got, keys);
  got.clear();
  for (const std::string& r : ReadN(spaces, 3, 5s)) got.push_back(Elements(r)[1]);
  std::sort(got.begin(), got.end());
  for (std::string& k : keys) k = "__keyspace@0__:" + k;
  EXPECT_EQ(got, keys);
  // PSUBSCRIBE * is held on every master: 3 keyspace + 3 keyevent messages, and the PUBLISH
  // (which every master sees) once.
  std::vector<std::string> all_got = ReadN(all, 7, 5s);
  EXPECT_EQ(all_got.size(), 7u);
  EXPECT_EQ(std::count_if(all_got.begin(), all_got.end(),
                          [](const std::string& r) { return Elements(r)[2] == "plain"; }),
            1);
  EXPECT_TRUE(events.Quiet(300ms));
  EXPECT_TRUE(spaces.Quiet(10ms));
  EXPECT_TRUE(all.Quiet(10ms));
}

TEST_F(ProxyPubSubTest, ShardChannelKeepsReceivingAfterItsSlotMoves) {
  const std::string channel = "{shard}news";
  const int slot = KeySlot(channel);
  RS_ASSERT_OK_AND_ASSIGN(std::string from, h_.OwnerOf(slot));
  std::string to;
  for (const std::string& m : h_.Masters()) {
    if (m != from) to = m;
  }
  RS_ASSERT_OK_AND_ASSIGN(RespConn sub, RespConn::Connect(h_.port()));
  EXPECT_EQ(*sub.Call({"SSUBSCRIBE", channel}),
            Push(false, {"b:ssubscribe", "b:" + channel, "i:1"}));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient pub, h_.Connect());
  RS_ASSERT_OK_AND_ASSIGN(Reply n, pub.Command("SPUBLISH", channel, "before"));
  EXPECT_EQ(n.integer, 1);
  EXPECT_EQ(*sub.Read(), Push(false, {"b:smessage", "b:" + channel, "b:before"}));
  RS_ASSERT_OK(MigrateSlot(h_, slot, from, to));
  // The old owner unsubscribes its clients (an unasked "sunsubscribe"); the proxy subscribes at
  // the new owner, before its periodic refresh (10 s) would tell it the slot moved. Messages in
  // between may be lost: publish at the new owner until one arrives.
  RS_ASSERT_OK_AND_ASSIGN(RedisClient direct, h_.ConnectNode(to));
  bool received = false;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  for (int i = 0; !received && std::chrono::steady_clock::now() < deadline; ++i) {
    RS_ASSERT_OK(direct.Command("SPUBLISH", channel, "after" + std::to_string(i)));
    auto r = sub.Read(50ms);
    received = r.ok() && Elements(*r).size() == 3 && Elements(*r)[2].starts_with("after");
  }
  ASSERT_TRUE(received) << "no message after the slot moved to " << to;
  ReadN(sub, 100, 200ms);  // drain
  RS_ASSERT_OK_AND_ASSIGN(Reply at_owner, direct.Command("SPUBLISH", channel, "direct"));
  EXPECT_EQ(at_owner.integer, 1);  // the proxy's connection, at the new owner
  EXPECT_EQ(*sub.Read(), Push(false, {"b:smessage", "b:" + channel, "b:direct"}));
  // Through the proxy (MOVED takes the SPUBLISH there).
  RS_ASSERT_OK(pub.Command("SPUBLISH", channel, "proxied"));
  EXPECT_EQ(*sub.Read(), Push(false, {"b:smessage", "b:" + channel, "b:proxied"}));
  // The client noticed nothing: no sunsubscribe reached it.
  EXPECT_TRUE(sub.Quiet(200ms));
}

// The master holding the proxy's subscriber connection for `channel`.
std::string HomeOf(ProxyHarness& h, const std::vector<std::string>& masters,
                   const std::string& channel) {
  for (const std::string& m : masters) {
    auto c = h.ConnectNode(m);
    if (!c.ok()) continue;
    auto r = c->Command("PUBSUB", "NUMSUB", channel);
    if (r.ok() && r->elements.size() == 2 && r->elements[1].integer > 0) return m;
  }
  return "";
}

// Publishes through the proxy until `sub` receives one of them, then checks that the next 10
// arrive exactly once.
void ExpectDeliveryResumes(RespConn& sub, RedisClient& pub, const std::string& channel,
                           std::chrono::seconds within) {
  bool resumed = false;
  auto deadline = std::chrono::steady_clock::now() + within;
  for (int i = 0; !resumed && std::chrono::steady_clock::now() < deadline; ++i) {
    (void)pub.Command("PUBLISH", channel, "probe" + std::to_string(i));  // a dead master fails it
    auto r = sub.Read(100ms);
    resumed = r.ok() && Elements(*r).size() == 3;
  }
  ASSERT_TRUE(resumed) << "no message within " << within.count() << " s";
  while (sub.Read(300ms).ok()) {
  }
  std::vector<std::string> sent;
  for (int i = 0; i < 10; ++i) {
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto r = pub.Command("PUBLISH", channel, "after" + std::to_string(i));
      if (r.ok() && !r->is_error()) break;
      std::this_thread::sleep_for(100ms);
    }
    sent.push_back("after" + std::to_string(i));
  }
  std::vector<std::string> got;
  for (const std::string& r : [&] {
         std::vector<std::string> out;
         while (out.size() < sent.size()) {
           auto m = sub.Read(3s);
           if (!m.ok()) break;
           out.push_back(*m);
         }
         return out;
       }()) {
    got.push_back(Elements(r)[2]);
  }
  EXPECT_EQ(got, sent);
  EXPECT_TRUE(sub.Quiet(300ms));
}

TEST_F(ProxyPubSubTest, SubscriberWhoseHomeNodeIsKilledKeepsReceiving) {
  RS_ASSERT_OK(h_.WaitForReplicasInSync(20s));
  RS_ASSERT_OK_AND_ASSIGN(RespConn sub, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(sub.Call({"SUBSCRIBE", "alive"}));
  const std::vector<std::string> masters = h_.Masters();
  const std::string home = HomeOf(h_, masters, "alive");
  ASSERT_FALSE(home.empty());
  const int index = h_.cluster().IndexOf(home);
  ASSERT_GE(index, 0);
  // A slot of the home master, to see the failover complete.
  int home_slot = -1;
  for (int slot = 0; slot < kSlotCount && home_slot < 0; slot += 64) {
    if (*h_.OwnerOf(slot) == home) home_slot = slot;
  }
  ASSERT_GE(home_slot, 0);
  RS_ASSERT_OK(h_.cluster().node(index).Kill());
  RS_ASSERT_OK_AND_ASSIGN(RedisClient pub, h_.Connect());
  // At once, on another master (the cluster still lists the dead one).
  ExpectDeliveryResumes(sub, pub, "alive", 20s);
  // After the failover too (messages in the gap may be lost; none after it).
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto owner = h_.OwnerOf(home_slot);
    if (owner.ok() && *owner != home) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_NE(*h_.OwnerOf(home_slot), home) << "no failover";
  RS_ASSERT_OK(h_.cluster().WaitForClusterOk(30s));
  std::this_thread::sleep_for(500ms);  // the proxy's refresh
  ExpectDeliveryResumes(sub, pub, "alive", 10s);
  EXPECT_FALSE(HomeOf(h_, h_.Masters(), "alive").empty());
}

TEST_F(ProxyPubSubTest, HomeNodeThatStopsAnsweringIsNoticed) {
  RS_ASSERT_OK_AND_ASSIGN(RespConn sub, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(sub.Call({"SUBSCRIBE", "hung"}));
  const std::vector<std::string> masters = h_.Masters();
  // No failover: a new routing table would move the home anyway, without the proxy noticing.
  for (const std::string& a : h_.cluster().Addresses()) {
    if (std::find(masters.begin(), masters.end(), a) != masters.end()) continue;
    RS_ASSERT_OK_AND_ASSIGN(RedisClient replica, h_.ConnectNode(a));
    RS_ASSERT_OK(replica.Command("CONFIG", "SET", "cluster-replica-no-failover", "yes"));
  }
  // Publishes on a master other than `home` until `c` receives one.
  auto resumes = [&](RespConn& c, const std::string& channel, const std::string& home) {
    std::string other;
    for (const std::string& m : masters) {
      if (m != home) other = m;
    }
    auto pub = h_.ConnectNode(other);
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (pub.ok() && std::chrono::steady_clock::now() < deadline) {
      (void)pub->Command("PUBLISH", channel, "m");
      auto r = c.Read(200ms);
      if (r.ok() && Elements(*r).size() == 3 && Elements(*r)[0] == "message") return true;
    }
    return false;
  };
  // SIGSTOP: the connection stays open and silent. With nothing else due, only the proxy's PING
  // can tell.
  const std::string home = HomeOf(h_, masters, "hung");
  ASSERT_FALSE(home.empty());
  RS_ASSERT_OK(h_.cluster().node(h_.cluster().IndexOf(home)).Pause());
  const bool resumed = resumes(sub, "hung", home);
  RS_ASSERT_OK(h_.cluster().node(h_.cluster().IndexOf(home)).Resume());
  ASSERT_TRUE(resumed) << "the silent home " << home << " was not replaced";
  // The new home goes silent while a client subscribes: its confirmation waits for the node
  // (until the node is given up), so a PUBLISH after it is never missed.
  const std::string second = HomeOf(h_, masters, "hung");
  ASSERT_FALSE(second.empty());
  ASSERT_NE(second, home);
  RS_ASSERT_OK(h_.cluster().node(h_.cluster().IndexOf(second)).Pause());
  RS_ASSERT_OK_AND_ASSIGN(RespConn late, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(late.Send({"SUBSCRIBE", "late"}));
  EXPECT_TRUE(late.Quiet(500ms)) << "confirmed before the node did";
  auto confirmed = late.Read(10s);
  const bool late_resumed = resumes(late, "late", second);
  RS_ASSERT_OK(h_.cluster().node(h_.cluster().IndexOf(second)).Resume());
  ASSERT_TRUE(confirmed.ok());
  EXPECT_EQ(*confirmed, Push(false, {"b:subscribe", "b:late", "i:1"}));
  EXPECT_TRUE(late_resumed);
}

TEST_F(ProxyPubSubTest, PythonRedisPubSubWithListenAndGetMessage) {
  ExpectPythonScriptPasses(R"(import sys, threading, time, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]))
p = r.pubsub()
p.subscribe("py-news")
p.psubscribe("py-*")
confirms = [p.get_message(timeout=5), p.get_message(timeout=5)]
assert confirms[0]["type"] == "subscribe" and confirms[0]["data"] == 1, confirms
assert confirms[1]["type"] == "psubscribe" and confirms[1]["data"] == 2, confirms
r.publish("py-news", "hello")  # its count is the receivers on the node it reached
got = [p.get_message(timeout=5) for _ in range(2)]
kinds = sorted((m["type"], m["channel"], m["data"]) for m in got)
assert kinds == [("message", b"py-news", b"hello"), ("pmessage", b"py-news", b"hello")], kinds
assert [m for m in got if m["type"] == "pmessage"][0]["pattern"] == b"py-*"
def publish_later():
    time.sleep(0.2)
    for i in range(3):
        r.publish("py-other", "m%d" % i)
threading.Thread(target=publish_later).start()
seen = []
for m in p.listen():
    seen.append((m["type"], m["channel"], m["data"]))
    if len(seen) == 3:
        break
assert seen == [("pmessage", b"py-other", b"m%d" % i) for i in range(3)], seen
p.unsubscribe()
p.punsubscribe()
p.close()
print("python pubsub ok")
)",
                           h_.port(), "python pubsub ok");
}

class ProxyPubSubTwoWorkersTest : public ProxyPubSubTest {
 protected:
  proxy::ProxyConfig Config() override {
    proxy::ProxyConfig cfg;
    cfg.threads = 2;  // clients spread over two workers, each with its own node connections
    return cfg;
  }
};

TEST_F(ProxyPubSubTwoWorkersTest, PubsubCountsAreTheProxysClients) {
  std::vector<RespConn> clients;
  auto client = [&]() -> RespConn& {
    auto c = RespConn::Connect(h_.port());
    clients.push_back(std::move(*c));
    return clients.back();
  };
  for (int i = 0; i < 5; ++i) RS_ASSERT_OK(client().Call({"SUBSCRIBE", "news", "sports"}));
  for (int i = 0; i < 3; ++i) RS_ASSERT_OK(client().Call({"PSUBSCRIBE", "n*"}));
  RS_ASSERT_OK(client().Call({"PSUBSCRIBE", "m*"}));
  RS_ASSERT_OK(client().Call({"PSUBSCRIBE", "__keyspace@0__:*"}));  // held on every master
  for (int i = 0; i < 2; ++i) RS_ASSERT_OK(client().Call({"SSUBSCRIBE", "{s}chan"}));
  // A client of a node directly counts as well.
  RS_ASSERT_OK_AND_ASSIGN(RespConn direct, ConnectTo(h_.Masters()[0]));
  RS_ASSERT_OK(direct.Call({"SUBSCRIBE", "news"}));
  RS_ASSERT_OK_AND_ASSIGN(RespConn q, RespConn::Connect(h_.port()));
  EXPECT_EQ(*q.Call({"PUBSUB", "NUMSUB", "news", "sports", "none"}),
            Flat(false, '*', {"b:news", "i:6", "b:sports", "i:5", "b:none", "i:0"}));
  EXPECT_EQ(*q.Call({"PUBSUB", "NUMPAT"}), ":3\r\n");  // distinct patterns, as Redis counts
  EXPECT_EQ(*q.Call({"PUBSUB", "SHARDNUMSUB", "{s}chan"}), Flat(false, '*', {"b:{s}chan", "i:2"}));
  EXPECT_EQ(*q.Call({"PUBSUB", "SHARDCHANNELS"}), Flat(false, '*', {"b:{s}chan"}));
  auto channels = Elements(*q.Call({"PUBSUB", "CHANNELS"}));
  std::sort(channels.begin(), channels.end());
  EXPECT_EQ(channels, (std::vector<std::string>{"news", "sports"}));
  EXPECT_EQ(*q.Call({"PUBSUB", "CHANNELS", "s*"}), Flat(false, '*', {"b:sports"}));
  // Subcommands the proxy does not merge get a node's own answer.
  RS_ASSERT_OK_AND_ASSIGN(RespConn plain, ConnectTo(h_.Masters()[0]));
  RS_ASSERT_OK_AND_ASSIGN(std::string nope, plain.Call({"PUBSUB", "NOPE"}));
  EXPECT_EQ(nope.substr(0, 5), "-ERR ");
  EXPECT_EQ(*q.Call({"PUBSUB", "NOPE"}), nope);
  // The counts follow clients that leave.
  clients.clear();
  bool zero = false;
  for (int i = 0; i < 50 && !zero; ++i) {
    zero = *q.Call({"PUBSUB", "NUMSUB", "news"}) == Flat(false, '*', {"b:news", "i:1"}) &&
           *q.Call({"PUBSUB", "NUMPAT"}) == ":0\r\n";
    if (!zero) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(zero) << *q.Call({"PUBSUB", "NUMSUB", "news"}) << *q.Call({"PUBSUB", "NUMPAT"});
}

}  // namespace
}  // namespace rs::test
