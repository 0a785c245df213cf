// A test binary that dies without running any destructor must not leave redis-server behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "support/local_redis.h"
#include "support/temp_dir.h"
#include "support/test_status.h"

namespace rs::test {
namespace {

// Gone, or a zombie waiting for a reaper that may never come in a container: dead either way.
bool ProcessDead(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string pid_field, comm, state;
  stat >> pid_field >> comm >> state;
  return state == "Z" || state == "X";
}

TEST(OrphanTest, RedisServerDiesWhenTheTestProcessIsKilled) {
  // The parent owns the data dir: the killed child cannot clean up after itself.
  RS_ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create("rs-orphan"));
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t test_process = fork();
  ASSERT_GE(test_process, 0);
  if (test_process == 0) {
    // Stands in for a test binary that crashes: start a server, then wait to be SIGKILLed.
    close(fds[0]);
    LocalRedisOptions options;
    options.cluster_enabled = false;
    options.dir = dir.path() / "node";
    auto* redis = new LocalRedis(options);  // Never destroyed: no destructor will save us.
    pid_t server = redis->Start().ok() ? redis->pid() : -1;
    (void)!write(fds[1], &server, sizeof(server));
    pause();
    _exit(0);
  }
  close(fds[1]);
  pid_t server = -1;
  ASSERT_EQ(read(fds[0], &server, sizeof(server)), static_cast<ssize_t>(sizeof(server)));
  close(fds[0]);
  ASSERT_GT(server, 0) << "the child could not start redis-server";
  EXPECT_FALSE(ProcessDead(server));

  kill(test_process, SIGKILL);
  waitpid(test_process, nullptr, 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!ProcessDead(server) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  bool dead = ProcessDead(server);
  EXPECT_TRUE(dead) << "redis-server " << server << " outlived its parent";
  if (!dead) kill(server, SIGKILL);  // Our own grandchild: clean up even when the test fails.
}

}  // namespace
}  // namespace rs::test
