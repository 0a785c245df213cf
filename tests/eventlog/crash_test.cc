// A child appends synced events and is SIGKILLed at random moments; after every kill the log
// must hold every acknowledged event, contiguous from 1, each decodable, nothing torn.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "event_gen.h"
#include "eventlog/event_log.h"
#include "eventlog/verify.h"
#include "temp_dir.h"

namespace rs::eventlog {
namespace {

// Child: open the log, append synced events (single and batched) and report each acknowledged
// sequence on the pipe. Never returns.
[[noreturn]] void AppendUntilKilled(const std::string& dir, int fd, uint64_t seed) {
  EventLogOptions o;
  o.create_if_missing = true;
  auto log = EventLog::Open(dir, o);
  if (!log.ok()) {
    std::fprintf(stderr, "child: %s\n", log.status().ToString().c_str());
    _exit(2);
  }
  Seq ready = 0;  // Tells the parent the log is open, so most kills land among appends.
  if (write(fd, &ready, sizeof(ready)) != sizeof(ready)) _exit(4);
  testing::EventGen gen(seed);
  for (uint64_t i = 0;; ++i) {
    Seq acked = 0;
    if (i % 3 == 0) {
      auto r = (*log)->AppendBatch(gen.Take(1 + i % 7), Durability::kSync);
      if (!r.ok()) _exit(3);
      acked = *r;
    } else {
      auto r = (*log)->Append(gen.Next(), Durability::kSync);
      if (!r.ok()) _exit(3);
      acked = *r;
    }
    if (write(fd, &acked, sizeof(acked)) != sizeof(acked)) _exit(4);
  }
}

TEST(EventLogCrashTest, SigkillNeverLosesAnAcknowledgedEventOrTearsOne) {
  testing::TempDir tmp;
  std::mt19937_64 rng(20261124);
  const int kRounds = 50;
  Seq max_acked = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(25);
  int rounds = 0;
  for (; rounds < kRounds && std::chrono::steady_clock::now() < deadline; ++rounds) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      AppendUntilKilled(tmp.path(), fds[1], rng());
    }
    close(fds[1]);
    // Every fifth round kills at any moment (also while the log is being created or opened);
    // the others wait until the child has the log open and kill it among its appends.
    Seq v = 0;
    if (rounds % 5 != 0) {
      ASSERT_EQ(read(fds[0], &v, sizeof(v)), static_cast<ssize_t>(sizeof(v)));
    }
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution<int>(1'000, 40'000)(rng)));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited on its own with " << WEXITSTATUS(status);
    while (read(fds[0], &v, sizeof(v)) == sizeof(v)) max_acked = std::max(max_acked, v);
    close(fds[0]);

    EventLogOptions ro;
    ro.mode = OpenMode::kReadOnly;
    auto log = EventLog::Open(tmp.path(), ro);
    if (max_acked == 0 && !log.ok()) continue;  // Killed before the log was even created.
    ASSERT_TRUE(log.ok()) << "round " << rounds << ": " << log.status().ToString();
    ASSERT_GE((*log)->last_seq(), max_acked) << "round " << rounds << " lost acknowledged events";
    VerifyReport r = Verify(**log);
    ASSERT_TRUE(r.ok()) << "round " << rounds << ": " << r.errors[0];
    ASSERT_EQ(r.records, (*log)->last_seq());
    ASSERT_EQ(r.first, (*log)->last_seq() == 0 ? 0u : 1u);
  }
  EXPECT_GE(rounds, 20);
  EXPECT_GT(max_acked, 100u) << "the child barely ran; the test proves little";
  std::printf("crash rounds: %d, events acknowledged: %llu\n", rounds,
              static_cast<unsigned long long>(max_acked));
}

}  // namespace
}  // namespace rs::eventlog
