#include "support/local_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <set>

#include "support/subprocess.h"
#include "support/test_status.h"

namespace rs::test {
namespace {

bool PidGone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

LocalClusterOptions ThreeHostOptions() {
  LocalClusterOptions options;
  options.masters = 3;
  options.replicas_per_master = 1;
  options.hosts = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
  options.cluster_node_timeout_ms = 2000;
  return options;
}

TEST(LocalClusterTest, SixNodesFormAClusterAndAreAllStoppedAfterwards) {
  std::vector<pid_t> pids;
  std::filesystem::path dir;
  {
    LocalCluster cluster(ThreeHostOptions());
    RS_ASSERT_OK(cluster.Start());
    ASSERT_EQ(cluster.size(), 6u);
    pids = cluster.Pids();
    ASSERT_EQ(pids.size(), 6u);
    dir = cluster.node(0).dir().parent_path();

    std::set<std::string> hosts;
    int masters = 0;
    for (size_t i = 0; i < cluster.size(); ++i) {
      hosts.insert(cluster.node(i).host());
      RS_ASSERT_OK_AND_ASSIGN(auto client, cluster.node(i).Connect());
      RS_ASSERT_OK_AND_ASSIGN(auto info, client.CommandString("CLUSTER", "INFO"));
      EXPECT_EQ(InfoField(info, "cluster_state"), "ok") << cluster.node(i).address();
      EXPECT_EQ(InfoField(info, "cluster_size"), "3");
      RS_ASSERT_OK_AND_ASSIGN(Reply role, client.Command("ROLE"));
      ASSERT_FALSE(role.elements.empty()) << role.ToString();
      if (role.elements[0].str == "master") ++masters;
    }
    EXPECT_EQ(hosts.size(), 3u);
    EXPECT_EQ(masters, 3);

    // The owner found through CLUSTER SLOTS takes the write without a MOVED redirect.
    for (const char* key : {"alpha", "beta", "{user1000}.profile", "gamma"}) {
      RS_ASSERT_OK_AND_ASSIGN(auto owner, cluster.ConnectForKey(key));
      RS_ASSERT_OK_AND_ASSIGN(Reply set, owner.Command("SET", key, "v"));
      EXPECT_EQ(set.str, "OK") << key << ": " << set.ToString();
    }
  }
  for (pid_t pid : pids) EXPECT_TRUE(PidGone(pid)) << "redis-server pid " << pid << " survived";
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
  EXPECT_TRUE(LiveChildren().empty());
}

TEST(LocalClusterTest, KillNineAndRestartKeepsTheNodeId) {
  LocalCluster cluster(ThreeHostOptions());
  RS_ASSERT_OK(cluster.Start());
  LocalRedis& victim = cluster.node(4);
  RS_ASSERT_OK_AND_ASSIGN(std::string id, victim.NodeId());
  pid_t old_pid = victim.pid();

  RS_ASSERT_OK(victim.Kill());
  EXPECT_TRUE(PidGone(old_pid));
  EXPECT_EQ(cluster.Pids().size(), 5u);

  RS_ASSERT_OK(victim.Restart());
  RS_ASSERT_OK_AND_ASSIGN(std::string id_after, victim.NodeId());
  EXPECT_EQ(id_after, id);
  RS_ASSERT_OK(cluster.WaitForClusterOk(std::chrono::seconds(20)));
  RS_ASSERT_OK_AND_ASSIGN(auto client, victim.Connect());
  RS_ASSERT_OK_AND_ASSIGN(auto info, client.CommandString("CLUSTER", "INFO"));
  EXPECT_EQ(InfoField(info, "cluster_known_nodes"), "6");
}

TEST(LocalClusterTest, PasswordProtectedClusterForms) {
  LocalClusterOptions options;
  options.masters = 3;
  options.replicas_per_master = 0;
  options.password = "pw";
  options.cluster_node_timeout_ms = 2000;
  LocalCluster cluster(options);
  RS_ASSERT_OK(cluster.Start());
  EXPECT_EQ(cluster.size(), 3u);
}

}  // namespace
}  // namespace rs::test
