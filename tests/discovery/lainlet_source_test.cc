// The lainlet client and the file source on a real libuv loop, against FakeLainlet (the wire
// protocol of shared/lainlet-api.md) and real files.
#include "discovery/lainlet_source.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "discovery/file_source.h"
#include "discovery/membership.h"
#include "support/fake_lainlet.h"

namespace rs::discovery {
namespace {

using model::Member;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string Procs(std::initializer_list<int> instances) {
  std::string redis,
      other = R"({"proc":[{"InstanceNo":1,"IP":"172.20.0.99","Port":0,"ProcName":"redis-ctl"}]})";
  for (int i : instances) {
    if (!redis.empty()) redis += ",";
    redis += R"({"InstanceNo":)" + std::to_string(i) + R"(,"IP":"172.20.0.)" +
             std::to_string(10 + i) + R"(","Port":6379,"ProcName":"redis"})";
  }
  return "[" + other + R"(,{"proc":[)" + redis + "]}]";
}

std::vector<Member> Want(std::initializer_list<int> instances) {
  std::vector<Member> out;
  for (int i : instances) {
    std::string ip = "172.20.0." + std::to_string(10 + i);
    out.push_back(Member{static_cast<uint32_t>(i), ip + ":6379", ip});
  }
  return out;
}

class LainletSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    ASSERT_TRUE(fake_.Start().ok());
  }
  void TearDown() override {
    if (source_) source_->Stop();
    if (membership_) membership_->Stop();
    uv_run(&loop_, UV_RUN_DEFAULT);
    source_.reset();
    membership_.reset();
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    fake_.Stop();
  }

  LainletOptions Options() {
    LainletOptions o;
    o.host = "127.0.0.1";
    o.port = fake_.port();
    o.appname = "redis-service";
    o.heartbeat_s = 1;
    o.backoff_min_ms = 50;
    o.backoff_max_ms = 200;
    return o;
  }

  void StartSource(LainletOptions o) {
    source_ = std::make_unique<LainletSource>(
        &loop_, o,
        [this](std::vector<Member> s) {
          snapshots_.push_back(std::move(s));
          if (membership_) membership_->OnSnapshot(snapshots_.back());
        },
        [this](bool reachable, std::string reason) {
          reports_.push_back({reachable, std::move(reason), steady_clock::now()});
        });
    ASSERT_TRUE(source_->Start().ok());
  }

  template <typename Pred>
  bool RunUntil(Pred pred, milliseconds limit = milliseconds(5000)) {
    auto end = steady_clock::now() + limit;
    while (!pred()) {
      if (steady_clock::now() > end) return false;
      uv_run(&loop_, UV_RUN_NOWAIT);
      usleep(2000);
    }
    return true;
  }
  void RunFor(milliseconds d) {
    auto end = steady_clock::now() + d;
    while (steady_clock::now() < end) {
      uv_run(&loop_, UV_RUN_NOWAIT);
      usleep(2000);
    }
  }
  bool LastIs(const std::vector<Member>& want) {
    return !snapshots_.empty() && snapshots_.back() == want;
  }

  uv_loop_t loop_;
  test::FakeLainlet fake_;
  std::unique_ptr<LainletSource> source_;
  std::unique_ptr<Membership> membership_;
  std::vector<std::vector<Member>> snapshots_;
  std::vector<model::EventPayload> events_;
  struct Report {
    bool reachable;
    std::string reason;
    steady_clock::time_point at;
  };
  std::vector<Report> reports_;  // Reachability changes, in order.
};

TEST_F(LainletSourceTest, InitUpdateAndDeleteEachReplaceTheWholeSet) {
  fake_.SetProcs(Procs({1, 2}));
  StartSource(Options());
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1, 2})); }));
  fake_.SetProcs(Procs({1, 2, 3}));
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1, 2, 3})); }));
  fake_.DeleteProcs(Procs({2, 3}));
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({2, 3})); }));
  fake_.DeleteProcs("[]");
  ASSERT_TRUE(RunUntil([&] { return LastIs({}); }));
  auto lines = fake_.request_lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "GET /v2/procwatcher?appname=redis-service&watch=1&heartbeat=1 HTTP/1.1");
  EXPECT_EQ(source_->watch_attempts(), 1);
}

TEST_F(LainletSourceTest, HeartbeatsKeepAnIdleWatchAlive) {
  fake_.SetProcs(Procs({1}));
  LainletOptions o = Options();
  o.dead_after_ms = 1500;
  StartSource(o);
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1})); }));
  RunFor(milliseconds(3000));
  EXPECT_EQ(source_->watch_attempts(), 1);
  EXPECT_TRUE(source_->watching());
}

TEST_F(LainletSourceTest, StalledHeartbeatsMeanADeadWatchAndAReconnect) {
  fake_.SetProcs(Procs({1}));
  LainletOptions o = Options();
  o.dead_after_ms = 1500;
  StartSource(o);
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1})); }));
  fake_.StallHeartbeats(true);
  fake_.SetProcs(Procs({1, 2}));  // Never sent: the watch is hung.
  auto start = steady_clock::now();
  ASSERT_TRUE(RunUntil([&] { return source_->watch_attempts() >= 2; }));
  EXPECT_GE(steady_clock::now() - start, milliseconds(1000));
  fake_.StallHeartbeats(false);
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1, 2})); }));  // From the new init.
}

TEST_F(LainletSourceTest, ReconnectsAfterTheConnectionDrops) {
  fake_.SetProcs(Procs({1}));
  StartSource(Options());
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1})) && fake_.open_watches() == 1; }));
  fake_.DropConnections();
  fake_.SetProcsSilently(Procs({1, 4}));
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1, 4})); }));
  EXPECT_EQ(source_->watch_attempts(), 2);
}

TEST_F(LainletSourceTest, ReconnectsAfterAnErrorEvent) {
  fake_.SetProcs(Procs({1}));
  StartSource(Options());
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1})) && fake_.open_watches() == 1; }));
  fake_.SendError("500 unkown watcher");
  ASSERT_TRUE(RunUntil([&] { return source_->watch_attempts() >= 2 && source_->watching(); }));
  EXPECT_EQ(snapshots_.size(), 2u);  // The error carried no state; the new init did.
  EXPECT_EQ(snapshots_.back(), Want({1}));
}

TEST_F(LainletSourceTest, AuthorizeFailureKeepsRetryingWithBackoffUntilAllowed) {
  fake_.SetProcs(Procs({1}));
  fake_.RefuseWith("authorize failed, no permission");
  StartSource(Options());
  RunFor(milliseconds(1000));
  EXPECT_TRUE(snapshots_.empty());
  int attempts = source_->watch_attempts();
  EXPECT_GE(attempts, 3);
  EXPECT_LE(attempts, 15);  // Backoff: 25-50, 50-100, then 100-200 ms apart.
  fake_.ClearRefusal();
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1})); }));
}

TEST_F(LainletSourceTest, PeriodicGetCatchesADroppedEventAndRenewsTheWatch) {
  fake_.SetProcs(Procs({1, 2}));
  LainletOptions o = Options();
  o.resync_interval_ms = 300;
  StartSource(o);
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1, 2})); }));
  fake_.SetProcsSilently(Procs({1, 2, 3}));
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1, 2, 3})); }));
  ASSERT_TRUE(RunUntil([&] { return source_->watch_attempts() == 2 && source_->watching(); }));
  EXPECT_GE(fake_.get_requests(), 1);
}

TEST_F(LainletSourceTest, CoreinfoNodeNameBecomesTheMemberHost) {
  fake_.SetProcs(Procs({1, 2}));
  fake_.SetCoreinfo(
      R"({"redis-service.worker.redis":{"PodInfos":[{"Annotation":"{}","ContainerInfos":[)"
      R"({"ContainerIp":"172.20.0.11","NodeIp":"192.168.77.21","NodeName":"node1"}],)"
      R"("Dependencies":[],"InstanceNo":1}]}})");
  LainletOptions o = Options();
  o.coreinfo = true;
  StartSource(o);
  auto want = Want({1, 2});
  want[0].host = "node1";
  ASSERT_TRUE(RunUntil([&] { return LastIs(want); }));
}

TEST_F(LainletSourceTest, LainletRestartWithEmptyCachesCausesNoMembershipChange) {
  fake_.SetProcs(Procs({1, 2, 3}));
  membership_ = std::make_unique<Membership>(
      &loop_, DebounceOptions{}, "lainlet", [](std::string_view) { return true; },
      [this](model::EventPayload e) { events_.push_back(std::move(e)); });
  ASSERT_TRUE(membership_->Start(100).ok());
  StartSource(Options());
  ASSERT_TRUE(RunUntil([&] { return events_.size() == 1; }));
  EXPECT_EQ(std::get<model::MembershipChanged>(events_[0]).members, Want({1, 2, 3}));

  // The 05:10 cron restart: connection closed, caches empty at first, then the real list.
  fake_.Stop();
  fake_.SetProcsSilently("[]");
  RunFor(milliseconds(300));
  ASSERT_TRUE(fake_.Start().ok());
  ASSERT_TRUE(RunUntil([&] { return LastIs({}); }));
  fake_.SetProcs(Procs({1, 2, 3}));
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1, 2, 3})); }));
  RunFor(milliseconds(300));
  EXPECT_EQ(events_.size(), 1u) << "a lainlet restart must not change membership";
  EXPECT_GE(source_->watch_attempts(), 2);
}

TEST_F(LainletSourceTest, MalformedEventIsNeverAnEmptySnapshot) {
  fake_.SetProcs(Procs({1}));
  StartSource(Options());
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1})); }));
  fake_.SetProcs(R"([{"proc":{"not":"a list"}}])");
  ASSERT_TRUE(RunUntil([&] { return source_->watch_attempts() >= 3; }));
  EXPECT_EQ(snapshots_.size(), 1u);
  fake_.SetProcs(Procs({1, 2}));
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1, 2})); }));
}

TEST_F(LainletSourceTest, PeriodicGetRefusedWith400ChangesNothing) {
  fake_.SetProcs(Procs({1}));
  LainletOptions o = Options();
  o.resync_interval_ms = 100;
  StartSource(o);
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1})); }));
  fake_.RefuseWith("authorize failed, no permission");
  ASSERT_TRUE(RunUntil([&] { return fake_.get_requests() >= 2; }));
  RunFor(milliseconds(200));
  EXPECT_EQ(snapshots_.size(), 1u);
  EXPECT_EQ(source_->watch_attempts(), 1);
  EXPECT_TRUE(source_->watching());
}

TEST_F(LainletSourceTest, RefusedConnectionsAreUnreachableAfterTheThresholdAndReportedOnce) {
  fake_.SetProcs(Procs({1}));
  LainletOptions o = Options();
  o.unreachable_after_ms = 1500;
  StartSource(o);
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1})); }));
  fake_.Stop();  // Nothing listens: every reconnect is refused.
  auto stopped = steady_clock::now();
  ASSERT_TRUE(RunUntil([&] { return !reports_.empty(); }));
  EXPECT_GE(reports_[0].at - stopped, milliseconds(500));  // The last heartbeat was < 1 s ago.
  EXPECT_FALSE(reports_[0].reachable);
  EXPECT_NE(reports_[0].reason.find("connection refused"), std::string::npos) << reports_[0].reason;
  EXPECT_FALSE(source_->reachable());
  RunFor(milliseconds(2000));  // Still down, and still reconnecting: no second report.
  EXPECT_EQ(reports_.size(), 1u);
  EXPECT_GE(source_->watch_attempts(), 4);

  ASSERT_TRUE(fake_.Start().ok());  // The same port.
  ASSERT_TRUE(RunUntil([&] { return reports_.size() >= 2; }));
  EXPECT_TRUE(reports_[1].reachable);
  EXPECT_EQ(reports_[1].reason, "init on the watch");
  EXPECT_TRUE(source_->reachable());
  RunFor(milliseconds(2000));  // Healthy and idle: heartbeats keep it reachable.
  EXPECT_EQ(reports_.size(), 2u);
  EXPECT_EQ(snapshots_.size(), 2u) << "an outage never becomes a snapshot";
}

TEST_F(LainletSourceTest, AnswersOf500AreUnreachableUntilLainletAnswersAgain) {
  fake_.SetProcs(Procs({1}));
  LainletOptions o = Options();
  o.unreachable_after_ms = 1500;
  o.resync_interval_ms = 200;  // The GETs fail as well: they must not count as contact.
  StartSource(o);
  ASSERT_TRUE(RunUntil([&] { return LastIs(Want({1})); }));
  fake_.FailWith(500, "lainlet is restarting");
  ASSERT_TRUE(RunUntil([&] { return !reports_.empty(); }));
  EXPECT_FALSE(reports_[0].reachable);
  EXPECT_NE(reports_[0].reason.find("HTTP 500 lainlet is restarting"), std::string::npos)
      << reports_[0].reason;
  RunFor(milliseconds(2000));  // Longer than the threshold: still one report.
  EXPECT_EQ(reports_.size(), 1u);
  EXPECT_GE(fake_.get_requests(), 5);
  fake_.ClearFailure();
  ASSERT_TRUE(RunUntil([&] { return reports_.size() >= 2; }));
  EXPECT_TRUE(reports_[1].reachable);
  RunFor(milliseconds(500));
  EXPECT_EQ(reports_.size(), 2u);
}

TEST_F(LainletSourceTest, AnEmptyListIsContactNotAnOutage) {
  fake_.SetProcs("[]");
  LainletOptions o = Options();
  o.unreachable_after_ms = 1500;
  o.resync_interval_ms = 300;
  StartSource(o);
  ASSERT_TRUE(RunUntil([&] { return LastIs({}); }));
  // No heartbeats: only the periodic GETs' empty answers (and the inits of renewed watches,
  // every 3 s) are contact.
  fake_.StallHeartbeats(true);
  RunFor(milliseconds(4000));
  EXPECT_TRUE(reports_.empty()) << reports_[0].reason;
  EXPECT_TRUE(source_->reachable());
  EXPECT_GE(fake_.get_requests(), 8);
  // The same GETs refused: now there is no contact, and it shows.
  fake_.RefuseWith("authorize failed, no permission");
  ASSERT_TRUE(RunUntil([&] { return !reports_.empty(); }));
  EXPECT_FALSE(reports_[0].reachable);
  EXPECT_FALSE(reports_[0].reason.empty());
}

TEST_F(LainletSourceTest, AnOutageRecordedBeforeARestartEndsWithTheFirstContact) {
  fake_.SetProcs(Procs({1}));
  LainletOptions o = Options();
  o.reachable_at_start = false;
  StartSource(o);
  ASSERT_TRUE(RunUntil([&] { return !reports_.empty(); }));
  EXPECT_TRUE(reports_[0].reachable);
  RunFor(milliseconds(300));
  EXPECT_EQ(reports_.size(), 1u);
}

TEST_F(LainletSourceTest, HeartbeatsAreAskedForThreeTimesPerThreshold) {
  LainletOptions o = Options();
  o.heartbeat_s = 5;
  o.unreachable_after_ms = 6000;
  StartSource(o);
  EXPECT_EQ(source_->heartbeat_s(), 2);
  ASSERT_TRUE(RunUntil([&] { return !fake_.request_lines().empty(); }));
  EXPECT_NE(fake_.request_lines()[0].find("&heartbeat=2 "), std::string::npos)
      << fake_.request_lines()[0];
  o.unreachable_after_ms = 60'000;  // The default leaves lainlet's usual 5 s alone.
  EXPECT_EQ(LainletSource(&loop_, o, [](std::vector<Member>) {}).heartbeat_s(), 5);
}

class FileSourceTest : public LainletSourceTest {
 protected:
  void SetUp() override {
    LainletSourceTest::SetUp();
    char tmpl[] = "/tmp/rs-file-source-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ / "members.txt";
  }
  void TearDown() override {
    if (file_) file_->Stop();
    LainletSourceTest::TearDown();
    file_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Writes a new file and renames it over the old one, as many editors save.
  void Save(const std::string& text) {
    auto tmp = dir_ / "members.txt.new";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, path_);
  }

  std::filesystem::path dir_, path_;
  std::unique_ptr<FileSource> file_;
};

TEST_F(FileSourceTest, EditingTheFileAddsAndRemovesMembers) {
  Save("127.0.0.1:7000 hostA\n127.0.0.1:7001 hostB\n");
  file_ = std::make_unique<FileSource>(
      &loop_, path_.string(), [this](std::vector<Member> s) { snapshots_.push_back(std::move(s)); },
      100);
  ASSERT_TRUE(file_->Start().ok());
  ASSERT_EQ(snapshots_.size(), 1u);
  EXPECT_EQ(snapshots_[0],
            (std::vector<Member>{{1, "127.0.0.1:7000", "hostA"}, {2, "127.0.0.1:7001", "hostB"}}));
  usleep(10'000);  // A new mtime even on coarse timestamps.
  Save("127.0.0.1:7000 hostA\n127.0.0.1:7002\n");
  ASSERT_TRUE(RunUntil([&] { return snapshots_.size() == 2; }));
  EXPECT_EQ(snapshots_[1], (std::vector<Member>{{1, "127.0.0.1:7000", "hostA"},
                                                {2, "127.0.0.1:7002", "127.0.0.1"}}));
  // A broken edit or a missing file never becomes an (empty) snapshot.
  Save("127.0.0.1:7000\nnot-an-address\n");
  RunFor(milliseconds(400));
  std::filesystem::remove(path_);
  RunFor(milliseconds(400));
  EXPECT_EQ(snapshots_.size(), 2u);
  Save("127.0.0.1:7003\n");
  ASSERT_TRUE(RunUntil([&] { return snapshots_.size() == 3; }));
  EXPECT_EQ(snapshots_[2], (std::vector<Member>{{1, "127.0.0.1:7003", "127.0.0.1"}}));
}

TEST_F(FileSourceTest, InvalidFileAtStartupIsAnErrorNamingTheLine) {
  Save("127.0.0.1:7000\n127.0.0.1:70000\n");
  file_ = std::make_unique<FileSource>(
      &loop_, path_.string(), [](std::vector<Member>) {}, 100);
  Status s = file_->Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("line 2"), std::string::npos) << s.ToString();
  file_.reset();
}

TEST_F(FileSourceTest, InvalidFileAtStartWithAMembershipOnRecordIsReportedAndTolerated) {
  Save("127.0.0.1:7000\n127.0.0.1:70000\n");
  std::vector<std::pair<bool, std::string>> reports;
  FileStatusOptions status;
  status.on_status = [&](bool ok, std::string reason) { reports.emplace_back(ok, reason); };
  status.tolerate_invalid_at_start = true;
  file_ = std::make_unique<FileSource>(
      &loop_, path_.string(), [this](std::vector<Member> s) { snapshots_.push_back(std::move(s)); },
      100, status);
  Status s = file_->Start();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(snapshots_.empty());  // The recorded membership stays in force.
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_FALSE(reports[0].first);
  EXPECT_NE(reports[0].second.find("line 2"), std::string::npos) << reports[0].second;
  EXPECT_NE(reports[0].second.find("recorded in the event log"), std::string::npos)
      << reports[0].second;
  // Fixed: read, and reported usable once.
  usleep(10'000);
  Save("127.0.0.1:7000\n127.0.0.1:7001\n");
  ASSERT_TRUE(RunUntil([&] { return snapshots_.size() == 1 && reports.size() == 2; }));
  EXPECT_TRUE(reports[1].first);
  EXPECT_EQ(reports[1].second, "members file valid: 2 members");
  // Broken while running: the last list stays, reported once; back to the same good text: usable.
  usleep(10'000);
  Save("127.0.0.1:7000\nnot-an-address\n");
  ASSERT_TRUE(RunUntil([&] { return reports.size() == 3; }));
  EXPECT_FALSE(reports[2].first);
  EXPECT_NE(reports[2].second.find("line 2"), std::string::npos) << reports[2].second;
  usleep(10'000);
  Save("127.0.0.1:7000\n127.0.0.1:7001\n");
  ASSERT_TRUE(RunUntil([&] { return reports.size() == 4; }));
  EXPECT_TRUE(reports[3].first);
  RunFor(milliseconds(300));
  EXPECT_EQ(snapshots_.size(), 1u);  // The same text as before is no new snapshot.
  EXPECT_EQ(reports.size(), 4u);
}

}  // namespace
}  // namespace rs::discovery
