// redis-svc against real event logs on disk: the binary is run as an operator would run it.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>


#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "demo_history.h"
#include "eventlog/verify.h"
#include "future_kind.h"
#include "eventlog/svc_time.h"
#include "temp_dir.h"

namespace rs::eventlog {

using model::AlertRaised;
using model::DiscoveryStatusChanged;
using model::Event;
using model::Seq;
namespace {

using testing::Lines;

struct SvcRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs redis-svc with args; stdout is a pipe, so output is the plain (piped) form.
SvcRun RedisSvc(std::vector<std::string> args) {
  args.insert(args.begin(), REDIS_SVC_BIN);
  int out[2], err[2];
  EXPECT_EQ(pipe(out), 0);
  EXPECT_EQ(pipe(err), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  SvcRun r;
  auto drain = [](int fd, std::string& s) {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) s.append(buf, n);
    close(fd);
  };
  drain(out[0], r.out);
  drain(err[0], r.err);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class RedisSvcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto last = testing::WriteDemoDataDir(dir());
    ASSERT_TRUE(last.ok()) << last.status().ToString();
    last_ = *last;
  }
  std::string dir() const { return tmp_.Sub("data"); }
  testing::TempDir tmp_;
  Seq last_ = 0;
};

TEST(SvcTimeTest, ParsesSequencesRfc3339AndRelativeTimes) {
  auto p = svc::ParseLogPoint("1234", 0);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->is_seq);
  EXPECT_EQ(p->seq, 1234u);
  p = svc::ParseLogPoint("2026-11-18T18:00:00Z", 0);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->time_ms, testing::kDemoStartMs);
  p = svc::ParseLogPoint("2026-11-18T19:00:00.250+01:00", 0);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->time_ms, testing::kDemoStartMs + 250);
  p = svc::ParseLogPoint("-1h", 10'000'000);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->time_ms, 10'000'000 - 3'600'000);
  EXPECT_EQ(svc::ParseLogPoint("-30m", 0)->time_ms, -1'800'000);
  for (const char* bad : {"", "-1y", "yesterday", "2026-11-18", "2026-11-18T18:00:00"}) {
    EXPECT_FALSE(svc::ParseLogPoint(bad, 0).ok()) << bad;
  }
  EXPECT_EQ(svc::FormatTime(testing::kDemoStartMs + 5), "2026-11-18T18:00:00.005Z");
}

TEST_F(RedisSvcTest, VerifyPassesOnAHealthyLogWithExitZero) {
  SvcRun r = RedisSvc({"verify", "--data-dir", dir()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("3 snapshots, 3 equal to the fold"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("OK"), std::string::npos);
}

TEST_F(RedisSvcTest, VerifyNamesACorruptedSequenceWithExitOne) {
  {
    auto log = EventLog::Open(dir(), EventLogOptions{});
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->PutRaw(30, std::string("\x10\x00\x00\x00\xff\xff", 6)).ok());
  }
  SvcRun r = RedisSvc({"verify", "--data-dir", dir()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("error: event 30:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FAILED"), std::string::npos);
}

TEST_F(RedisSvcTest, ADirectoryThatIsNotALogIsRefusedWithAClearMessage) {
  SvcRun r = RedisSvc({"log", "--data-dir", tmp_.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is not an event log"), std::string::npos) << r.err;
  r = RedisSvc({"stats", "--data-dir", tmp_.Sub("missing")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no such directory"), std::string::npos) << r.err;
}

TEST_F(RedisSvcTest, LogFiltersByKindAndTimeAndPrintsJsonLines) {
  SvcRun r = RedisSvc({"log", "--data-dir", dir(), "--kind", "topology-committed"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[1].rfind("65\t", 0), 0u) << lines[1];

  r = RedisSvc({"log", "--data-dir", dir(), "--since", "2026-11-18T19:00:00Z", "--until", "53"});
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_NE(lines[0].find("-127.0.0.1:7003#4"), std::string::npos) << "membership as a difference";

  r = RedisSvc({"log", "--data-dir", dir(), "--json", "--node", "127.0.0.1:7006"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_FALSE(lines.empty());
  for (const std::string& l : lines) {
    auto j = nlohmann::json::parse(l);
    EXPECT_TRUE(j.contains("seq"));
    EXPECT_TRUE(j.contains("data"));
  }
  EXPECT_EQ(nlohmann::json::parse(lines.back())["kind"], "alert");
}

TEST_F(RedisSvcTest, ReplayShowsTheClusterAsItWasAtASequenceOrTime) {
  SvcRun r = RedisSvc({"replay", "--data-dir", dir(), "--at", "56", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["seq"], 56);
  EXPECT_EQ(j["topology"]["epoch"], 1);
  EXPECT_EQ(j["plan"]["id"], 2);
  EXPECT_EQ(j["plan"]["steps"][0]["status"], "running");
  EXPECT_EQ(j["plan"]["steps"][0]["slots_done"], "12288-14335");

  r = RedisSvc({"replay", "--data-dir", dir(), "--at", "2026-11-18T19:30:00Z", "--json"});
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["topology"]["epoch"], 2);
  EXPECT_TRUE(j["plan"].is_null());

  r = RedisSvc({"replay", "--data-dir", dir(), "--at", "56"});
  EXPECT_NE(r.out.find("127.0.0.1:7003\t12288-16383\t4096"), std::string::npos) << r.out;
}

TEST_F(RedisSvcTest, AuditOfASlotChainsTheTopologyChangeBackToLainlet) {
  SvcRun r = RedisSvc({"audit", "--data-dir", dir(), "--slot", "13000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string commit;
  for (const std::string& l : Lines(r.out)) {
    if (l.rfind("65\t", 0) == 0) commit = l;
  }
  ASSERT_FALSE(commit.empty()) << r.out;
  EXPECT_NE(commit.find("epoch 2"), std::string::npos);
  EXPECT_NE(commit.find("#53 plan-proposed: plan 2: drain 127.0.0.1:7003"), std::string::npos)
      << commit;
  EXPECT_NE(commit.find("#52 membership: 7 members from lainlet"), std::string::npos) << commit;
  EXPECT_NE(commit.find("-127.0.0.1:7003#4"), std::string::npos) << commit;
  EXPECT_EQ(r.out.find("plan 3"), std::string::npos) << "slot 13000 was not in plan 3";
}

TEST_F(RedisSvcTest, AuditOfANodeAndOfAPlan) {
  SvcRun r = RedisSvc({"audit", "--data-dir", dir(), "--node", "127.0.0.1:7003", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> kinds;
  for (const std::string& l : Lines(r.out)) kinds.push_back(nlohmann::json::parse(l)["kind"]);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "membership"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "node-health"), kinds.end());
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "topology-committed"), 2) << "epochs 1 and 2";

  r = RedisSvc({"audit", "--data-dir", dir(), "--plan", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_NE(lines[0].find("alice asks migrate slots 100-199"), std::string::npos) << lines[0];
  EXPECT_NE(r.out.find("epoch 3"), std::string::npos);
  EXPECT_NE(r.out.find("plan 3 completed"), std::string::npos);

  r = RedisSvc({"audit", "--data-dir", dir()});
  EXPECT_NE(r.exit_code, 0) << "audit needs a subject";
}

TEST_F(RedisSvcTest, StatsCountsEveryKind) {
  SvcRun r = RedisSvc({"stats", "--data-dir", dir(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["records"], last_);
  EXPECT_EQ(j["by_kind"]["topology-committed"], 3);
  EXPECT_EQ(j["snapshots"], 3);
  EXPECT_GT(j["size_on_disk"].get<uint64_t>(), 0u);
}

TEST_F(RedisSvcTest, ReadsAndFollowsWhileTheWriterHasTheLogOpen) {
  StateStoreOptions o;
  auto writer = StateStore::Open(dir(), o);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  SvcRun r = RedisSvc({"verify", "--data-dir", dir()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

  // `log --follow` in the background, reading its stdout until the new event shows up.
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    std::string since = std::to_string(last_);
    execl(REDIS_SVC_BIN, REDIS_SVC_BIN, "log", "--data-dir", dir().c_str(), "--since",
          since.c_str(), "--follow", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  Event e;
  e.source = "operator:test";
  e.payload = AlertRaised{"lainlet", "followed", "appended while redis-svc follows", false};
  auto seq = (*writer)->Append(e, Durability::kSync);
  ASSERT_TRUE(seq.ok());
  std::string seen;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (seen.find("appended while redis-svc follows") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    char buf[4096];
    ssize_t n = read(out[0], buf, sizeof(buf));
    if (n > 0)
      seen.append(buf, n);
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  close(out[0]);
  EXPECT_NE(seen.find("appended while redis-svc follows"), std::string::npos) << seen;
  EXPECT_NE(seen.find(std::to_string(*seq) + "\t"), std::string::npos) << seen;
}

TEST_F(RedisSvcTest, AnEventOfAFutureKindIsShownAndSkippedNotFatal) {
  {
    auto log = EventLog::Open(dir(), EventLogOptions{});
    ASSERT_TRUE(log.ok());
    Event header;
    header.seq = last_ + 1;  // As a newer redis-ctl would append it.
    header.time_ms = testing::kDemoStartMs;
    header.source = "controller-v2";
    ASSERT_TRUE((*log)->PutRaw(last_ + 1, testing::EncodeFutureKind(header, 77)).ok());
  }
  SvcRun r = RedisSvc({"verify", "--data-dir", dir()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("1 of unknown kinds"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(std::to_string(last_ + 1) + " records"), std::string::npos) << r.out;
  r = RedisSvc({"log", "--data-dir", dir(), "--since", std::to_string(last_ + 1)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("unknown-77"), std::string::npos) << r.out;
  r = RedisSvc({"replay", "--data-dir", dir(), "--at", std::to_string(last_ + 1), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["seq"], last_ + 1);
}

TEST_F(RedisSvcTest, DiscoveryStatusIsFilteredByKindDescribedAndReplayed) {
  const std::string src = "lainlet:http://127.0.0.1:9001/v2/procwatcher?appname=redis-service";
  {
    auto store = StateStore::Open(dir(), StateStoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (bool reachable : {false, true}) {
      Event e;
      e.time_ms = testing::kDemoStartMs + 8'000'000 + (reachable ? 90'000 : 0);
      e.source = "discovery";
      e.payload = DiscoveryStatusChanged{
          src, reachable,
          reachable ? "init on the watch" : "connect 127.0.0.1:9001: connection refused"};
      ASSERT_TRUE((*store)->Append(e, Durability::kSync).ok());
    }
    ASSERT_TRUE((*store)->Close().ok());
  }
  SvcRun r = RedisSvc({"log", "--data-dir", dir(), "--kind", "discovery-status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_NE(lines[0].find("\tdiscovery-status\tdiscovery\t"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(src + " UNREACHABLE: connect 127.0.0.1:9001: connection refused"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find(src + " reachable: init on the watch"), std::string::npos) << lines[1];

  r = RedisSvc({"replay", "--data-dir", dir(), "--at", std::to_string(last_ + 1)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("discovery UNREACHABLE since 2026-11-18T20:13:20.000Z: connect "
                       "127.0.0.1:9001: connection refused"),
            std::string::npos)
      << r.out;
  r = RedisSvc({"replay", "--data-dir", dir(), "--at", std::to_string(last_ + 2), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["discovery"]["reachable"], true);
  EXPECT_EQ(j["discovery"]["reason"], "init on the watch");
  r = RedisSvc({"stats", "--data-dir", dir(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["by_kind"]["discovery-status"], 2);
  r = RedisSvc({"verify", "--data-dir", dir()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(RedisSvcCliTest, HelpAndVersionWork) {
  SvcRun r = RedisSvc({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("0.1.0"), std::string::npos) << r.out;
  r = RedisSvc({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* cmd : {"log", "replay", "audit", "verify", "stats"}) {
    EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
  }
}

}  // namespace
}  // namespace rs::eventlog
