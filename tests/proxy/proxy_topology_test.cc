// Topology following: the controller's long-poll (served here by a tiny HTTP server built from the
// real cluster's CLUSTER SLOTS), the seeds fallback, the nodes lainlet lists (the fake lainlet),
// and ASK / MOVED during a live migration.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "common/address.h"
#include "common/slot.h"
#include "proxy_fixture.h"
#include "support/fake_lainlet.h"
#include "support/free_port.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"
#include "support/test_status.h"

namespace rs::test {
namespace {

using namespace std::chrono_literals;

// Serves GET /v1/topology?after=E&wait=S[&generation=G] like the controller: blocks until the
// epoch passes E or the wait ends, then answers 304 (or 200 with the same epoch when
// `same_epoch_on_timeout`). It answers at once when E is above its epoch or G is not its
// generation (a controller whose history restarted).
class FakeController {
 public:
  explicit FakeController(bool same_epoch_on_timeout) : same_epoch_(same_epoch_on_timeout) {
    server_.Get("/v1/topology", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      uint64_t after = req.has_param("after") ? std::stoull(req.get_param_value("after")) : 0;
      int wait = req.has_param("wait") ? std::stoi(req.get_param_value("wait")) : 0;
      std::string generation = req.has_param("generation") ? req.get_param_value("generation") : "";
      std::unique_lock<std::mutex> lock(mu_);
      asked_generation_ = generation;
      auto news = [&] { return epoch_ != after || generation != generation_; };
      cv_.wait_for(lock, std::chrono::seconds(wait), [&] { return news() || stop_; });
      if (!news() && !same_epoch_) {
        res.status = 304;
        return;
      }
      res.set_content(body_, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeController() { Stop(); }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Publishes the cluster's current CLUSTER SLOTS as the next epoch.
  Status Commit(ProxyHarness& h, const std::string& any_node) {
    uint64_t next;
    std::string generation;
    {
      std::lock_guard<std::mutex> lock(mu_);
      next = epoch_ + 1;
      generation = generation_;
    }
    return CommitAs(h, any_node, next, generation);
  }

  // The same as `epoch` of the history `generation` ("": none, as older controllers send).
  Status CommitAs(ProxyHarness& h, const std::string& any_node, uint64_t epoch,
                  const std::string& generation) {
    RS_ASSIGN_OR_RETURN(RedisClient c, h.ConnectNode(any_node));
    RS_ASSIGN_OR_RETURN(Reply slots, c.Command("CLUSTER", "SLOTS"));
    std::map<std::string, std::string> shards;  // master -> "[a, b], ..."
    for (const Reply& r : slots.elements) {
      std::string master =
          r.elements[2].elements[0].str + ":" + std::to_string(r.elements[2].elements[1].integer);
      std::string& s = shards[master];
      if (!s.empty()) s += ", ";
      s += "[" + std::to_string(r.elements[0].integer) + ", " +
           std::to_string(r.elements[1].integer) + "]";
    }
    std::lock_guard<std::mutex> lock(mu_);
    epoch_ = epoch;
    generation_ = generation;
    std::string body = "{\"epoch\": " + std::to_string(epoch_) + ", ";
    if (!generation.empty()) body += "\"generation\": \"" + generation + "\", ";
    body += "\"shards\": [";
    bool first = true;
    for (const auto& [master, ranges] : shards) {
      if (!first) body += ", ";
      first = false;
      body += "{\"master\": {\"address\": \"" + master + "\", \"id\": \"\"}, \"slots\": [" +
              ranges + "], \"replicas\": []}";
    }
    body_ = body + "]}";
    cv_.notify_all();
    return Status::Ok();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_; }
  // The generation the last request named ("" when none).
  std::string asked_generation() {
    std::lock_guard<std::mutex> lock(mu_);
    return asked_generation_;
  }

 private:
  bool same_epoch_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t epoch_ = 0;
  std::string generation_;
  std::string asked_generation_;
  bool stop_ = false;
  std::string body_;
  std::atomic<int> requests_{0};
};

bool WaitForEpoch(proxy::Proxy& p, uint64_t epoch) {
  for (int i = 0; i < 200; ++i) {
    if (auto t = p.latest_table(); t && t->epoch >= epoch) {
      std::this_thread::sleep_for(50ms);
      return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

std::string Field(RedisClient& c, const char* name) {
  auto info = c.Command("INFO");
  return info.ok() ? InfoField(info->str, name) : "";
}

class ProxyTopologyTest : public ::testing::TestWithParam<bool> {};

TEST_P(ProxyTopologyTest, FollowsTheControllersEpochsWithoutRedirects) {
  ProxyHarness h;
  FakeController controller(/*same_epoch_on_timeout=*/GetParam());
  proxy::ProxyConfig cfg;
  cfg.controller = controller.url();
  cfg.topology_wait_seconds = 1;
  // The proxy learns the cluster only from the controller (no seeds).
  RS_ASSERT_OK(h.StartCluster(3, 2000));
  RS_ASSERT_OK(controller.Commit(h, h.cluster().Addresses()[0]));
  RS_ASSERT_OK(h.StartProxy(cfg));
  ASSERT_TRUE(WaitForEpoch(h.proxy(), 1));
  EXPECT_EQ(h.proxy().latest_table()->source, "controller");

  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h.Connect());
  RS_ASSERT_OK(c.CommandString("SET", "foo", "bar"));
  // Move foo's slot to another master, commit epoch 2, and the proxy routes there directly.
  int slot = KeySlot("foo");
  RS_ASSERT_OK_AND_ASSIGN(std::string from, h.OwnerOf(slot));
  std::string to;
  for (const auto& a : h.proxy().latest_table()->masters) {
    if (a != from) to = a;
  }
  RS_ASSERT_OK(MigrateSlot(h, slot, from, to));
  RS_ASSERT_OK(controller.Commit(h, to));
  ASSERT_TRUE(WaitForEpoch(h.proxy(), 2));
  EXPECT_EQ(*h.proxy().latest_table()->OwnerOf(slot), to);
  std::string moved_before = Field(c, "proxy_redirects_moved");
  RS_ASSERT_OK_AND_ASSIGN(std::string v, c.CommandString("GET", "foo"));
  EXPECT_EQ(v, "bar");
  EXPECT_EQ(Field(c, "proxy_redirects_moved"), moved_before);
  EXPECT_EQ(Field(c, "topology_epoch"), "2");
  // The long-poll keeps polling across waits that end without a new epoch.
  int before = controller.requests();
  std::this_thread::sleep_for(2500ms);
  EXPECT_GE(controller.requests(), before + 1);
  EXPECT_EQ(h.proxy().latest_table()->epoch, 2u);
}

INSTANTIATE_TEST_SUITE_P(TimeoutReply, ProxyTopologyTest, ::testing::Values(false, true),
                         [](const auto& info) {
                           return info.param ? "SameEpoch200" : "NotModified304";
                         });

// A 3-master cluster and a fake controller (answering 304 when nothing changed) for the proxy to
// follow; each test commits its own topology and starts the proxy with `cfg_`.
class ProxyControllerHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.controller = controller_.url();
    cfg_.topology_wait_seconds = 1;
    RS_ASSERT_OK(h_.StartCluster(3, 2000));
  }
  ProxyHarness h_;
  FakeController controller_{/*same_epoch_on_timeout=*/false};
  proxy::ProxyConfig cfg_;
};

// The controller lost its data dir: its history restarts at a low epoch under a new generation,
// and the proxy follows it instead of waiting for the old epoch to come round again.
TEST_F(ProxyControllerHistoryTest, TakesALowerEpochOfANewGeneration) {
  const std::string a(32, 'a'), b = "0123456789abcdef0123456789abcdef";
  RS_ASSERT_OK(controller_.CommitAs(h_, h_.cluster().Addresses()[0], 8, a));
  RS_ASSERT_OK(h_.StartProxy(cfg_));
  ASSERT_TRUE(WaitForEpoch(h_.proxy(), 8));
  EXPECT_EQ(h_.proxy().latest_table()->generation, a);
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK(c.CommandString("SET", "foo", "bar"));
  const int slot = KeySlot("foo");
  RS_ASSERT_OK_AND_ASSIGN(std::string from, h_.OwnerOf(slot));
  std::string to;
  for (const auto& m : h_.proxy().latest_table()->masters) {
    if (m != from) to = m;
  }
  RS_ASSERT_OK(MigrateSlot(h_, slot, from, to));
  RS_ASSERT_OK(controller_.CommitAs(h_, to, 2, b));
  bool taken = false;
  for (int i = 0; i < 100 && !taken; ++i) {
    auto t = h_.proxy().latest_table();
    taken = t->generation == b && t->source == "controller";
    if (!taken) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(taken) << "still on epoch " << h_.proxy().latest_table()->epoch;
  EXPECT_EQ(h_.proxy().latest_table()->epoch, 2u);
  EXPECT_EQ(*h_.proxy().latest_table()->OwnerOf(slot), to);
  // Routed by the new table, not by a redirect.
  std::string moved_before = Field(c, "proxy_redirects_moved");
  RS_ASSERT_OK_AND_ASSIGN(std::string v, c.CommandString("GET", "foo"));
  EXPECT_EQ(v, "bar");
  EXPECT_EQ(Field(c, "proxy_redirects_moved"), moved_before);
  // And the long-poll goes on in the new history.
  bool asked = false;
  for (int i = 0; i < 60 && !asked; ++i) {
    asked = controller_.asked_generation() == b;
    if (!asked) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(asked) << controller_.asked_generation();
}

// A controller that says nothing new (304 for ever, as one that lost its history did to proxies
// with a higher epoch) does not keep the proxy routing to a dead master: a failed connection
// makes it ask the other nodes, which know the promoted replica.
TEST_F(ProxyControllerHistoryTest, ADeadMastersSlotsFollowItsPromotedReplicaWhileTheControllerIsSilent) {
  RS_ASSERT_OK(controller_.CommitAs(h_, h_.cluster().Addresses()[0], 1, std::string(32, 'c')));
  RS_ASSERT_OK(h_.StartProxy(cfg_));
  ASSERT_TRUE(WaitForEpoch(h_.proxy(), 1));
  RS_ASSERT_OK(h_.WaitForReplicasInSync(20s));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h_.Connect());
  RS_ASSERT_OK(c.CommandString("SET", "failover:key", "0"));
  RS_ASSERT_OK_AND_ASSIGN(std::string dead, h_.OwnerOf(KeySlot("failover:key")));
  // Its replica: the node whose ROLE names it as master.
  std::string replica;
  for (const std::string& a : h_.cluster().Addresses()) {
    RS_ASSERT_OK_AND_ASSIGN(RedisClient n, h_.ConnectNode(a));
    RS_ASSERT_OK_AND_ASSIGN(Reply role, n.Command("ROLE"));
    if (role.elements.size() >= 3 && role.elements[0].str == "slave" &&
        role.elements[1].str + ":" + std::to_string(role.elements[2].integer) == dead) {
      replica = a;
    }
  }
  ASSERT_FALSE(replica.empty()) << "no replica of " << dead;
  RS_ASSERT_OK(h_.cluster().node(static_cast<size_t>(h_.cluster().IndexOf(dead))).Kill());
  {
    RS_ASSERT_OK_AND_ASSIGN(RedisClient r, h_.ConnectNode(replica));
    RS_ASSERT_OK_AND_ASSIGN(Reply ok, r.Command("CLUSTER", "FAILOVER", "TAKEOVER"));
    ASSERT_EQ(ok.str, "OK") << ok.ToString();
  }
  const auto failover = std::chrono::steady_clock::now();
  std::string last;
  bool written = false;
  while (!written && std::chrono::steady_clock::now() - failover < 10s) {
    RS_ASSERT_OK_AND_ASSIGN(Reply r, c.Command("SET", "failover:key", "1"));
    written = !r.is_error();
    last = r.ToString();
    if (!written) std::this_thread::sleep_for(50ms);
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - failover);
  ASSERT_TRUE(written) << "last reply: " << last;
  // The target is 2 s after the failover; the bound leaves room for a loaded machine and
  // is far below "until the controller's next table" (never, here).
  EXPECT_LT(took, 5s);
  auto t = h_.proxy().latest_table();
  EXPECT_EQ(*t->OwnerOf(KeySlot("failover:key")), replica);
  EXPECT_EQ(t->epoch, 1u);  // still the controller's epoch: its next table wins
  RS_ASSERT_OK_AND_ASSIGN(std::string v, c.CommandString("GET", "failover:key"));
  EXPECT_EQ(v, "1");
  std::printf("slots writable %lld ms after the failover\n", static_cast<long long>(took.count()));

  // The old master comes back as a replica of the promoted one. This client wrote to it before
  // the kill; its WAIT no longer goes there (a replica refuses WAIT) but to the master now
  // serving the slot, which counts the returned node once it has synced.
  RS_ASSERT_OK(h_.cluster().node(static_cast<size_t>(h_.cluster().IndexOf(dead))).Start());
  bool replica_again = false;
  for (int i = 0; i < 200 && !replica_again; ++i) {
    auto n = h_.ConnectNode(dead);
    if (n.ok()) {
      auto role = n->Command("ROLE");
      replica_again = role.ok() && !role->elements.empty() && role->elements[0].str == "slave";
    }
    if (!replica_again) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(replica_again) << dead << " did not come back as a replica";
  RS_ASSERT_OK_AND_ASSIGN(Reply waited, c.Command("WAIT", "1", "3000"));
  EXPECT_EQ(waited.type, Reply::Type::kInteger) << waited.ToString();
}

TEST(ProxyTopologyFallbackTest, SeedsServeWhileTheControllerIsUnreachable) {
  ProxyHarness h;
  proxy::ProxyConfig cfg;
  cfg.controller = "http://127.0.0.1:1";  // nothing listens there
  cfg.connect_timeout_ms = 200;
  RS_ASSERT_OK(h.Start(3, 2000, cfg));
  EXPECT_EQ(h.proxy().latest_table()->source, "cluster-slots");
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h.Connect());
  RS_ASSERT_OK(c.CommandString("SET", "k", "v"));
  RS_ASSERT_OK_AND_ASSIGN(std::string v, c.CommandString("GET", "k"));
  EXPECT_EQ(v, "v");
}

// Accepts connections and never answers, like a node on a host that died: whoever asks it waits
// for the whole timeout. Counts the connections it got.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        listen(fd_, 64) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "silent listener: " << std::strerror(errno);
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        std::lock_guard<std::mutex> lock(mu_);
        accepted_.push_back(c);  // Kept open and never read: silence, not a refusal.
      }
    });
  }
  ~SilentListener() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (int c : accepted_) close(c);
    if (fd_ >= 0) close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  size_t connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return accepted_.size();
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<int> accepted_;
};

TEST(ProxyTopologyFallbackTest, ASilentSeedIsNotAskedFirstOnceAnotherNodeAnswered) {
  SilentListener silent;
  ProxyHarness h;
  RS_ASSERT_OK(h.StartCluster(3, 2000));
  proxy::ProxyConfig cfg;
  cfg.seeds = {silent.address()};
  for (const std::string& a : h.cluster().Addresses()) cfg.seeds.push_back(a);
  cfg.connect_timeout_ms = 300;
  cfg.refresh_interval_ms = 100;
  RS_ASSERT_OK(h.StartProxy(cfg));
  EXPECT_EQ(silent.connections(), 1u);  // The first refresh asked it first and waited it out.
  // About ten refreshes (one per 200 ms at most): each asks the node that answered first and
  // gets its table, so the silent seed costs nothing more.
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(silent.connections(), 1u);
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h.Connect());
  RS_ASSERT_OK(c.CommandString("SET", "k", "v"));
}

// A procwatcher body: `addresses` as pods of the proc "redis", plus the controller's pod (another
// proc, which the proxy must not take for a node) and a pod not inspected yet (no IP).
std::string Procwatcher(const std::vector<std::string>& addresses) {
  std::vector<std::string> pods;
  for (size_t i = 0; i < addresses.size(); ++i) {
    auto addr = Address::Parse(addresses[i]);
    pods.push_back(PodJson(i + 1, addr->host, addr->port, "redis"));
  }
  pods.push_back(PodJson(addresses.size() + 1, "", 6379, "redis"));
  return ProcwatcherBody({{PodJson(1, "127.0.0.1", 1, "redis-ctl")}, pods});
}

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

TEST(ProxyDiscoveryTest, FollowsTheNodesLainletLists) {
  FakeLainlet lainlet;
  lainlet.SetProcs("[]");  // lainlet right after its daily restart
  RS_ASSERT_OK(lainlet.Start());
  ProxyHarness h;
  RS_ASSERT_OK(h.StartCluster(3, 2000));
  proxy::ProxyConfig cfg;
  cfg.listen = "127.0.0.1:0";
  cfg.lainlet_host = "127.0.0.1";
  cfg.lainlet_port = lainlet.port();
  cfg.appname = "redis-service";
  proxy::Proxy proxy(cfg);  // no seeds, no controller: lainlet is all it has
  RS_ASSERT_OK(proxy.Start());
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, RedisClient::Connect("127.0.0.1", proxy.port(), 5s));
  ASSERT_TRUE(WaitFor([&] { return Field(c, "topology_discovery_snapshots") == "1"; }, 5s))
      << Field(c, "topology_discovery_snapshots");
  EXPECT_EQ(proxy.latest_table(), nullptr);
  auto early = c.CommandString("GET", "k");
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.status().ToString().find("no topology known yet"), std::string::npos)
      << early.status().ToString();
  EXPECT_EQ(Field(c, "topology_discovery"),
            "lainlet:http://127.0.0.1:" + std::to_string(lainlet.port()) +
                "/v2/procwatcher?appname=redis-service");

  // The pods appear: the change makes the proxy ask them at once, not at the 10 s refresh.
  std::vector<std::string> nodes = h.cluster().Addresses();
  lainlet.SetProcs(Procwatcher(nodes));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto t = proxy.latest_table();
        return t && t->AssignedSlots() == kSlotCount && t->masters.size() == 3;
      },
      3s));
  EXPECT_EQ(Field(c, "topology_discovered_nodes"), std::to_string(nodes.size()));
  std::this_thread::sleep_for(50ms);  // the workers install the table
  for (int i = 0; i < 200; ++i) {
    RS_ASSERT_OK(c.CommandString("SET", "d:" + std::to_string(i), std::to_string(i)));
  }
  RS_ASSERT_OK_AND_ASSIGN(std::string v, c.CommandString("GET", "d:150"));
  EXPECT_EQ(v, "150");

  // lainlet restarts and answers [] for a while: the nodes it listed before stay.
  lainlet.SetProcs("[]");
  ASSERT_TRUE(WaitFor([&] { return Field(c, "topology_discovery_snapshots") == "3"; }, 5s))
      << Field(c, "topology_discovery_snapshots");
  EXPECT_EQ(Field(c, "topology_discovered_nodes"), std::to_string(nodes.size()));

  // Only one node listed: that one is asked; the routing still covers every slot.
  lainlet.SetProcs(Procwatcher({nodes[4]}));
  ASSERT_TRUE(WaitFor([&] { return Field(c, "topology_discovered_nodes") == "1"; }, 5s));
  RS_ASSERT_OK_AND_ASSIGN(v, c.CommandString("GET", "d:7"));
  EXPECT_EQ(v, "7");
  proxy.Stop();
}

TEST(ProxyDiscoveryTest, RefusesAnIncompleteDiscoveryFlag) {
  RS_ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create("proxy-discovery-flags"));
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const Case cases[] = {
      {{"--discovery", "lainlet:127.0.0.1:1"}, "needs --appname"},
      {{"--discovery", "consul:127.0.0.1:8500", "--appname", "a"}, "expected lainlet"},
      {{"--discovery", "lainlet:https://127.0.0.1:9001", "--appname", "a"}, "lainlet address"},
      {{"--discovery", "lainlet:127.0.0.1", "--appname", "a"}, "lainlet address"},
  };
  for (const Case& tc : cases) {
    std::vector<std::string> argv = {"env", "-u", "LAIN_APPNAME", RS_PROXY_BINARY, "--listen",
                                     "127.0.0.1:0"};
    argv.insert(argv.end(), tc.args.begin(), tc.args.end());
    RS_ASSERT_OK_AND_ASSIGN(int code, RunCommand(argv, dir.path() / "out.log", 10s));
    std::string out = TailOfFile(dir.path() / "out.log", 5);
    EXPECT_EQ(code, 2) << tc.args[1] << ": " << out;
    EXPECT_NE(out.find(tc.error), std::string::npos) << tc.args[1] << ": " << out;
  }
}

TEST(ProxyRedirectTest, FollowsAskDuringAMigrationAndMovedAfterIt) {
  ProxyHarness h;
  RS_ASSERT_OK(h.Start(3, 2000));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h.Connect());
  const std::string tag = "{mig}";
  int slot = KeySlot("mig");
  for (int i = 0; i < 20; ++i) RS_ASSERT_OK(c.CommandString("SET", tag + std::to_string(i), "old"));
  RS_ASSERT_OK_AND_ASSIGN(std::string from, h.OwnerOf(slot));
  std::string to;
  for (const auto& a : h.proxy().latest_table()->masters) {
    if (a != from) to = a;
  }
  bool checked = false;
  RS_ASSERT_OK(MigrateSlot(h, slot, from, to, [&] {
    // MIGRATING on the source: existing keys are served there, new keys get ASK to the target.
    auto r = c.CommandString("SET", tag + "new", "fresh");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    auto g = c.CommandString("GET", tag + "new");
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(*g, "fresh");
    auto old = c.CommandString("GET", tag + "3");
    ASSERT_TRUE(old.ok());
    EXPECT_EQ(*old, "old");
    checked = true;
  }));
  EXPECT_TRUE(checked);
  EXPECT_NE(Field(c, "proxy_redirects_ask"), "0");
  // Now the target owns the slot: the first request is MOVED and patches the table.
  for (int i = 0; i < 20; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(std::string v, c.CommandString("GET", tag + std::to_string(i)));
    EXPECT_EQ(v, "old");
  }
  RS_ASSERT_OK_AND_ASSIGN(std::string fresh, c.CommandString("GET", tag + "new"));
  EXPECT_EQ(fresh, "fresh");
  EXPECT_NE(Field(c, "proxy_redirects_moved"), "0");
  EXPECT_EQ(Field(c, "proxy_errors"), "0");
}

TEST(ProxyBackendAuthTest, AuthenticatesToPasswordProtectedNodes) {
  ProxyHarness h;
  RS_ASSERT_OK(h.StartCluster(3, 2000, "nodepass"));
  proxy::ProxyConfig cfg;
  cfg.seeds = h.cluster().Addresses();
  cfg.backend_password = "nodepass";
  RS_ASSERT_OK(h.StartProxy(cfg));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h.Connect());
  RS_ASSERT_OK(c.CommandString("SET", "authed", "yes"));
  RS_ASSERT_OK_AND_ASSIGN(std::string v, c.CommandString("GET", "authed"));
  EXPECT_EQ(v, "yes");
  RS_ASSERT_OK_AND_ASSIGN(Reply m, c.Command("MGET", "authed", "other"));
  ASSERT_EQ(m.elements.size(), 2u) << m.ToString();
  EXPECT_EQ(m.elements[0].str, "yes");
  EXPECT_EQ(Field(c, "proxy_errors"), "0");
}

TEST(ProxyBackendAuthTest, PasswordsFromTheEnvironmentStayOutOfTheCommandLine) {
  ProxyHarness h;
  RS_ASSERT_OK(h.StartCluster(3, 2000, "nodepass"));
  RS_ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create("proxy-env-passwords"));
  RS_ASSERT_OK_AND_ASSIGN(uint16_t port, FindFreePort("127.0.0.1", false));
  RS_ASSERT_OK_AND_ASSIGN(
      pid_t pid, Spawn({"env", "REDIS_PASSWORD=nodepass", "REDIS_PROXY_PASSWORD=clientpass",
                        RS_PROXY_BINARY, "--listen", "127.0.0.1:" + std::to_string(port),
                        "--seeds", h.cluster().Addresses()[0], "--log-level", "warn"},
                       dir.path() / "proxy.log"));
  std::optional<RedisClient> client;
  for (int i = 0; i < 100 && !client; ++i) {
    auto r = RedisClient::Connect("127.0.0.1", port, 2s);
    if (r.ok()) {
      client.emplace(std::move(*r));
    } else {
      std::this_thread::sleep_for(50ms);
    }
  }
  ASSERT_TRUE(client) << TailOfFile(dir.path() / "proxy.log", 20);
  RedisClient& c = *client;
  auto refused = c.CommandString("GET", "k");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().ToString().find("NOAUTH"), std::string::npos)
      << refused.status().ToString();
  RS_ASSERT_OK(c.CommandString("AUTH", "clientpass"));
  // The nodes' password came from REDIS_PASSWORD: the write reaches a protected master.
  bool written = false;
  for (int i = 0; i < 100 && !written; ++i) {
    written = c.CommandString("SET", "env-authed", "yes").ok();
    if (!written) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(written) << TailOfFile(dir.path() / "proxy.log", 20);
  RS_ASSERT_OK_AND_ASSIGN(std::string v, c.CommandString("GET", "env-authed"));
  EXPECT_EQ(v, "yes");
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(cmdline.find("redis-proxy"), std::string::npos);
  EXPECT_EQ(cmdline.find("pass"), std::string::npos) << cmdline;
  RS_ASSERT_OK_AND_ASSIGN(int status, TerminateChild(pid, SIGTERM, 5s));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << TailOfFile(dir.path() / "proxy.log", 20);
}

TEST(ProxyMetricsTest, ServesPrometheusText) {
  ProxyHarness h;
  RS_ASSERT_OK(h.StartCluster(3, 2000));
  proxy::ProxyConfig cfg;
  cfg.seeds = h.cluster().Addresses();
  cfg.metrics_listen = "127.0.0.1:0";
  RS_ASSERT_OK(h.StartProxy(cfg));
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h.Connect());
  RS_ASSERT_OK(c.CommandString("SET", "m", "1"));
  RS_ASSERT_OK(c.CommandString("GET", "m"));
  ASSERT_GT(h.proxy().metrics_port(), 0);
  httplib::Client http("127.0.0.1", h.proxy().metrics_port());
  auto res = http.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("redis_proxy_connected_clients 1"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("redis_proxy_command_calls_total{command=\"get\"} 1"), std::string::npos)
      << res->body;
}

}  // namespace
}  // namespace rs::test
