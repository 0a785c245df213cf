// redis-svc backup, restore and export on real RocksDB logs, run as an operator runs them: a
// backup beside a writer, restores that refuse a live or non-empty data dir or a bad backup,
// and export's JSON lines.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "demo_history.h"
#include "eventlog/backup.h"
#include "eventlog/event_format.h"
#include "eventlog/verify.h"
#include "support/subprocess.h"
#include "temp_dir.h"

namespace rs::eventlog {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Lines;

struct SvcRun {
  int exit_code = -1;
  std::string out;  // stdout and stderr.
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto last = testing::WriteDemoDataDir(dir());
    ASSERT_TRUE(last.ok()) << last.status().ToString();
    last_ = *last;
    ASSERT_GT(last_, 30u);
  }
  std::string dir() const { return tmp_.Sub("data"); }
  std::string Sub(const std::string& name) const { return tmp_.Sub(name); }

  SvcRun Svc(std::vector<std::string> args) {
    args.insert(args.begin(), REDIS_SVC_BIN);
    const fs::path out = Sub(fmt::format("svc-{}.out", runs_++));
    auto rc = test::RunCommand(args, out, std::chrono::seconds(60));
    EXPECT_TRUE(rc.ok()) << rc.status().ToString();
    return SvcRun{rc.ok() ? *rc : -1, ReadFile(out)};
  }

  // A backup made with no writer running (the offline path).
  std::string MakeBackup(const std::string& name) {
    auto b = BackupDataDir(dir(), Sub(name));
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_FALSE(b.ok() && b->writer.has_value());
    return Sub(name);
  }

  testing::TempDir tmp_;
  model::Seq last_ = 0;
  int runs_ = 0;
};

TEST_F(BackupTest, BackupBesideAWriterIsVerifiedAndHoldsEveryEventTheWriterHad) {
  auto writer = EventLog::Open(dir(), EventLogOptions{});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  model::Event e;
  e.source = "operator:test";
  e.payload = model::AlertRaised{"lainlet", "backup", "written just before the backup", false};
  // Group commit: in the WAL, not yet fsynced nor flushed to an SST file.
  auto seq = (*writer)->Append(e, Durability::kGroup);
  ASSERT_TRUE(seq.ok());

  SvcRun r = Svc({"backup", "--data-dir", dir(), "--to", Sub("b1"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json j = json::parse(Lines(r.out).back(), nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["writer_pid"], getpid()) << r.out;  // Seen through the LOCK: a secondary copy.
  EXPECT_EQ(j["last_seq"], *seq);
  EXPECT_EQ(j["first_seq"], 1);
  EXPECT_EQ(j["generation"], (*writer)->generation());
  EXPECT_GT(j["size"].get<uint64_t>(), 0u);

  // From the writer's own handle (what POST /v1/backup does).
  auto own = CheckpointVerified(**writer, Sub("b2"));
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ(own->last, *seq);

  // A target that exists is refused, not merged into.
  r = Svc({"backup", "--data-dir", dir(), "--to", Sub("b1")});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("already exists"), std::string::npos) << r.out;

  for (const char* b : {"b1", "b2"}) {
    auto v = VerifyBackup(Sub(b));
    ASSERT_TRUE(v.ok()) << b << ": " << v.status().ToString();
    EXPECT_EQ(v->last, *seq) << b;
    auto copy = EventLog::Open(Sub(b), EventLogOptions{.mode = OpenMode::kReadOnly});
    ASSERT_TRUE(copy.ok());
    auto d = (*copy)->Read(*seq);
    ASSERT_TRUE(d.ok());
    EXPECT_NE(svc::Describe(*d).find("written just before the backup"), std::string::npos)
        << svc::Describe(*d);
  }
}

TEST_F(BackupTest, RestoreRefusesADataDirThatARunningWriterHolds) {
  const std::string backup = MakeBackup("b");
  auto writer = EventLog::Open(dir(), EventLogOptions{});
  ASSERT_TRUE(writer.ok());
  // Asking does not drop the lock (an fcntl query's close would): a second writer is still told.
  EXPECT_EQ(LockHolder(dir()), std::optional<pid_t>(getpid()));
  auto second = EventLog::Open(dir(), EventLogOptions{});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << second.status().ToString();
  for (bool force : {false, true}) {
    std::vector<std::string> args = {"restore", "--from", backup, "--data-dir", dir()};
    if (force) args.push_back("--force");
    SvcRun r = Svc(args);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.out.find("is in use: process " + std::to_string(getpid())), std::string::npos)
        << r.out;
  }
  const std::string generation = (*writer)->generation();
  writer->reset();
  EXPECT_EQ(LockHolder(dir()), std::nullopt);
  // Untouched: the same log, and nothing was moved aside.
  auto v = VerifyBackup(dir());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->last, last_);
  EXPECT_EQ(v->generation, generation);
  for (const auto& entry : fs::directory_iterator(tmp_.path())) {
    EXPECT_EQ(entry.path().filename().string().find("before-restore"), std::string::npos);
  }
}

TEST_F(BackupTest, RestoreRefusesANonEmptyDirUnlessForcedAndThenMovesItAside) {
  const std::string backup = MakeBackup("b");
  const std::string target = Sub("target");
  fs::create_directories(target);
  std::ofstream(target + "/notes.txt") << "an operator's file\n";

  SvcRun r = Svc({"restore", "--from", backup, "--data-dir", target});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("is not empty; --force moves it aside"), std::string::npos) << r.out;
  EXPECT_EQ(ReadFile(target + "/notes.txt"), "an operator's file\n");

  r = Svc({"restore", "--from", backup, "--data-dir", target, "--force", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json j = json::parse(Lines(r.out).back(), nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  ASSERT_TRUE(j["moved_aside"].is_string()) << r.out;
  EXPECT_EQ(ReadFile(j["moved_aside"].get<std::string>() + "/notes.txt"), "an operator's file\n");
  EXPECT_FALSE(fs::exists(target + "/notes.txt"));
  EXPECT_EQ(j["last_seq"], last_);

  // The restored log verifies, with the backup's events and a generation of its own.
  auto restored = VerifyBackup(target);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->last, last_);
  EXPECT_EQ(restored->generation, j["generation"]);
  EXPECT_NE(restored->generation, j["backup_generation"]);
  EXPECT_EQ(VerifyBackup(backup)->generation, j["backup_generation"]);  // Backup unchanged.

  // A data dir that does not exist yet (nor its parent) needs no --force.
  r = Svc({"restore", "--from", backup, "--data-dir", Sub("new/data")});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(VerifyBackup(Sub("new/data")).ok());
}

TEST_F(BackupTest, RestoreRefusesABackupThatFailsVerification) {
  const std::string backup = MakeBackup("b");
  {
    auto log = EventLog::Open(backup, EventLogOptions{});
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->PutRaw(30, std::string("\x10\x00\x00\x00\xff\xff", 6)).ok());
  }
  SvcRun r = Svc({"restore", "--from", backup, "--data-dir", Sub("target")});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("fails verification"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("event 30"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(Sub("target")));
}

TEST_F(BackupTest, ExportWritesOneJsonEventPerLine) {
  SvcRun r = Svc(
      {"export", "--data-dir", dir(), "--from", "10", "--to", "20", "--out", Sub("events.jsonl")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("11 events written"), std::string::npos) << r.out;
  auto lines = Lines(ReadFile(Sub("events.jsonl")));
  ASSERT_EQ(lines.size(), 11u);
  auto log = EventLog::Open(dir(), EventLogOptions{.mode = OpenMode::kReadOnly});
  ASSERT_TRUE(log.ok());
  for (size_t i = 0; i < lines.size(); ++i) {
    json j = json::parse(lines[i], nullptr, false);
    ASSERT_TRUE(j.is_object()) << lines[i];
    EXPECT_EQ(j["seq"], 10 + i);
    for (const char* key : {"time", "time_ms", "kind", "cause", "source", "data", "summary"}) {
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << lines[i];
    }
    // The admin API's event JSON, byte for byte.
    auto d = (*log)->Read(10 + i);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(lines[i], svc::EventToJson(*d).dump());
  }
  // To stdout, the whole log.
  r = Svc({"export", "--data-dir", dir()});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), last_);
  EXPECT_EQ(json::parse(lines.back())["seq"], last_);

  r = Svc({"export", "--data-dir", dir(), "--from", "20", "--to", "10"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--from 20 is after --to 10"), std::string::npos) << r.out;
}

TEST(BackupNamesTest, OnlyOnePathComponentAndPruningKeepsTheNewestDefaultNames) {
  EXPECT_TRUE(ValidBackupName("before-upgrade_2.1"));
  for (const char* bad : {"", ".", "..", ".hidden", "a/b", "../x", "a b"}) {
    EXPECT_FALSE(ValidBackupName(bad)) << bad;
  }
  EXPECT_FALSE(ValidBackupName(std::string(101, 'a')));
  EXPECT_EQ(DefaultBackupName(testing::kDemoStartMs), "eventlog-20261118T180000Z");

  testing::TempDir tmp;
  for (int64_t h : {0, 1, 2, 3}) {
    fs::create_directories(tmp.Sub(DefaultBackupName(testing::kDemoStartMs + h * 3'600'000)));
  }
  fs::create_directories(tmp.Sub("before-upgrade"));  // Named: never pruned.
  auto removed = PruneBackups(tmp.path(), 2);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed,
            (std::vector<std::string>{"eventlog-20261118T180000Z", "eventlog-20261118T190000Z"}));
  EXPECT_TRUE(fs::exists(tmp.Sub("eventlog-20261118T210000Z")));
  EXPECT_TRUE(fs::exists(tmp.Sub("before-upgrade")));
}

}  // namespace
}  // namespace rs::eventlog
