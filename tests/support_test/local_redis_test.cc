#include "support/local_redis.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <set>

#include "support/free_port.h"
#include "support/subprocess.h"
#include "support/test_status.h"

namespace rs::test {
namespace {

// True once no process with this pid exists (it was killed and reaped).
bool PidGone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

TEST(FreePortTest, HandsOutDistinctPortsWithFreeBusPorts) {
  std::set<uint16_t> seen;
  for (int i = 0; i < 20; ++i) {
    RS_ASSERT_OK_AND_ASSIGN(uint16_t port, FindFreePort("127.0.0.1"));
    EXPECT_TRUE(seen.insert(port).second) << "port " << port << " handed out twice";
    EXPECT_LE(port + kClusterBusOffset, 65535);
    EXPECT_TRUE(PortIsFree("127.0.0.1", port));
    EXPECT_TRUE(PortIsFree("127.0.0.1", static_cast<uint16_t>(port + kClusterBusOffset)));
  }
  EXPECT_FALSE(FindFreePort("not-an-ip").ok());
}

// Without cluster mode a lone server serves every key; the cluster-mode tests come below.
LocalRedisOptions Standalone() {
  LocalRedisOptions options;
  options.cluster_enabled = false;
  return options;
}

TEST(LocalRedisTest, StartsAnswersAndStopsByPid) {
  LocalRedis redis(Standalone());
  RS_ASSERT_OK(redis.Start());
  pid_t pid = redis.pid();
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(redis.running());
  EXPECT_FALSE(PortIsFree(redis.host(), redis.port()));
  RS_ASSERT_OK_AND_ASSIGN(auto client, redis.Connect());
  RS_ASSERT_OK_AND_ASSIGN(auto set, client.CommandString("SET", "k", std::string("v\0w", 3)));
  EXPECT_EQ(set, "OK");
  RS_ASSERT_OK_AND_ASSIGN(auto get, client.CommandString("GET", "k"));
  EXPECT_EQ(get, std::string("v\0w", 3));
  RS_ASSERT_OK_AND_ASSIGN(auto enabled, client.CommandString("INFO", "cluster"));
  EXPECT_EQ(InfoField(enabled, "cluster_enabled"), "0");
  RS_ASSERT_OK_AND_ASSIGN(auto save, client.Command("CONFIG", "GET", "save"));
  ASSERT_EQ(save.elements.size(), 2u) << save.ToString();
  EXPECT_EQ(save.elements[1].str, "");

  RS_ASSERT_OK(redis.Stop());
  EXPECT_FALSE(redis.running());
  EXPECT_TRUE(PidGone(pid));
}

TEST(LocalRedisTest, StartsInClusterModeByDefault) {
  LocalRedis redis;
  RS_ASSERT_OK(redis.Start());
  RS_ASSERT_OK_AND_ASSIGN(auto client, redis.Connect());
  RS_ASSERT_OK_AND_ASSIGN(auto info, client.CommandString("CLUSTER", "INFO"));
  // A lone cluster node with no slots is not ok, and says so instead of serving keys.
  EXPECT_EQ(InfoField(info, "cluster_state"), "fail");
  RS_ASSERT_OK_AND_ASSIGN(Reply set, client.Command("SET", "k", "v"));
  EXPECT_EQ(set.str.rfind("CLUSTERDOWN", 0), 0u) << set.ToString();
}

TEST(LocalRedisTest, ErrorRepliesAreRepliesNotTransportFailures) {
  LocalRedis redis(Standalone());
  RS_ASSERT_OK(redis.Start());
  RS_ASSERT_OK_AND_ASSIGN(auto client, redis.Connect());
  RS_ASSERT_OK_AND_ASSIGN(Reply reply, client.Command("NOSUCHCOMMAND"));
  EXPECT_TRUE(reply.is_error());
  EXPECT_NE(reply.str.find("unknown command"), std::string::npos) << reply.str;
  EXPECT_FALSE(client.CommandString("NOSUCHCOMMAND").ok());
  RS_ASSERT_OK_AND_ASSIGN(Reply nil, client.Command("GET", "missing"));
  EXPECT_TRUE(nil.is_nil());
}

TEST(LocalRedisTest, RunsOnAnotherLoopbackAddress) {
  LocalRedisOptions options;
  options.host = "127.0.0.2";
  LocalRedis redis(options);
  RS_ASSERT_OK(redis.Start());
  EXPECT_EQ(redis.address(), "127.0.0.2:" + std::to_string(redis.port()));
  RS_ASSERT_OK_AND_ASSIGN(auto client, redis.Connect());
  RS_ASSERT_OK_AND_ASSIGN(std::string info, client.CommandString("INFO", "server"));
  const std::string run_id = InfoField(info, "run_id");
  ASSERT_FALSE(run_id.empty()) << info;
  // Bound to 127.0.0.2 only. The port was chosen free on 127.0.0.2, so another process (a test
  // running beside this one) may hold the same port on 127.0.0.1: a connection there is allowed,
  // but it must not reach this server.
  auto other = RedisClient::Connect("127.0.0.1", redis.port(), std::chrono::milliseconds(500));
  if (other.ok()) {
    auto other_info = other->CommandString("INFO", "server");
    if (other_info.ok()) {
      EXPECT_NE(InfoField(*other_info, "run_id"), run_id);
    }
  }
  RS_ASSERT_OK_AND_ASSIGN(auto bind, client.Command("CONFIG", "GET", "bind"));
  ASSERT_EQ(bind.elements.size(), 2u);
  EXPECT_EQ(bind.elements[1].str, "127.0.0.2");
}

TEST(LocalRedisTest, PasswordIsRequiredWhenSet) {
  LocalRedisOptions options;
  options.password = "s3cret";
  LocalRedis redis(options);
  RS_ASSERT_OK(redis.Start());
  RS_ASSERT_OK_AND_ASSIGN(auto anonymous, RedisClient::Connect(redis.host(), redis.port()));
  RS_ASSERT_OK_AND_ASSIGN(Reply denied, anonymous.Command("GET", "k"));
  EXPECT_TRUE(denied.is_error());
  EXPECT_EQ(denied.str.rfind("NOAUTH", 0), 0u) << denied.str;
  RS_ASSERT_OK_AND_ASSIGN(auto client, redis.Connect());
  EXPECT_TRUE(client.CommandString("PING").ok());
  RS_ASSERT_OK_AND_ASSIGN(auto masterauth, client.Command("CONFIG", "GET", "masterauth"));
  ASSERT_EQ(masterauth.elements.size(), 2u);
  EXPECT_EQ(masterauth.elements[1].str, "s3cret");
}

TEST(LocalRedisTest, AppliesClusterNodeTimeoutAndExtraConfig) {
  LocalRedisOptions options;
  options.cluster_node_timeout_ms = 1234;
  options.extra_config = {"maxmemory 12345678"};
  LocalRedis redis(options);
  RS_ASSERT_OK(redis.Start());
  RS_ASSERT_OK_AND_ASSIGN(auto client, redis.Connect());
  RS_ASSERT_OK_AND_ASSIGN(auto timeout, client.Command("CONFIG", "GET", "cluster-node-timeout"));
  ASSERT_EQ(timeout.elements.size(), 2u);
  EXPECT_EQ(timeout.elements[1].str, "1234");
  RS_ASSERT_OK_AND_ASSIGN(auto maxmemory, client.Command("CONFIG", "GET", "maxmemory"));
  ASSERT_EQ(maxmemory.elements.size(), 2u);
  EXPECT_EQ(maxmemory.elements[1].str, "12345678");
}

TEST(LocalRedisTest, PausedServerTimesOutAndAnswersAfterResume) {
  LocalRedis redis;
  RS_ASSERT_OK(redis.Start());
  RS_ASSERT_OK(redis.Pause());
  EXPECT_TRUE(redis.paused());
  EXPECT_TRUE(redis.running());
  {
    // The kernel still accepts the connection; the command is what hangs.
    auto client = redis.Connect(std::chrono::milliseconds(300));
    if (client.ok()) {
      EXPECT_FALSE(client->CommandString("PING").ok());
    }
  }
  RS_ASSERT_OK(redis.Resume());
  RS_ASSERT_OK_AND_ASSIGN(auto client, redis.Connect());
  RS_ASSERT_OK_AND_ASSIGN(auto pong, client.CommandString("PING"));
  EXPECT_EQ(pong, "PONG");
}

TEST(LocalRedisTest, StopEndsAPausedServer) {
  LocalRedis redis;
  RS_ASSERT_OK(redis.Start());
  pid_t pid = redis.pid();
  RS_ASSERT_OK(redis.Pause());
  RS_ASSERT_OK(redis.Stop(std::chrono::seconds(2)));
  EXPECT_TRUE(PidGone(pid));
}

TEST(LocalRedisTest, KillAndRestartKeepPortDirAndNodeId) {
  LocalRedis redis;
  RS_ASSERT_OK(redis.Start());
  RS_ASSERT_OK_AND_ASSIGN(std::string id, redis.NodeId());
  EXPECT_EQ(id.size(), 40u);
  pid_t old_pid = redis.pid();
  uint16_t port = redis.port();
  auto dir = redis.dir();

  RS_ASSERT_OK(redis.Kill());
  EXPECT_TRUE(PidGone(old_pid));
  EXPECT_FALSE(redis.Connect(std::chrono::milliseconds(300)).ok());

  RS_ASSERT_OK(redis.Restart());
  EXPECT_NE(redis.pid(), old_pid);
  EXPECT_EQ(redis.port(), port);
  EXPECT_EQ(redis.dir(), dir);
  RS_ASSERT_OK_AND_ASSIGN(std::string id_after, redis.NodeId());
  EXPECT_EQ(id_after, id);
}

TEST(LocalRedisTest, DestructorStopsServerAndRemovesTempDir) {
  pid_t pid = -1;
  std::filesystem::path dir;
  {
    LocalRedis redis;
    RS_ASSERT_OK(redis.Start());
    pid = redis.pid();
    dir = redis.dir();
    ASSERT_TRUE(std::filesystem::exists(dir / "redis.log"));
  }
  EXPECT_TRUE(PidGone(pid));
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_TRUE(LiveChildren().empty());
}

TEST(LocalRedisTest, StartFailureReportsTheLog) {
  LocalRedisOptions options;
  options.extra_config = {"no-such-directive yes"};
  LocalRedis redis(options);
  Status s = redis.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no-such-directive"), std::string::npos) << s.ToString();
  EXPECT_FALSE(redis.running());
}

}  // namespace
}  // namespace rs::test
