// redis-proxy in front of a real 3-master + 3-replica cluster: routing, splitting, handshake,
// refusals, protocol errors, real clients (redis-cli, python3-redis, redis-benchmark).
#include <sys/resource.h>

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "common/resp_scanner.h"
#include "common/slot.h"
#include "proxy_fixture.h"
#include "support/free_port.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"
#include "support/test_status.h"

namespace rs::test {
namespace {

using namespace std::chrono_literals;

class ProxyClusterTest : public ::testing::Test {
 protected:
  void SetUp() override { RS_ASSERT_OK(h_.Start(3, 2000)); }
  ProxyHarness h_;
};

TEST_F(ProxyClusterTest, RoutesSingleKeyCommandsToTheOwningMaster) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  for (int i = 0; i < 200; ++i) {
    std::string k = "key:" + std::to_string(i);
    RS_ASSERT_OK(c.CommandString("SET", k, "v" + std::to_string(i)));
  }
  for (int i = 0; i < 200; ++i) {
    std::string k = "key:" + std::to_string(i);
    RS_ASSERT_OK_AND_ASSIGN(std::string v, c.CommandString("GET", k));
    EXPECT_EQ(v, "v" + std::to_string(i));
    // The key really lives on the node the cluster says owns its slot.
    if (i % 50 == 0) {
      RS_ASSERT_OK_AND_ASSIGN(std::string owner, h_.OwnerOf(KeySlot(k)));
      RS_ASSERT_OK_AND_ASSIGN(RedisClient n, h_.ConnectNode(owner));
      RS_ASSERT_OK_AND_ASSIGN(std::string direct, n.CommandString("GET", k));
      EXPECT_EQ(direct, "v" + std::to_string(i));
    }
  }
  RS_ASSERT_OK_AND_ASSIGN(std::string n, c.CommandString("INCR", "counter"));
  EXPECT_EQ(n, "1");
  RS_ASSERT_OK_AND_ASSIGN(Reply lr, c.Command("RPUSH", "list", "a", "b"));
  EXPECT_EQ(lr.integer, 2);
}

TEST_F(ProxyClusterTest, SplitsMultiKeyCommandsAcrossSlotsKeepingOrder) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  std::vector<std::string> mset = {"MSET"};
  std::vector<std::string> mget = {"MGET"};
  for (int i = 0; i < 50; ++i) {
    mset.push_back("k" + std::to_string(i));
    mset.push_back("value-" + std::to_string(i));
    mget.push_back("k" + std::to_string(i));
    if (i % 10 == 0) mget.push_back("missing" + std::to_string(i));
  }
  RS_ASSERT_OK_AND_ASSIGN(Reply ok, c.Command(mset));
  EXPECT_EQ(ok.str, "OK") << ok.ToString();
  RS_ASSERT_OK_AND_ASSIGN(Reply values, c.Command(mget));
  ASSERT_EQ(values.elements.size(), mget.size() - 1) << values.ToString();
  for (size_t i = 1; i < mget.size(); ++i) {
    const Reply& v = values.elements[i - 1];
    if (mget[i].rfind("missing", 0) == 0) {
      EXPECT_TRUE(v.is_nil()) << mget[i];
    } else {
      EXPECT_EQ(v.str, "value-" + mget[i].substr(1)) << mget[i];
    }
  }
  RS_ASSERT_OK_AND_ASSIGN(Reply exists, c.Command("EXISTS", "k1", "k2", "nope", "k1"));
  EXPECT_EQ(exists.integer, 3);
  RS_ASSERT_OK_AND_ASSIGN(Reply touched, c.Command("TOUCH", "k3", "k4", "nope"));
  EXPECT_EQ(touched.integer, 2);
  RS_ASSERT_OK_AND_ASSIGN(Reply del, c.Command("DEL", "k1", "k2", "nope"));
  EXPECT_EQ(del.integer, 2);
  RS_ASSERT_OK_AND_ASSIGN(Reply unlink, c.Command("UNLINK", "k3", "k4", "k5"));
  EXPECT_EQ(unlink.integer, 3);
  RS_ASSERT_OK_AND_ASSIGN(Reply after, c.Command("MGET", "k1", "k6"));
  ASSERT_EQ(after.elements.size(), 2u);
  EXPECT_TRUE(after.elements[0].is_nil());
  EXPECT_EQ(after.elements[1].str, "value-6");
  // DBSIZE sums the masters.
  RS_ASSERT_OK_AND_ASSIGN(Reply size, c.Command("DBSIZE"));
  EXPECT_EQ(size.integer, 45);
}

TEST_F(ProxyClusterTest, CrossSlotAndMsetnxGetClearErrors) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK_AND_ASSIGN(Reply r, c.Command("SUNION", "a", "b"));
  EXPECT_EQ(r.str, "CROSSSLOT Keys in request don't hash to the same slot");
  RS_ASSERT_OK_AND_ASSIGN(Reply same, c.Command("SUNION", "{u}a", "{u}b"));
  EXPECT_FALSE(same.is_error()) << same.ToString();
  RS_ASSERT_OK_AND_ASSIGN(Reply msetnx, c.Command("MSETNX", "a", "1", "b", "2"));
  EXPECT_TRUE(msetnx.is_error());
  EXPECT_NE(msetnx.str.find("MSETNX"), std::string::npos) << msetnx.str;
  RS_ASSERT_OK_AND_ASSIGN(Reply one, c.Command("MSETNX", "{t}a", "1", "{t}b", "2"));
  EXPECT_EQ(one.integer, 1);
  RS_ASSERT_OK_AND_ASSIGN(Reply eval,
                          c.Command("EVAL", "return redis.call('get', KEYS[1])", "1", "{t}a"));
  EXPECT_EQ(eval.str, "1");
  RS_ASSERT_OK_AND_ASSIGN(Reply eval2, c.Command("EVAL", "return 1", "2", "a", "b"));
  EXPECT_NE(eval2.str.find("several slots"), std::string::npos) << eval2.ToString();
}

TEST_F(ProxyClusterTest, TransactionRunsOnTheSlotsMasterAndCrossSlotAbortsIt) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  c.Append({"MULTI"});
  c.Append({"SET", "{tx}a", "1"});
  c.Append({"INCR", "{tx}a"});
  c.Append({"EXEC"});
  c.Append({"GET", "{tx}a"});
  std::vector<Reply> replies;
  for (int i = 0; i < 5; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(Reply r, c.GetReply());
    replies.push_back(r);
  }
  EXPECT_EQ(replies[0].str, "OK");
  EXPECT_EQ(replies[1].str, "QUEUED");
  EXPECT_EQ(replies[2].str, "QUEUED");
  ASSERT_EQ(replies[3].elements.size(), 2u) << replies[3].ToString();
  EXPECT_EQ(replies[3].elements[1].integer, 2);
  EXPECT_EQ(replies[4].str, "2");
  // The key is really on the slot's master.
  RS_ASSERT_OK_AND_ASSIGN(std::string owner, h_.OwnerOf(KeySlot("{tx}a")));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient n, h_.ConnectNode(owner));
  RS_ASSERT_OK_AND_ASSIGN(std::string direct, n.CommandString("GET", "{tx}a"));
  EXPECT_EQ(direct, "2");
  // A key of another slot is refused when queued, and then nothing runs, as on a node.
  c.Append({"MULTI"});
  c.Append({"SET", "{tx}b", "x"});
  c.Append({"SET", "elsewhere", "y"});
  c.Append({"EXEC"});
  c.Append({"MGET", "{tx}b", "elsewhere"});
  replies.clear();
  for (int i = 0; i < 5; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(Reply r, c.GetReply());
    replies.push_back(r);
  }
  EXPECT_EQ(replies[1].str, "QUEUED");
  EXPECT_EQ(replies[2].str, "CROSSSLOT Keys in request don't hash to the same slot");
  EXPECT_EQ(replies[3].str, "EXECABORT Transaction discarded because of previous errors.");
  ASSERT_EQ(replies[4].elements.size(), 2u);
  EXPECT_TRUE(replies[4].elements[0].is_nil()) << "a queued command ran";
  EXPECT_TRUE(replies[4].elements[1].is_nil()) << "a refused command ran";
  // DISCARD ends a block; EXEC and DISCARD without MULTI get Redis's errors.
  RS_ASSERT_OK(c.Command("MULTI"));
  RS_ASSERT_OK_AND_ASSIGN(Reply queued, c.Command("SET", "{tx}c", "2"));
  EXPECT_EQ(queued.str, "QUEUED");
  RS_ASSERT_OK_AND_ASSIGN(Reply discard, c.Command("DISCARD"));
  EXPECT_EQ(discard.str, "OK");
  RS_ASSERT_OK_AND_ASSIGN(Reply none, c.Command("GET", "{tx}c"));
  EXPECT_TRUE(none.is_nil());
  RS_ASSERT_OK_AND_ASSIGN(Reply exec, c.Command("EXEC"));
  EXPECT_EQ(exec.str, "ERR EXEC without MULTI");
  RS_ASSERT_OK_AND_ASSIGN(Reply discard2, c.Command("DISCARD"));
  EXPECT_EQ(discard2.str, "ERR DISCARD without MULTI");
}

TEST_F(ProxyClusterTest, HarmfulCommandsAreRefusedAndReplicationNeverRelayed) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK(c.CommandString("SET", "survivor", "1"));
  for (std::vector<std::string> cmd :
       std::vector<std::vector<std::string>>{{"FLUSHALL"},
                                             {"FLUSHDB"},
                                             {"KEYS", "*"},
                                             {"CONFIG", "SET", "maxmemory", "1"},
                                             {"SHUTDOWN"},
                                             {"DEBUG", "SLEEP", "0"},
                                             {"CLUSTER", "RESET"},
                                             {"REPLICAOF", "NO", "ONE"},
                                             {"MONITOR"},
                                             {"SAVE"}}) {
    RS_ASSERT_OK_AND_ASSIGN(Reply r, c.Command(cmd));
    EXPECT_TRUE(r.is_error()) << cmd[0];
    EXPECT_NE(r.str.find("refused by the proxy"), std::string::npos) << r.str;
  }
  for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
           {"SYNC"}, {"PSYNC", "?", "-1"}, {"REPLCONF", "listening-port", "1"}}) {
    RS_ASSERT_OK_AND_ASSIGN(Reply r, c.Command(cmd));
    EXPECT_NE(r.str.find("never relayed"), std::string::npos) << r.ToString();
  }
  // The nodes' ACL users are not the proxy's: changing them is refused, in MULTI too; no
  // master has the user afterwards. Reading them goes to a master.
  RS_ASSERT_OK_AND_ASSIGN(Reply setuser, c.Command("ACL", "SETUSER", "bob", "on", ">pw", "+@all"));
  EXPECT_NE(setuser.str.find("'ACL SETUSER' is refused by the proxy (ACL users are not"),
            std::string::npos)
      << setuser.ToString();
  RS_ASSERT_OK(c.Command("MULTI"));
  RS_ASSERT_OK_AND_ASSIGN(Reply queued, c.Command("ACL", "deluser", "default"));
  EXPECT_TRUE(queued.is_error()) << queued.ToString();
  RS_ASSERT_OK_AND_ASSIGN(Reply aborted, c.Command("EXEC"));
  EXPECT_EQ(aborted.str.substr(0, 9), "EXECABORT") << aborted.ToString();
  RS_ASSERT_OK_AND_ASSIGN(Reply users, c.Command("ACL", "USERS"));
  ASSERT_EQ(users.elements.size(), 1u) << users.ToString();
  EXPECT_EQ(users.elements[0].str, "default");
  RS_ASSERT_OK_AND_ASSIGN(std::string who, c.CommandString("ACL", "WHOAMI"));
  EXPECT_EQ(who, "default");
  RS_ASSERT_OK_AND_ASSIGN(std::string v, c.CommandString("GET", "survivor"));
  EXPECT_EQ(v, "1");
  RS_ASSERT_OK_AND_ASSIGN(Reply cfg, c.Command("CONFIG", "GET", "maxmemory"));
  EXPECT_EQ(cfg.elements.size(), 2u) << cfg.ToString();
}

TEST_F(ProxyClusterTest, HandshakeCommandsLookLikeOneServer) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK_AND_ASSIGN(std::string pong, c.CommandString("PING"));
  EXPECT_EQ(pong, "PONG");
  RS_ASSERT_OK_AND_ASSIGN(std::string hi, c.CommandString("PING", "hi"));
  EXPECT_EQ(hi, "hi");
  RS_ASSERT_OK_AND_ASSIGN(std::string echo, c.CommandString("ECHO", "x y"));
  EXPECT_EQ(echo, "x y");
  RS_ASSERT_OK_AND_ASSIGN(Reply sel0, c.Command("SELECT", "0"));
  EXPECT_EQ(sel0.str, "OK");
  RS_ASSERT_OK_AND_ASSIGN(Reply sel1, c.Command("SELECT", "1"));
  EXPECT_EQ(sel1.str, "ERR SELECT is not allowed in cluster mode");
  RS_ASSERT_OK_AND_ASSIGN(Reply hello2, c.Command("HELLO", "2"));
  ASSERT_EQ(hello2.elements.size(), 16u) << hello2.ToString();
  EXPECT_EQ(hello2.elements[4].str, "proto");
  EXPECT_EQ(hello2.elements[5].integer, 2);
  RS_ASSERT_OK_AND_ASSIGN(Reply hello4, c.Command("HELLO", "4"));
  EXPECT_EQ(hello4.str, "NOPROTO unsupported protocol version");
  RS_ASSERT_OK(c.Command("CLIENT", "SETNAME", "tester"));
  RS_ASSERT_OK_AND_ASSIGN(std::string name, c.CommandString("CLIENT", "GETNAME"));
  EXPECT_EQ(name, "tester");
  RS_ASSERT_OK_AND_ASSIGN(Reply id, c.Command("CLIENT", "ID"));
  EXPECT_EQ(id.type, Reply::Type::kInteger);
  RS_ASSERT_OK_AND_ASSIGN(std::string cinfo, c.CommandString("CLIENT", "INFO"));
  EXPECT_NE(cinfo.find("name=tester"), std::string::npos) << cinfo;
  RS_ASSERT_OK_AND_ASSIGN(Reply slot, c.Command("CLUSTER", "KEYSLOT", "foo"));
  EXPECT_EQ(slot.integer, 12182);
  RS_ASSERT_OK_AND_ASSIGN(std::string cluster_info, c.CommandString("CLUSTER", "INFO"));
  EXPECT_EQ(InfoField(cluster_info, "cluster_state"), "ok");
  RS_ASSERT_OK_AND_ASSIGN(Reply slots, c.Command("CLUSTER", "SLOTS"));
  ASSERT_EQ(slots.elements.size(), 1u);
  EXPECT_EQ(slots.elements[0].elements[2].elements[1].integer, h_.port());
  RS_ASSERT_OK_AND_ASSIGN(Reply shards, c.Command("CLUSTER", "SHARDS"));
  EXPECT_EQ(shards.elements.size(), 1u);
  // INFO is one bulk string with the proxy section and the backends' aggregate.
  RS_ASSERT_OK_AND_ASSIGN(Reply info, c.Command("INFO"));
  EXPECT_EQ(info.type, Reply::Type::kString);
  EXPECT_NE(info.str.find("# Proxy"), std::string::npos);
  EXPECT_EQ(InfoField(info.str, "topology_masters"), "3");
  EXPECT_NE(info.str.find("redis_version:"), std::string::npos);
  // Nested replies deeper than 7 levels (COMMAND DOCS; hiredis 0.14 cannot read them) pass
  // through intact and in order.
  std::string docs = RawExchange(h_.port(), "COMMAND DOCS\r\nPING\r\nQUIT\r\n", 5s);
  size_t docs_len = 0;
  ASSERT_EQ(resp::ScanReply(docs, &docs_len), resp::ScanStatus::kOk);
  EXPECT_GT(docs_len, 100000u);
  EXPECT_EQ(docs.substr(docs_len), "+PONG\r\n+OK\r\n");
  RS_ASSERT_OK_AND_ASSIGN(Reply count, c.Command("COMMAND", "COUNT"));
  EXPECT_GT(count.integer, 200);
  RS_ASSERT_OK_AND_ASSIGN(Reply time, c.Command("TIME"));
  EXPECT_EQ(time.elements.size(), 2u);
  RS_ASSERT_OK_AND_ASSIGN(Reply quit, c.Command("QUIT"));
  EXPECT_EQ(quit.str, "OK");
}

TEST_F(ProxyClusterTest, RequirepassMakesClientsAuthenticate) {
  h_.StopProxy();
  proxy::ProxyConfig cfg;
  cfg.seeds = h_.cluster().Addresses();
  cfg.requirepass = "s3cret";
  RS_ASSERT_OK(h_.StartProxy(cfg));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK_AND_ASSIGN(Reply denied, c.Command("GET", "x"));
  EXPECT_EQ(denied.str, "NOAUTH Authentication required.");
  RS_ASSERT_OK_AND_ASSIGN(Reply wrong, c.Command("AUTH", "nope"));
  EXPECT_EQ(wrong.str, "WRONGPASS invalid username-password pair or user is disabled.");
  RS_ASSERT_OK_AND_ASSIGN(Reply ok, c.Command("AUTH", "default", "s3cret"));
  EXPECT_EQ(ok.str, "OK");
  RS_ASSERT_OK_AND_ASSIGN(Reply get, c.Command("GET", "x"));
  EXPECT_TRUE(get.is_nil());
}

TEST_F(ProxyClusterTest, SeveralWorkerThreadsShareTheListeningPort) {
  h_.StopProxy();
  proxy::ProxyConfig cfg;
  cfg.seeds = h_.cluster().Addresses();
  cfg.threads = 3;
  RS_ASSERT_OK(h_.StartProxy(cfg));
  std::vector<RedisClient> clients;
  for (int i = 0; i < 30; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
    RS_ASSERT_OK(c.CommandString("SET", "t" + std::to_string(i), std::to_string(i)));
    clients.push_back(std::move(c));
  }
  for (int i = 0; i < 30; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(Reply r, clients[i].Command("MGET", "t" + std::to_string(i), "t0"));
    ASSERT_EQ(r.elements.size(), 2u);
    EXPECT_EQ(r.elements[0].str, std::to_string(i));
    EXPECT_EQ(r.elements[1].str, "0");
  }
  RS_ASSERT_OK_AND_ASSIGN(Reply info, clients[0].Command("INFO"));
  EXPECT_EQ(InfoField(info.str, "proxy_threads"), "3");
  EXPECT_EQ(InfoField(info.str, "proxy_connected_clients"), "30");
}

TEST_F(ProxyClusterTest, DeepPipelineBeyondThePendingCapIsPausedAndResumed) {
  h_.StopProxy();
  proxy::ProxyConfig cfg;
  cfg.seeds = h_.cluster().Addresses();
  cfg.max_pending_per_client = 16;  // reading pauses every 16 requests in flight
  RS_ASSERT_OK(h_.StartProxy(cfg));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  for (int i = 0; i < 5000; ++i) {
    c.Append({"SET", "p" + std::to_string(i), std::to_string(i)});
    c.Append({"PING"});  // answered by the proxy itself, still in order
    c.Append({"GET", "p" + std::to_string(i)});
  }
  for (int i = 0; i < 5000; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(Reply set, c.GetReply());
    ASSERT_EQ(set.str, "OK") << i;
    RS_ASSERT_OK_AND_ASSIGN(Reply pong, c.GetReply());
    ASSERT_EQ(pong.str, "PONG") << i;
    RS_ASSERT_OK_AND_ASSIGN(Reply get, c.GetReply());
    ASSERT_EQ(get.str, std::to_string(i)) << i;
  }
}

// A stall makes every request queued behind it slow at once. The log gets at most ten lines a
// second of them, and the rest in one summary line once their second is over; INFO counts all.
TEST_F(ProxyClusterTest, SlowlogWritesTenLinesASecondAndSumsUpTheRest) {
  h_.StopProxy();
  auto captured = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100000);
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.push_back(captured);  // before the proxy's threads start: sinks() is not thread-safe
  struct Detach {             // and off again once they are stopped, on every way out of the test
    ProxyHarness& h;
    std::vector<spdlog::sink_ptr>& sinks;
    ~Detach() {
      h.StopProxy();
      sinks.pop_back();
    }
  } detach{h_, sinks};
  proxy::ProxyConfig cfg;
  cfg.seeds = h_.cluster().Addresses();
  cfg.slowlog_usec = 1;  // every request through a node is slow
  RS_ASSERT_OK(h_.StartProxy(cfg));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  constexpr int kRequests = 3000;
  for (int i = 0; i < kRequests; ++i) c.Append({"GET", "slow:" + std::to_string(i)});
  for (int i = 0; i < kRequests; ++i) RS_ASSERT_OK(c.GetReply().status());

  std::string a_line;
  auto count = [&](uint64_t* lines, uint64_t* summed) {
    *lines = *summed = 0;
    for (const std::string& line : captured->last_formatted()) {
      if (line.find("slow request: ") != std::string::npos) {
        ++*lines;
        a_line = line;
      }
      size_t at = line.find("slow requests: ");
      if (at != std::string::npos) *summed += std::stoull(line.substr(at + 15));
    }
  };
  uint64_t lines = 0, summed = 0;
  auto deadline = std::chrono::steady_clock::now() + 5s;  // the summary follows within ~1.1 s
  do {
    std::this_thread::sleep_for(100ms);
    count(&lines, &summed);
  } while (lines + summed < kRequests && std::chrono::steady_clock::now() < deadline);
  // INFO's proxy section is taken before its own requests to the nodes finish: only the GETs.
  RS_ASSERT_OK_AND_ASSIGN(Reply info, c.Command("INFO"));

  EXPECT_EQ(InfoField(info.str, "proxy_slow_requests"), std::to_string(kRequests));
  EXPECT_GE(lines, 1u);
  EXPECT_NE(a_line.find("GET  $"), std::string::npos) << "the line shows the request: " << a_line;
  EXPECT_NE(a_line.find("slow:"), std::string::npos) << a_line;
  EXPECT_LE(lines, 10u * 6) << "ten lines a second; the run takes a few seconds at most";
  EXPECT_GT(summed, 0u);
  EXPECT_EQ(lines + summed, static_cast<uint64_t>(kRequests))
      << "every slow request is logged or summed up";
}

TEST_F(ProxyClusterTest, PipelinedInlineCommandsAndProtocolErrors) {
  bool closed = false;
  std::string inline_out =
      RawExchange(h_.port(), "SET inl 1\r\nGET inl\r\nPING\r\n\r\nECHO \"a b\"\r\n", 500ms);
  EXPECT_EQ(inline_out, "+OK\r\n$1\r\n1\r\n+PONG\r\n$3\r\na b\r\n");
  std::string bad = RawExchange(h_.port(), "PING\r\n*1\r\n$x\r\n", 2s, &closed);
  EXPECT_EQ(bad, "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_TRUE(closed);
  std::string quotes = RawExchange(h_.port(), "SET \"a\r\n", 2s, &closed);
  EXPECT_EQ(quotes, "-ERR Protocol error: unbalanced quotes in request\r\n");
  EXPECT_TRUE(closed);
  std::string big = RawExchange(h_.port(), "*99999999999\r\n", 2s, &closed);
  EXPECT_EQ(big.substr(0, 4), "-ERR");
  EXPECT_TRUE(closed);
  // Garbage of every byte value: an error or a reply, never a crash.
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 131 + 7) % 256));
  RawExchange(h_.port(), garbage, 300ms);
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK_AND_ASSIGN(std::string pong, c.CommandString("PING"));
  EXPECT_EQ(pong, "PONG");
}

TEST_F(ProxyClusterTest, ClientClosingMidWriteAndMidReplyLeavesTheProxyServing) {
  // Many pipelined requests, then the socket closes before the replies are read.
  std::string many;
  for (int i = 0; i < 20000; ++i)
    many += "*2\r\n$3\r\nGET\r\n$5\r\nkey" + std::to_string(10 + i % 90) + "\r\n";
  for (int round = 0; round < 5; ++round) RawExchange(h_.port(), many, 1ms);
  // Half a request, then close.
  RawExchange(h_.port(), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc", 10ms);
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK_AND_ASSIGN(std::string pong, c.CommandString("PING"));
  EXPECT_EQ(pong, "PONG");
  RS_ASSERT_OK_AND_ASSIGN(Reply k, c.Command("GET", "k"));
  EXPECT_TRUE(k.is_nil());
}

// SETs a 100 MB value (a letter every 4 KiB, so a shifted copy does not compare equal) and
// checks that GET gives it back whole.
void BigValueRoundTrips(RedisClient& c, const std::string& key) {
  std::string big(100 * 1024 * 1024, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
  RS_ASSERT_OK_AND_ASSIGN(Reply set, c.Command("SET", key, big));
  EXPECT_EQ(set.str, "OK");
  RS_ASSERT_OK_AND_ASSIGN(Reply get, c.Command("GET", key));
  ASSERT_EQ(get.str.size(), big.size()) << get.str.substr(0, 200);
  EXPECT_TRUE(get.str == big);
}

TEST_F(ProxyClusterTest, HundredMegabyteValueRoundTrips) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect(60s));
  BigValueRoundTrips(c, "big");
  RS_ASSERT_OK_AND_ASSIGN(Reply len, c.Command("STRLEN", "big"));
  EXPECT_EQ(len.integer, 100 * 1024 * 1024);
}

// The backend timeout is for a node that stopped answering, not for a long transfer: with a 1 s
// timeout, shorter than a 100 MB SET takes through the proxy here (about 0.4 s in the proxy, 0.4 s
// writing to the node, 0.3 s in Redis), 100 MB values still go through, both ways, while the
// bytes keep moving. No replicas: after the last byte a master copies the 100 MB to its replica
// before it answers, a silent spell that with other tests on both cores is the likeliest cause of
// the one failure seen under `ctest -j2`.
TEST(ProxyBackendTimeoutTest, ALongTransferIsNotATimeout) {
  ProxyHarness h;
  h.set_replicas_per_master(0);
  proxy::ProxyConfig cfg;
  cfg.backend_timeout_ms = 1000;
  RS_ASSERT_OK(h.Start(3, 5000, cfg));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h.Connect(60s));
  BigValueRoundTrips(c, "big");
}

TEST_F(ProxyClusterTest, FiveThousandConcurrentClients) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < 12000) {
    rl.rlim_cur = std::min<rlim_t>(12000, rl.rlim_max);
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  ASSERT_GE(rl.rlim_cur, 11000u) << "need ~2 fds per client in this process";
  std::vector<RedisClient> clients;
  clients.reserve(5000);
  for (int i = 0; i < 5000; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
    c.Append({"SET", "c" + std::to_string(i), std::to_string(i)});
    clients.push_back(std::move(c));
  }
  for (int i = 0; i < 5000; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(Reply r, clients[i].GetReply());
    ASSERT_EQ(r.str, "OK") << i;
  }
  for (int i = 0; i < 5000; i += 7) {
    RS_ASSERT_OK_AND_ASSIGN(std::string v,
                            clients[i].CommandString("GET", "c" + std::to_string(i)));
    EXPECT_EQ(v, std::to_string(i));
  }
  RS_ASSERT_OK_AND_ASSIGN(RedisClient probe, h_.Connect());
  RS_ASSERT_OK_AND_ASSIGN(Reply info, probe.Command("INFO"));
  EXPECT_EQ(InfoField(info.str, "proxy_connected_clients"), "5001");
}

// --- real clients ---

TEST_F(ProxyClusterTest, RedisCliWorksThroughTheProxy) {
  RS_ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create("proxy-cli"));
  auto out = dir.path() / "cli.txt";
  std::string port = std::to_string(h_.port());
  RS_ASSERT_OK_AND_ASSIGN(
      int rc,
      RunCommand({"redis-cli", "-p", port, "MSET", "x1", "a", "x2", "b", "x3", "c"}, out, 10s));
  EXPECT_EQ(rc, 0);
  RS_ASSERT_OK_AND_ASSIGN(
      rc, RunCommand({"redis-cli", "-p", port, "MGET", "x3", "x1", "x2"}, out, 10s));
  EXPECT_EQ(rc, 0);
  std::ifstream f(out);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("OK\nc\na\nb\n"), std::string::npos) << text;
}

TEST_F(ProxyClusterTest, PythonRedisClientWithPipelines) {
  ExpectPythonScriptPasses(R"(import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]))
assert r.ping()
r.set("py:a", "1")
assert r.get("py:a") == b"1"
p = r.pipeline(transaction=False)
for i in range(1000):
    p.set("py:%d" % i, i)
    p.get("py:%d" % i)
res = p.execute()
for i in range(1000):
    assert res[2 * i] is True and res[2 * i + 1] == str(i).encode(), (i, res[2 * i: 2 * i + 2])
assert r.mget(["py:1", "py:2", "nope", "py:3"]) == [b"1", b"2", None, b"3"]
assert r.delete("py:1", "py:2", "nope") == 2
assert r.exists("py:3", "py:4") == 2
info = r.info()
assert "proxy_version" in info and "redis_version" in info
r.client_setname("pyclient")
assert r.client_getname() == "pyclient"
# The default pipeline is a transaction (MULTI/EXEC).
assert r.pipeline().set("{py}t", 1).incr("{py}t").get("{py}t").execute() == [True, 2, b"2"]
print("python ok")
)",
                           h_.port(), "python ok");
}

TEST_F(ProxyClusterTest, RedisBenchmarkQuickRunHasNoErrors) {
  RS_ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create("proxy-bench"));
  auto out = dir.path() / "bench.txt";
  RS_ASSERT_OK_AND_ASSIGN(int rc, RunCommand({"redis-benchmark", "-p", std::to_string(h_.port()),
                                              "-t", "set,get,incr,lpush,mset", "-n", "20000", "-P",
                                              "8", "-c", "20", "-r", "10000", "-q"},
                                             out, 60s));
  EXPECT_EQ(rc, 0) << TailOfFile(out, 20);
  std::string tail = TailOfFile(out, 20);
  EXPECT_EQ(tail.find("ERR"), std::string::npos) << tail;
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK_AND_ASSIGN(Reply info, c.Command("INFO"));
  EXPECT_EQ(InfoField(info.str, "proxy_errors"), "0") << info.str.substr(0, 2000);
}

// CPU seconds (user + system) `pid` has used, from /proc/PID/stat.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// --busy-poll-usec: the worker polls without sleeping after input. Requests (pipelined, split,
// redirected by nothing) are answered as without it, and once the traffic stops the proxy goes
// back to sleeping in epoll instead of spinning.
TEST_F(ProxyClusterTest, BusyPollingServesAndGoesQuietWhenIdle) {
  RS_ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create("proxy-busy-poll"));
  RS_ASSERT_OK_AND_ASSIGN(uint16_t port, FindFreePort("127.0.0.1", false));
  RS_ASSERT_OK_AND_ASSIGN(
      pid_t pid,
      Spawn({RS_PROXY_BINARY, "--listen", "127.0.0.1:" + std::to_string(port), "--seeds",
             h_.cluster().Addresses()[0], "--busy-poll-usec", "20000", "--log-level", "warn"},
            dir.path() / "proxy.log"));
  std::optional<RedisClient> client;
  for (int i = 0; i < 100 && !client; ++i) {
    auto r = RedisClient::Connect("127.0.0.1", port, 2s);
    if (r.ok() && r->CommandString("SET", "probe", "1").ok()) {
      client.emplace(std::move(*r));
    } else {
      std::this_thread::sleep_for(50ms);
    }
  }
  ASSERT_TRUE(client) << TailOfFile(dir.path() / "proxy.log", 20);
  RedisClient& c = *client;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 500; ++i) {
      c.Append({"SET", "bp:" + std::to_string(i), std::to_string(round)});
    }
    for (int i = 0; i < 500; ++i) c.Append({"GET", "bp:" + std::to_string(i)});
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(c.GetReply().ok());
    for (int i = 0; i < 500; ++i) {
      RS_ASSERT_OK_AND_ASSIGN(Reply r, c.GetReply());
      ASSERT_EQ(r.str, std::to_string(round)) << "bp:" << i;
    }
  }
  RS_ASSERT_OK_AND_ASSIGN(Reply m, c.Command("MGET", "bp:1", "bp:2", "bp:499"));
  ASSERT_EQ(m.elements.size(), 3u);
  EXPECT_EQ(m.elements[2].str, "19");
  // Idle: after the 20 ms window the worker blocks again; a spinning one would use ~1 s of CPU
  // per second.
  std::this_thread::sleep_for(200ms);
  double before = CpuSeconds(pid);
  std::this_thread::sleep_for(1s);
  double used = CpuSeconds(pid) - before;
  EXPECT_LT(used, 0.3) << "the proxy kept polling while idle";
  RS_ASSERT_OK_AND_ASSIGN(int status, TerminateChild(pid, SIGTERM, 5s));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << TailOfFile(dir.path() / "proxy.log", 20);
}

}  // namespace
}  // namespace rs::test
