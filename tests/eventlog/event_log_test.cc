#include "eventlog/event_log.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "event_gen.h"
#include "eventlog/retention.h"
#include "eventlog/state_store.h"
#include "eventlog/verify.h"
#include "future_kind.h"
#include "raw_db.h"
#include "temp_dir.h"

namespace rs::eventlog {

using model::Apply;
using model::ControllerStarted;
using model::ControllerStopped;
namespace {

using testing::EventGen;
using testing::TempDir;

EventLogOptions Create() {
  EventLogOptions o;
  o.create_if_missing = true;
  return o;
}

EventLogOptions ReadOnly() {
  EventLogOptions o;
  o.mode = OpenMode::kReadOnly;
  return o;
}

std::unique_ptr<EventLog> MustOpen(const std::string& dir, const EventLogOptions& o) {
  auto log = EventLog::Open(dir, o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(log).value() : nullptr;
}

std::vector<DecodedEvent> ReadAll(const EventLog& log) {
  std::vector<DecodedEvent> out;
  Status s = log.Scan(1, UINT64_MAX, [&](const DecodedEvent& d) {
    out.push_back(d);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(EventLogTest, AppendAssignsConsecutiveSequencesThatSurviveReopen) {
  TempDir tmp;
  EventGen gen(1);
  std::vector<Event> written;
  {
    auto log = MustOpen(tmp.path(), Create());
    for (int i = 0; i < 50; ++i) {
      Event e = gen.Next();
      auto seq = log->Append(e, i % 2 ? Durability::kSync : Durability::kGroup);
      ASSERT_TRUE(seq.ok()) << seq.status().ToString();
      EXPECT_EQ(*seq, static_cast<Seq>(i + 1));
      written.push_back(e);
    }
    auto last = log->AppendBatch(gen.Take(30), Durability::kSync);
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(*last, 80u);
  }
  auto log = MustOpen(tmp.path(), ReadOnly());
  EXPECT_EQ(log->first_seq(), 1u);
  EXPECT_EQ(log->last_seq(), 80u);
  auto all = ReadAll(*log);
  ASSERT_EQ(all.size(), 80u);
  for (size_t i = 0; i < written.size(); ++i) {
    EXPECT_TRUE(all[i].event.payload == written[i].payload) << "event " << i + 1;
    EXPECT_EQ(all[i].event.time_ms, written[i].time_ms) << "a given time is kept";
  }
}

TEST(EventLogTest, AppendFillsTheTimeWhenZero) {
  TempDir tmp;
  auto log = MustOpen(tmp.path(), Create());
  Event e;
  e.payload = ControllerStarted{"v", "h"};
  ASSERT_TRUE(log->Append(e, Durability::kSync).ok());
  auto all = ReadAll(*log);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_GT(all[0].event.time_ms, 1'600'000'000'000);
}

TEST(EventLogTest, ReaderWaitsForTheNextEvent) {
  TempDir tmp;
  auto log = MustOpen(tmp.path(), Create());
  EXPECT_EQ(log->WaitForSeq(0, std::chrono::milliseconds(10)), 0u) << "times out when idle";
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Event e;
    e.payload = ControllerStopped{};
    ASSERT_TRUE(log->Append(e, Durability::kGroup).ok());
  });
  auto start = std::chrono::steady_clock::now();
  Seq seen = log->WaitForSeq(0, std::chrono::seconds(5));
  writer.join();
  EXPECT_EQ(seen, 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST(EventLogTest, ConcurrentAppendsGetUniqueContiguousSequences) {
  TempDir tmp;
  auto log = MustOpen(tmp.path(), Create());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      EventGen gen(100 + t);
      for (int i = 0; i < 100; ++i)
        ASSERT_TRUE(log->Append(gen.NextHealth(), Durability::kGroup).ok());
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(log->last_seq(), 400u);
  EXPECT_EQ(ReadAll(*log).size(), 400u);
}

TEST(EventLogTest, OpenRefusesAMissingDirectoryUnlessAskedToCreate) {
  TempDir tmp;
  auto log = EventLog::Open(tmp.Sub("nope"), EventLogOptions{});
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("no such directory"), std::string::npos)
      << log.status().message();
  EXPECT_FALSE(std::filesystem::exists(tmp.Sub("nope")));
}

TEST(EventLogTest, OpenRefusesADirectoryThatIsNotRocksDb) {
  TempDir tmp;
  std::ofstream(tmp.Sub("notes.txt")) << "hello";
  auto log = EventLog::Open(tmp.path(), Create());
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("not a RocksDB directory"), std::string::npos)
      << log.status().message();
}

TEST(EventLogTest, OpenRefusesARocksDbWithoutTheMarker) {
  TempDir tmp;
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, tmp.path(), &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "k", "v").ok());
    delete db;
  }
  auto log = EventLog::Open(tmp.path(), Create());
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("RocksDB database but not an event log"), std::string::npos)
      << log.status().message();
}

// Deletes `key` from column family `cf` behind the log's back.
void DeleteRaw(const std::string& dir, const char* cf, const std::string& key) {
  testing::RawDb raw(dir, /*read_only=*/false);
  ASSERT_TRUE(raw.ok());
  ASSERT_NE(raw.cf(cf), nullptr) << cf;
  ASSERT_TRUE(raw.db()->Delete(rocksdb::WriteOptions(), raw.cf(cf), key).ok());
}

// Deletes one event behind the log's back.
void DeleteEvent(const std::string& dir, Seq seq) { DeleteRaw(dir, "events", SeqKey(seq)); }

// Deletes the generation from `meta`, as a log created before generations existed has none.
void DeleteGeneration(const std::string& dir) {
  DeleteRaw(dir, "meta", std::string(kGenerationKey));
}

bool IsGeneration(const std::string& g) {
  return g.size() == 32 && g.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(EventLogTest, ANewLogHasItsOwnGenerationThatReopeningKeeps) {
  TempDir a, b;
  std::string gen_a;
  {
    auto log = MustOpen(a.path(), Create());
    gen_a = log->generation();
    EXPECT_TRUE(IsGeneration(gen_a)) << gen_a;
  }
  EXPECT_EQ(MustOpen(a.path(), Create())->generation(), gen_a);
  EXPECT_EQ(MustOpen(a.path(), ReadOnly())->generation(), gen_a);
  // The same directory emptied and created again (a lost data dir) is another history.
  std::filesystem::remove_all(a.path());
  std::string gen_a2 = MustOpen(a.path(), Create())->generation();
  EXPECT_TRUE(IsGeneration(gen_a2)) << gen_a2;
  EXPECT_NE(gen_a2, gen_a);
  EXPECT_NE(MustOpen(b.path(), Create())->generation(), gen_a);
}

TEST(EventLogTest, ALogWithoutAGenerationGetsOneFromItsFirstWriterAndKeepsIt) {
  TempDir tmp;
  EventGen gen(3);
  {
    auto log = MustOpen(tmp.path(), Create());
    ASSERT_TRUE(log->Append(gen.Next(), Durability::kSync).ok());
  }
  DeleteGeneration(tmp.path());
  EXPECT_EQ(MustOpen(tmp.path(), ReadOnly())->generation(), "");  // Readers never write.
  std::string first;
  {
    auto log = MustOpen(tmp.path(), Create());
    first = log->generation();
    EXPECT_TRUE(IsGeneration(first)) << first;
    EXPECT_EQ(log->last_seq(), 1u);
  }
  EXPECT_EQ(MustOpen(tmp.path(), Create())->generation(), first);
  EXPECT_EQ(MustOpen(tmp.path(), ReadOnly())->generation(), first);
}

TEST(EventLogTest, SyncDelayTestHookSlowsSyncedWritesOnly) {
  TempDir tmp;
  EventGen gen(4);
  ::setenv("RS_TEST_LOG_SYNC_DELAY_MS", "400", 1);
  auto log = MustOpen(tmp.path(), Create());
  ::unsetenv("RS_TEST_LOG_SYNC_DELAY_MS");  // Read once, at Open.
  ASSERT_NE(log, nullptr);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->Append(gen.Next(), Durability::kSync).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1200));
  // Without the variable a new log is not slowed (a bound far above a normal fsync).
  TempDir other;
  auto fast = MustOpen(other.path(), Create());
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(fast->Append(gen.Next(), Durability::kSync).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1200));
}

TEST(EventLogTest, AGapIsReportedWithItsSequence) {
  TempDir tmp;
  {
    auto log = MustOpen(tmp.path(), Create());
    ASSERT_TRUE(log->AppendBatch(EventGen(3).Take(20), Durability::kSync).ok());
  }
  DeleteEvent(tmp.path(), 7);
  auto log = MustOpen(tmp.path(), ReadOnly());
  Status s = log->Scan(1, UINT64_MAX, [](const DecodedEvent&) { return true; });
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("expected event 7"), std::string::npos) << s.message();
  VerifyReport r = Verify(*log);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors[0].find("events 7..7 are missing"), std::string::npos) << r.errors[0];
  auto store = StateStore::Open(tmp.path(), StateStoreOptions{ReadOnly(), 0});
  EXPECT_FALSE(store.ok()) << "start-up must not silently fold across a gap";
  EventLogOptions full = ReadOnly();
  full.check_every_record = true;
  auto checked = EventLog::Open(tmp.path(), full);
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.status().message().find("expected event 7"), std::string::npos)
      << checked.status().message();
}

TEST(EventLogTest, ACorruptedValueMakesVerifyNameTheSequence) {
  TempDir tmp;
  auto log = MustOpen(tmp.path(), Create());
  ASSERT_TRUE(log->AppendBatch(EventGen(4).Take(20), Durability::kSync).ok());
  ASSERT_TRUE(log->PutRaw(13, "\xff\xff\x01garbage-not-capnp").ok());
  VerifyReport r = Verify(*log);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors[0].rfind("event 13:", 0), 0u) << r.errors[0];
  EXPECT_EQ(r.records, 20u);
}

TEST(EventLogTest, OpenChecksTheLastRecord) {
  TempDir tmp;
  {
    auto log = MustOpen(tmp.path(), Create());
    ASSERT_TRUE(log->AppendBatch(EventGen(4).Take(5), Durability::kSync).ok());
    ASSERT_TRUE(log->PutRaw(5, "torn").ok());
  }
  auto log = EventLog::Open(tmp.path(), EventLogOptions{});
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("event 5"), std::string::npos) << log.status().message();
}

TEST(EventLogTest, UnknownKindsAreSkippedByTheFoldAndCountedByVerify) {
  TempDir tmp;
  auto log = MustOpen(tmp.path(), Create());
  ASSERT_TRUE(log->AppendBatch(EventGen(5).Take(10), Durability::kSync).ok());
  // Overwrite event 4 with a record carrying a union tag from the future.
  Event header;
  header.seq = 4;
  ASSERT_TRUE(log->PutRaw(4, testing::EncodeFutureKind(header, 999)).ok());
  VerifyReport r = Verify(*log);
  EXPECT_TRUE(r.ok()) << r.errors[0];
  EXPECT_EQ(r.unknown, 1u);
  auto state = StateAt(*log, 10);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->last_seq, 10u);
}

TEST(StateStoreTest, SnapshotPlusTailEqualsTheFullFoldOnDisk) {
  for (uint64_t seed : {21, 22, 23, 24}) {
    TempDir tmp;
    EventGen gen(seed);
    std::vector<Event> events = gen.Take(3000);
    StateStoreOptions o{Create(), 100 + seed * 37};
    o.log.keep_snapshots = 5;
    {
      auto store = StateStore::Open(tmp.path(), o);
      ASSERT_TRUE(store.ok());
      for (size_t i = 0; i < events.size();) {
        size_t n = std::min<size_t>(events.size() - i, 1 + (i * seed) % 50);
        std::vector<Event> batch(events.begin() + i, events.begin() + i + n);
        if (n == 1) {
          ASSERT_TRUE((*store)->Append(batch[0], Durability::kGroup).ok());
        } else {
          ASSERT_TRUE((*store)->AppendBatch(batch, Durability::kGroup).ok());
        }
        i += n;
      }
      // Drop without Close for half the seeds: start-up must not need the final snapshot.
      if (seed % 2 == 0) {
        ASSERT_TRUE((*store)->Close().ok());
      }
    }
    ClusterState full;
    for (const Event& e : events) full = Apply(std::move(full), e);
    auto log = MustOpen(tmp.path(), ReadOnly());
    EXPECT_GE(log->SnapshotSeqs().size(), 2u);
    EXPECT_LE(log->SnapshotSeqs().size(), 5u);
    auto with = StateAt(*log, UINT64_MAX, true);
    auto without = StateAt(*log, UINT64_MAX, false);
    ASSERT_TRUE(with.ok() && without.ok());
    EXPECT_TRUE(*with == full) << "seed " << seed;
    EXPECT_TRUE(*without == full) << "seed " << seed;
    for (Seq at : {Seq{1}, Seq{777}, Seq{2999}}) {
      ClusterState prefix;
      for (Seq i = 0; i < at; ++i) prefix = Apply(std::move(prefix), events[i]);
      auto s = StateAt(*log, at);
      ASSERT_TRUE(s.ok());
      EXPECT_TRUE(*s == prefix) << "seed " << seed << " at " << at;
    }
    VerifyReport r = Verify(*log);
    EXPECT_TRUE(r.ok()) << r.errors[0];
    EXPECT_EQ(r.snapshots_checked, r.snapshots);
  }
}

TEST(StateStoreTest, AForgedSnapshotIsCaughtByVerify) {
  TempDir tmp;
  std::vector<Event> events = EventGen(8).Take(500);
  {
    auto store = StateStore::Open(tmp.path(), StateStoreOptions{Create(), 100});
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->AppendBatch(events, Durability::kSync).ok());
    // Forge a snapshot that disagrees with the log.
    ClusterState wrong = (*store)->State();
    wrong.paused = !wrong.paused;
    ASSERT_TRUE((*store)->log().SaveSnapshot(wrong).ok());
  }
  auto log = MustOpen(tmp.path(), ReadOnly());
  VerifyReport r = Verify(*log);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors[0].find("snapshot at event 500 differs"), std::string::npos) << r.errors[0];
}

TEST(RetentionTest, CompactsOnlySupersededOldHealthAndKeepsSnapshotsEqualToTheFold) {
  TempDir tmp;
  std::vector<Event> events = EventGen(9).Take(2000);
  auto store = StateStore::Open(tmp.path(), StateStoreOptions{Create(), 500});
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->AppendBatch(events, Durability::kSync).ok());
  ASSERT_TRUE((*store)->Snapshot().ok());
  EventLog& log = (*store)->log();
  Seq oldest = log.SnapshotSeqs().front();
  int64_t cutoff = events[oldest / 2].time_ms;
  auto rep = CompactHealthHistory(log, cutoff);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_GT(rep->compacted, 0u);
  VerifyReport r = Verify(log);
  EXPECT_TRUE(r.ok()) << r.errors[0];
  EXPECT_EQ(r.compacted, rep->compacted);
  EXPECT_EQ(r.snapshots_checked, r.snapshots);
  // Everything but health/observation survives, and nothing newer than the cutoff is touched.
  for (const DecodedEvent& d : ReadAll(log)) {
    if (d.kind != RecordKind::kCompacted) continue;
    EXPECT_TRUE(d.tag == 1 || d.tag == 2) << "compacted a " << TagName(d.tag);
    EXPECT_LT(d.event.time_ms, cutoff);
    EXPECT_LE(d.event.seq, oldest);
  }
  auto at_end = StateAt(log, UINT64_MAX, false);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(*at_end == (*store)->State());
}

TEST(RetentionTest, KeepsEverythingUnlessAnAgeIsConfigured) {
  TempDir tmp;
  StateStoreOptions o{Create(), 100};
  auto store = StateStore::Open(tmp.path(), o);
  ASSERT_TRUE(store.ok());
  std::vector<Event> events = EventGen(12).Take(1000);
  ASSERT_TRUE((*store)->AppendBatch(events, Durability::kSync).ok());
  auto none = (*store)->CompactHistory(events.back().time_ms + 1'000'000'000);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->compacted, 0u);
  StateStoreOptions aged{EventLogOptions{}, 100, /*retain_health_ms=*/1};
  store->reset();
  auto again = StateStore::Open(tmp.path(), aged);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto some = (*again)->CompactHistory(events.back().time_ms + 1'000'000'000);
  ASSERT_TRUE(some.ok());
  EXPECT_GT(some->compacted, 0u);
  EXPECT_TRUE(Verify((*again)->log()).ok());
}

TEST(StateStoreTest, ASecondWriterIsRefusedAndLeavesTheLogAlone) {
  TempDir tmp;
  auto first = StateStore::Open(tmp.path(), StateStoreOptions{Create(), 10});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->AppendBatch(EventGen(13).Take(25), Durability::kSync).ok());
  std::vector<Seq> snapshots = (*first)->log().SnapshotSeqs();
  {
    auto second = StateStore::Open(tmp.path(), StateStoreOptions{EventLogOptions{}, 10});
    ASSERT_FALSE(second.ok()) << "RocksDB's lock keeps a second redis-ctl out";
    // Typed, so the controller need not read the message: Unavailable means "locked".
    EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << second.status().ToString();
  }
  EXPECT_EQ((*first)->log().SnapshotSeqs(), snapshots);
  ASSERT_TRUE((*first)->Append(EventGen(14).Next(), Durability::kSync).ok());
}

}  // namespace
}  // namespace rs::eventlog
