// Commands that must reach every node, or none, against a real 3-master + 3-replica cluster and a
// proxy started with --allow-admin-commands: KEYS, RANDOMKEY, FLUSHALL, CONFIG SET (replicas
// too), SCRIPT KILL / EXISTS, SLOWLOG, MEMORY STATS, MONITOR; and connection takeovers that must
// not harm other clients.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
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

class ProxyFanOutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    proxy::ProxyConfig cfg;
    cfg.allow_admin_commands = true;
    h_.add_node_config("enable-debug-command yes");
    RS_ASSERT_OK(h_.Start(3, 2000, cfg));
  }

  ProxyHarness h_;
};

TEST_F(ProxyFanOutTest, KeysRandomkeyAndFlushallCoverEveryMaster) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  std::vector<std::string> keys = h_.KeyPerMaster("fan:");
  ASSERT_EQ(keys.size(), 3u);
  for (const std::string& k : keys) RS_ASSERT_OK(c.Command("SET", k, "v"));
  RS_ASSERT_OK_AND_ASSIGN(Reply all, c.Command("KEYS", "fan:*"));
  std::set<std::string> got;
  for (const Reply& e : all.elements) got.insert(e.str);
  EXPECT_EQ(got, std::set<std::string>(keys.begin(), keys.end())) << all.ToString();
  std::set<std::string> random;
  for (int i = 0; i < 60; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(std::string k, c.CommandString("RANDOMKEY"));
    random.insert(k);
  }
  EXPECT_EQ(random.size(), 3u) << "RANDOMKEY saw only some masters";
  RS_ASSERT_OK_AND_ASSIGN(Reply flushed, c.Command("FLUSHALL"));
  EXPECT_EQ(flushed.str, "OK");
  RS_ASSERT_OK_AND_ASSIGN(Reply size, c.Command("DBSIZE"));
  EXPECT_EQ(size.integer, 0);
  RS_ASSERT_OK_AND_ASSIGN(Reply none, c.Command("RANDOMKEY"));
  EXPECT_TRUE(none.is_nil());
  RS_ASSERT_OK_AND_ASSIGN(Reply async, c.Command("FLUSHDB", "ASYNC"));
  EXPECT_EQ(async.str, "OK");
}

// A whole SCAN through the proxy; `between` runs after each step.
std::set<std::string> ScanAll(RedisClient& c, const std::vector<std::string>& extra,
                              const std::function<void(int)>& between = nullptr,
                              int* steps_out = nullptr) {
  std::set<std::string> seen;
  std::string cursor = "0";
  int steps = 0;
  do {
    std::vector<std::string> cmd = {"SCAN", cursor};
    cmd.insert(cmd.end(), extra.begin(), extra.end());
    auto r = c.Command(cmd);
    if (!r.ok() || r->elements.size() != 2) {
      ADD_FAILURE() << "SCAN failed: " << (r.ok() ? r->ToString() : r.status().ToString());
      break;
    }
    cursor = r->elements[0].str;
    for (const Reply& k : r->elements[1].elements) seen.insert(k.str);
    if (between) between(steps);
    ++steps;
  } while (cursor != "0" && steps < 100000);
  if (steps_out) *steps_out = steps;
  return seen;
}

// SIGCONT for a node a test stopped, whatever way the test ends.
struct ResumeAtEnd {
  LocalRedis& node;
  ~ResumeAtEnd() { (void)node.Resume(); }
};

// INFO is what an operator reads when a node is stalled or down: it answers at once, built from
// the nodes that answered, and names the others in # Backends.
TEST_F(ProxyFanOutTest, InfoAnswersAtOnceWithoutAStalledOrDeadMasterAndNamesIt) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  std::vector<std::string> masters = h_.Masters();
  ASSERT_EQ(masters.size(), 3u);
  for (const std::string& m : masters) RS_ASSERT_OK(c.Command("SET", "warm:" + m, "1"));
  auto timed_info = [&c](int64_t* ms) -> std::string {
    auto t0 = std::chrono::steady_clock::now();
    auto info = c.CommandString("INFO");
    *ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
              .count();
    return info.ok() ? *info : "INFO failed: " + info.status().ToString();
  };
  {
    const int stalled = h_.cluster().IndexOf(masters[0]);
    ASSERT_GE(stalled, 0);
    RS_ASSERT_OK(h_.cluster().node(static_cast<size_t>(stalled)).Pause());
    ResumeAtEnd resume{h_.cluster().node(static_cast<size_t>(stalled))};
    // Twice: the second is not held up by the first one's request still at the stopped node.
    for (int round = 0; round < 2; ++round) {
      int64_t ms = 0;
      std::string info = timed_info(&ms);
      EXPECT_LT(ms, 1000) << "INFO waited for the stopped node";
      EXPECT_NE(info.find("# Proxy\r\n"), std::string::npos) << info;
      EXPECT_NE(info.find("# Backends\r\n"), std::string::npos) << info;
      EXPECT_NE(info.find("addr=" + masters[0] + ",state=no-answer\r\n"), std::string::npos)
          << info;
      for (size_t i = 1; i < masters.size(); ++i) {
        EXPECT_NE(info.find("addr=" + masters[i] + ",state=ok\r\n"), std::string::npos) << info;
      }
      EXPECT_EQ(InfoField(info, "redis_version"), "7.0.15") << info;  // the others' sections
    }
  }
  // Resumed: every node answers again, on the same client connection.
  int64_t ms = 0;
  std::string info;
  for (int i = 0; i < 50; ++i) {
    info = timed_info(&ms);
    if (info.find("state=no-answer") == std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  for (const std::string& m : masters) {
    EXPECT_NE(info.find("addr=" + m + ",state=ok\r\n"), std::string::npos) << info;
  }
  // Dead: refused at once, named with the error.
  RS_ASSERT_OK(h_.cluster().node(static_cast<size_t>(h_.cluster().IndexOf(masters[1]))).Kill());
  info = timed_info(&ms);
  EXPECT_LT(ms, 1000);
  EXPECT_NE(info.find("addr=" + masters[1] + ",state="), std::string::npos) << info;
  EXPECT_EQ(info.find("addr=" + masters[1] + ",state=ok"), std::string::npos) << info;
  EXPECT_NE(info.find("addr=" + masters[0] + ",state=ok\r\n"), std::string::npos) << info;
}

// After a node stalled past --backend-timeout the proxy cannot know whether the node ran the
// request: the error says so, and one that surely did not run says that.
TEST(ProxyBackendErrorTest, SaysWhetherTheCommandMayHaveRun) {
  ProxyHarness h;
  proxy::ProxyConfig cfg;
  cfg.backend_timeout_ms = 500;
  RS_ASSERT_OK(h.Start(3, 2000, cfg));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h.Connect());
  RS_ASSERT_OK(c.Command("SET", "outcome", "before"));
  RS_ASSERT_OK_AND_ASSIGN(std::string owner, h.OwnerOf(KeySlot("outcome")));
  const int index = h.cluster().IndexOf(owner);
  ASSERT_GE(index, 0);
  LocalRedis& node = h.cluster().node(static_cast<size_t>(index));
  {
    RS_ASSERT_OK(node.Pause());
    ResumeAtEnd resume{node};
    RS_ASSERT_OK_AND_ASSIGN(Reply r, c.Command("SET", "outcome", "during"));
    EXPECT_EQ(r.str, "ERR proxy: backend " + owner +
                         " timed out after 500 ms; the command may have been applied")
        << r.ToString();
  }
  // It was: the node ran it once it resumed.
  std::string value;
  for (int i = 0; i < 50 && value != "during"; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(Reply r, c.Command("GET", "outcome"));
    value = r.str;
    if (value != "during") std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(value, "during");
  RS_ASSERT_OK(node.Kill());
  std::this_thread::sleep_for(300ms);  // the proxy sees its connection closed first
  RS_ASSERT_OK_AND_ASSIGN(Reply lost, c.Command("SET", "outcome", "after"));
  EXPECT_TRUE(lost.is_error()) << lost.ToString();
  EXPECT_NE(lost.str.find("the command was not sent"), std::string::npos) << lost.ToString();
}

TEST_F(ProxyFanOutTest, ScanVisitsEveryMasterWithMatchCountAndType) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  std::set<std::string> keys;
  for (int i = 0; i < 600; ++i) {
    std::string k = "scan:" + std::to_string(i);
    c.Append({"SET", k, "v"});
    keys.insert(k);
  }
  for (int i = 0; i < 600; ++i) RS_ASSERT_OK(c.GetReply());
  for (int i = 0; i < 30; ++i) RS_ASSERT_OK(c.Command("RPUSH", "list:" + std::to_string(i), "x"));
  int steps = 0;
  std::set<std::string> got = ScanAll(c, {"MATCH", "scan:*", "COUNT", "50"}, nullptr, &steps);
  EXPECT_EQ(got, keys);
  EXPECT_GT(steps, 3);  // pages from several masters
  std::set<std::string> lists = ScanAll(c, {"TYPE", "list"});
  EXPECT_EQ(lists.size(), 30u);
  RS_ASSERT_OK_AND_ASSIGN(Reply bad, c.Command("SCAN", "not-a-number"));
  EXPECT_EQ(bad.str, "ERR invalid cursor");
  RS_ASSERT_OK_AND_ASSIGN(Reply syntax, c.Command("SCAN", "0", "COUNT", "x"));
  EXPECT_TRUE(syntax.is_error());
}

TEST_F(ProxyFanOutTest, ScanReturnsEveryKeyWhileSlotsMove) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  std::set<std::string> keys;
  for (int i = 0; i < 3000; ++i) {
    std::string k = "mv:" + std::to_string(i);
    c.Append({"SET", k, "v"});
    keys.insert(k);
  }
  for (int i = 0; i < 3000; ++i) RS_ASSERT_OK(c.GetReply());
  // Masters by address: slots move from the last one (scanned last) to the first one (scanned
  // first) while the scan runs, so their keys would be missed without the move log.
  std::vector<std::string> masters;
  for (int s : {0, 8000, 16000}) {
    RS_ASSERT_OK_AND_ASSIGN(std::string m, h_.OwnerOf(s));
    if (std::find(masters.begin(), masters.end(), m) == masters.end()) masters.push_back(m);
  }
  std::sort(masters.begin(), masters.end());
  ASSERT_EQ(masters.size(), 3u);
  std::vector<int> to_move;
  for (int s = 0; s < kSlotCount && to_move.size() < 40; ++s) {
    auto o = h_.OwnerOf(s);
    if (o.ok() && *o == masters[2]) to_move.push_back(s);
  }
  size_t next = 0;
  std::set<std::string> got = ScanAll(c, {"COUNT", "100"}, [&](int step) {
    // Move a few slots once the scan is past the first master.
    if (step >= 4 && next < to_move.size()) {
      for (int n = 0; n < 4 && next < to_move.size(); ++n, ++next) {
        Status s = MigrateSlot(h_, to_move[next], masters[2], masters[0]);
        if (!s.ok()) ADD_FAILURE() << s.ToString();
      }
    }
  });
  EXPECT_EQ(next, to_move.size()) << "the scan ended before the slots moved";
  std::vector<std::string> missed;
  for (const std::string& k : keys) {
    if (!got.contains(k)) missed.push_back(k);
  }
  EXPECT_TRUE(missed.empty()) << missed.size() << " keys missed, e.g. " << missed.front();
}

TEST_F(ProxyFanOutTest, ConfigSetReachesEveryNodeReplicasIncluded) {
  // The proxy learns the replicas from CLUSTER SLOTS (right after the cluster forms, some nodes
  // do not list them yet): refresh often, and wait until it knows all three.
  h_.StopProxy();
  proxy::ProxyConfig cfg;
  cfg.allow_admin_commands = true;
  cfg.seeds = h_.cluster().Addresses();
  cfg.refresh_interval_ms = 200;
  RS_ASSERT_OK(h_.StartProxy(cfg));
  auto deadline = std::chrono::steady_clock::now() + 20s;
  size_t replicas = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    replicas = 0;
    if (auto t = h_.proxy().latest_table()) {
      for (const auto& r : t->replicas) replicas += r.size();
    }
    if (replicas == 3) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(replicas, 3u);
  std::this_thread::sleep_for(100ms);  // the workers install it
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK_AND_ASSIGN(Reply set, c.Command("CONFIG", "SET", "slowlog-max-len", "777"));
  EXPECT_EQ(set.str, "OK") << set.ToString();
  ASSERT_EQ(h_.cluster().size(), 6u);
  for (const std::string& node : h_.cluster().Addresses()) {
    RS_ASSERT_OK_AND_ASSIGN(RedisClient n, h_.ConnectNode(node));
    RS_ASSERT_OK_AND_ASSIGN(Reply v, n.Command("CONFIG", "GET", "slowlog-max-len"));
    ASSERT_EQ(v.elements.size(), 2u);
    EXPECT_EQ(v.elements[1].str, "777") << node;
  }
  // A value every node refuses alike: the error a single node gives.
  RS_ASSERT_OK_AND_ASSIGN(Reply bad, c.Command("CONFIG", "SET", "maxmemory-policy", "nonsense"));
  EXPECT_EQ(bad.str.substr(0, 16), "ERR CONFIG SET f") << bad.str;
  EXPECT_EQ(bad.str.find("proxy"), std::string::npos) << bad.str;
  // A value only some nodes take (node 0's own port): the error names the others.
  const std::string node0 = h_.cluster().Addresses()[0];
  RS_ASSERT_OK_AND_ASSIGN(
      Reply partial, c.Command("CONFIG", "SET", "port", node0.substr(node0.rfind(':') + 1)));
  ASSERT_TRUE(partial.is_error());
  EXPECT_NE(partial.str.find("CONFIG SET failed on"), std::string::npos) << partial.str;
  EXPECT_NE(partial.str.find(h_.cluster().Addresses()[1]), std::string::npos) << partial.str;
  EXPECT_EQ(partial.str.find(node0 + " ("), std::string::npos) << partial.str;
  EXPECT_NE(partial.str.find("succeeded on the other 1 node"), std::string::npos) << partial.str;
  RS_ASSERT_OK_AND_ASSIGN(Reply reset, c.Command("CONFIG", "RESETSTAT"));
  EXPECT_EQ(reset.str, "OK");
}

TEST_F(ProxyFanOutTest, ScriptKillFindsTheBusyMasterAndExistsNeedsEveryMaster) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK_AND_ASSIGN(Reply notbusy, c.Command("SCRIPT", "KILL"));
  EXPECT_EQ(notbusy.str, "NOTBUSY No scripts in execution right now.");
  RS_ASSERT_OK_AND_ASSIGN(std::string sha, c.CommandString("SCRIPT", "LOAD", "return 1"));
  // A script loaded on one master only does not exist for the cluster.
  RS_ASSERT_OK_AND_ASSIGN(std::string owner0, h_.OwnerOf(0));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient one, h_.ConnectNode(owner0));
  RS_ASSERT_OK_AND_ASSIGN(std::string sha2, one.CommandString("SCRIPT", "LOAD", "return 2"));
  RS_ASSERT_OK_AND_ASSIGN(Reply exists, c.Command("SCRIPT", "EXISTS", sha, sha2));
  ASSERT_EQ(exists.elements.size(), 2u);
  EXPECT_EQ(exists.elements[0].integer, 1);
  EXPECT_EQ(exists.elements[1].integer, 0);
  // SCRIPT FLUSH reaches every master: a script loaded everywhere is gone from each; INFO's
  // count of cached scripts is the largest master's (SCRIPT LOAD put it on all), not their sum.
  RS_ASSERT_OK_AND_ASSIGN(std::string mem, c.CommandString("INFO", "memory"));
  EXPECT_NE(mem.find("number_of_cached_scripts:2\r\n"), std::string::npos) << mem;
  RS_ASSERT_OK(c.Command("SCRIPT", "FLUSH"));
  RS_ASSERT_OK_AND_ASSIGN(Reply gone, one.Command("SCRIPT", "EXISTS", sha, sha2));
  ASSERT_EQ(gone.elements.size(), 2u);
  EXPECT_EQ(gone.elements[0].integer, 0);
  EXPECT_EQ(gone.elements[1].integer, 0);
  // A busy script on one master: SCRIPT KILL through the proxy reaches it.
  RS_ASSERT_OK(one.Command("CONFIG", "SET", "busy-reply-threshold", "50"));
  std::thread busy([&] {
    auto a = Address::Parse(owner0);
    if (!a.ok()) return;
    auto direct = RedisClient::Connect(a->host, a->port, 10s);
    if (direct.ok()) (void)direct->Command("EVAL", "while true do end", "0");
  });
  std::this_thread::sleep_for(300ms);
  RS_ASSERT_OK_AND_ASSIGN(Reply killed, c.Command("SCRIPT", "KILL"));
  busy.join();
  EXPECT_EQ(killed.str, "OK") << killed.ToString();
  RS_ASSERT_OK_AND_ASSIGN(Reply after, one.Command("PING"));
  EXPECT_EQ(after.str, "PONG");
}

TEST_F(ProxyFanOutTest, ClientPauseHoldsWritesOnEveryMasterAndCountsEachWaitingClient) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  std::vector<std::string> keys = h_.KeyPerMaster("fan:");
  ASSERT_EQ(keys.size(), 3u);
  RS_ASSERT_OK_AND_ASSIGN(Reply paused, c.Command("CLIENT", "PAUSE", "20000", "WRITE"));
  ASSERT_EQ(paused.str, "OK") << paused.ToString();
  // Four writers, two of them to one master: each is one blocked client, as on one server (not
  // one shared connection per master).
  std::vector<RespConn> writers;
  for (int i = 0; i < 4; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(RespConn w, RespConn::Connect(h_.port()));
    RS_ASSERT_OK(w.Send({"SET", keys[static_cast<size_t>(i) % 3], "w" + std::to_string(i)}));
    writers.push_back(std::move(w));
  }
  int64_t blocked = 0;
  for (int i = 0; i < 100 && blocked < 4; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(std::string info, c.CommandString("INFO", "clients"));
    blocked = std::stoll(InfoField(info, "blocked_clients"));
    if (blocked < 4) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(blocked, 4);
  // Reads are answered meanwhile; the writes are not.
  RS_ASSERT_OK_AND_ASSIGN(Reply read, c.Command("GET", keys[0]));
  EXPECT_TRUE(read.is_nil()) << read.ToString();
  for (RespConn& w : writers) EXPECT_FALSE(w.Read(100ms).ok());
  RS_ASSERT_OK_AND_ASSIGN(Reply unpaused, c.Command("CLIENT", "UNPAUSE"));
  EXPECT_EQ(unpaused.str, "OK");
  for (RespConn& w : writers) {
    RS_ASSERT_OK_AND_ASSIGN(std::string ok, w.Read(5s));
    EXPECT_EQ(ok, "+OK\r\n");
  }
  RS_ASSERT_OK_AND_ASSIGN(std::string last, c.CommandString("GET", keys[0]));
  EXPECT_EQ(last, "w3");
}

TEST_F(ProxyFanOutTest, ALongScriptThroughTheProxyHoldsUpNoOtherClient) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK(c.Command("CONFIG", "SET", "busy-reply-threshold", "50"));
  const std::string key = "{busy}k";
  RS_ASSERT_OK(c.Command("SET", key, "v"));
  RS_ASSERT_OK_AND_ASSIGN(RespConn runner, RespConn::Connect(h_.port()));
  RS_ASSERT_OK(runner.Send({"EVAL", "while true do end", "1", key}));
  std::this_thread::sleep_for(300ms);
  // Another client's request to that node is answered by the node (BUSY), not stuck behind the
  // script on a shared connection; other nodes answer as usual.
  auto t0 = std::chrono::steady_clock::now();
  RS_ASSERT_OK_AND_ASSIGN(Reply busy, c.Command("GET", key));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(busy.str.substr(0, 4), "BUSY") << busy.ToString();
  RS_ASSERT_OK_AND_ASSIGN(Reply killed, c.Command("SCRIPT", "KILL"));
  EXPECT_EQ(killed.str, "OK");
  RS_ASSERT_OK_AND_ASSIGN(std::string ended, runner.Read(5s));
  EXPECT_NE(ended.find("Script killed"), std::string::npos) << ended;
  RS_ASSERT_OK_AND_ASSIGN(std::string v, c.CommandString("GET", key));
  EXPECT_EQ(v, "v");
  // A pipelined script and the GET behind it keep their order (one session for both).
  RS_ASSERT_OK(runner.SendRaw("EVAL \"redis.call('set', KEYS[1], 'w') return 1\" 1 {busy}k\r\n"
                              "GET {busy}k\r\n"));
  RS_ASSERT_OK_AND_ASSIGN(std::string one, runner.Read());
  EXPECT_EQ(one, ":1\r\n");
  RS_ASSERT_OK_AND_ASSIGN(std::string w, runner.Read());
  EXPECT_EQ(w, "$1\r\nw\r\n");
}

TEST_F(ProxyFanOutTest, SlowlogAndMemoryStatsAreMergedOverMasters) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK(c.Command("CONFIG", "SET", "slowlog-log-slower-than", "0"));
  RS_ASSERT_OK(c.Command("SLOWLOG", "RESET"));
  std::vector<std::string> keys = h_.KeyPerMaster("fan:");
  for (const std::string& k : keys) RS_ASSERT_OK(c.Command("SET", k, "v"));
  RS_ASSERT_OK_AND_ASSIGN(Reply log, c.Command("SLOWLOG", "GET", "100"));
  std::set<std::string> seen;
  for (const Reply& e : log.elements) {
    if (e.elements.size() > 3 && e.elements[3].elements.size() >= 2 &&
        e.elements[3].elements[0].str == "SET") {
      seen.insert(e.elements[3].elements[1].str);
    }
  }
  EXPECT_EQ(seen.size(), 3u) << log.ToString();
  RS_ASSERT_OK_AND_ASSIGN(Reply len, c.Command("SLOWLOG", "LEN"));
  EXPECT_GE(len.integer, 3);
  RS_ASSERT_OK(c.Command("CONFIG", "SET", "slowlog-log-slower-than", "10000"));
  RS_ASSERT_OK_AND_ASSIGN(Reply stats, c.Command("MEMORY", "STATS"));
  ASSERT_GT(stats.elements.size(), 10u);
  long long keys_count = -1;
  for (size_t i = 0; i + 1 < stats.elements.size(); i += 2) {
    if (stats.elements[i].str == "keys.count") keys_count = stats.elements[i + 1].integer;
  }
  EXPECT_EQ(keys_count, 3) << "MEMORY STATS keys.count is the sum over the masters";
  RS_ASSERT_OK_AND_ASSIGN(Reply usage, c.Command("MEMORY", "USAGE", keys[1]));
  EXPECT_GT(usage.integer, 0);
  RS_ASSERT_OK_AND_ASSIGN(std::string doctor, c.CommandString("MEMORY", "DOCTOR"));
  EXPECT_NE(doctor.find(h_.cluster().Addresses()[0]), std::string::npos) << doctor;
}

TEST_F(ProxyFanOutTest, MonitorStreamsEveryMaster) {
  RS_ASSERT_OK_AND_ASSIGN(RespConn mon, RespConn::Connect(h_.port()));
  RS_ASSERT_OK_AND_ASSIGN(std::string ok, mon.Call({"MONITOR"}));
  EXPECT_EQ(ok, "+OK\r\n");
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  std::vector<std::string> keys = h_.KeyPerMaster("fan:");
  for (const std::string& k : keys) RS_ASSERT_OK(c.Command("SET", k, "monitored"));
  std::set<std::string> seen;
  for (int i = 0; i < 50 && seen.size() < 3; ++i) {
    auto line = mon.Read(2s);
    if (!line.ok()) break;
    for (const std::string& k : keys) {
      if (line->find("\"" + k + "\"") != std::string::npos) seen.insert(k);
    }
  }
  EXPECT_EQ(seen.size(), 3u);
  RS_ASSERT_OK_AND_ASSIGN(std::string refused, mon.Call({"GET", "x"}));
  EXPECT_NE(refused.find("MONITOR mode"), std::string::npos) << refused;
}

TEST_F(ProxyFanOutTest, MonitorSyncAndDebugLeaveOtherClientsUnharmed) {
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0}, done{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&, t] {
      auto c = h_.Connect();
      if (!c.ok()) {
        ++errors;
        return;
      }
      for (int i = 0; !stop; ++i) {
        std::string k = "load:" + std::to_string(t) + ":" + std::to_string(i % 100);
        auto set = c->Command("SET", k, std::to_string(i));
        auto get = c->Command("GET", k);
        if (!set.ok() || set->is_error() || !get.ok() || get->str != std::to_string(i)) ++errors;
        ++done;
      }
    });
  }
  std::this_thread::sleep_for(200ms);
  {
    RS_ASSERT_OK_AND_ASSIGN(RespConn sync, RespConn::Connect(h_.port()));
    RS_ASSERT_OK_AND_ASSIGN(std::string r, sync.Call({"SYNC"}));
    EXPECT_NE(r.find("never relayed"), std::string::npos) << r;
    RS_ASSERT_OK_AND_ASSIGN(std::string p, sync.Call({"PSYNC", "?", "-1"}));
    EXPECT_NE(p.find("never relayed"), std::string::npos) << p;
  }
  {
    RS_ASSERT_OK_AND_ASSIGN(RespConn debug, RespConn::Connect(h_.port()));
    auto start = std::chrono::steady_clock::now();
    RS_ASSERT_OK_AND_ASSIGN(std::string r, debug.Call({"DEBUG", "SLEEP", "0.5"}, 5s));
    EXPECT_EQ(r, "+OK\r\n");
    EXPECT_GE(std::chrono::steady_clock::now() - start, 450ms);
  }
  {
    RS_ASSERT_OK_AND_ASSIGN(RespConn mon, RespConn::Connect(h_.port()));
    RS_ASSERT_OK(mon.Call({"MONITOR"}));
    std::this_thread::sleep_for(300ms);
    mon.Close();  // a monitor that goes away mid-stream
  }
  std::this_thread::sleep_for(200ms);
  stop = true;
  for (auto& t : load) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(done.load(), 100);
}

TEST(ProxyReadFromTest, ReadonlyClientsReadFromInSyncReplicasOnly) {
  ProxyHarness h;
  RS_ASSERT_OK(h.StartCluster(3, 2000));
  RS_ASSERT_OK(h.WaitForReplicasInSync(20s));
  proxy::ProxyConfig cfg;
  cfg.seeds = h.cluster().Addresses();
  cfg.refresh_interval_ms = 200;
  cfg.read_from = "replica";
  RS_ASSERT_OK(h.StartProxy(cfg));
  const std::string key = "{rf}k";
  RS_ASSERT_OK_AND_ASSIGN(std::string master, h.OwnerOf(KeySlot(key)));
  // The master's replica, from the master's own view.
  RS_ASSERT_OK_AND_ASSIGN(RedisClient m, h.ConnectNode(master));
  RS_ASSERT_OK_AND_ASSIGN(std::string info, m.CommandString("INFO", "replication"));
  std::string line = InfoField(info, "slave0");  // ip=...,port=...,...
  size_t p = line.find("port=");
  ASSERT_NE(p, std::string::npos) << info;
  const std::string replica =
      "127.0.0.1:" + line.substr(p + 5, line.find(',', p) - p - 5);
  int replica_index = h.cluster().IndexOf(replica);
  ASSERT_GE(replica_index, 0) << replica;
  auto gets_on = [&](const std::string& node) -> long long {
    auto c = h.ConnectNode(node);
    if (!c.ok()) return -1;
    auto stats = c->CommandString("INFO", "commandstats");
    if (!stats.ok()) return -1;
    std::string f = InfoField(*stats, "cmdstat_get");  // calls=N,...
    return f.empty() ? 0 : std::atoll(f.substr(6).c_str());
  };
  // Wait until the proxy has probed the replicas.
  std::this_thread::sleep_for(2500ms);

  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h.Connect());
  RS_ASSERT_OK(c.Command("SET", key, "v1"));
  RS_ASSERT_OK(c.Command("WAIT", "1", "1000"));
  // Without READONLY, reads go to the master.
  long long before = gets_on(replica);
  RS_ASSERT_OK_AND_ASSIGN(std::string v0, c.CommandString("GET", key));
  EXPECT_EQ(gets_on(replica), before);
  RS_ASSERT_OK(c.Command("READONLY"));
  for (int i = 0; i < 5; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(std::string v, c.CommandString("GET", key));
    EXPECT_EQ(v, "v1");
  }
  RS_ASSERT_OK_AND_ASSIGN(std::string pinfo, c.CommandString("INFO", "proxy"));
  EXPECT_EQ(gets_on(replica), before + 5)
      << "READONLY reads did not reach the replica " << replica << "\n" << pinfo;
  // Writes still go to the master.
  RS_ASSERT_OK(c.Command("SET", key, "v2"));
  // A replica that stops acknowledging (paused) is no longer read from: reads keep working.
  RS_ASSERT_OK(h.cluster().node(static_cast<size_t>(replica_index)).Pause());
  std::this_thread::sleep_for(5s);
  for (int i = 0; i < 5; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(std::string v, c.CommandString("GET", key));
    EXPECT_EQ(v, "v2");
  }
  RS_ASSERT_OK(h.cluster().node(static_cast<size_t>(replica_index)).Resume());
}

}  // namespace
}  // namespace rs::test
