// The store's writer contract: a slow fsync delays only the thread that waits for it. Health
// events (kGroup) appended meanwhile from another thread, and appends during a compaction, go on.
#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "event_gen.h"
#include "eventlog/state_store.h"
#include "eventlog/verify.h"
#include "temp_dir.h"

namespace rs::eventlog {
namespace {

using testing::EventGen;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kSlowSync{2000};
// A generous bound that still tells the two designs apart: behind the fsync, a health append
// would take the whole kSlowSync.
constexpr std::chrono::milliseconds kHealthBound = kSlowSync / 4;

StateStoreOptions SlowDisk(uint64_t snapshot_every = 0) {
  StateStoreOptions o;
  o.log.create_if_missing = true;
  o.log.test_sync_delay = kSlowSync;
  o.snapshot_every = snapshot_every;
  return o;
}

// Waits until `seq` is written (its fsync possibly still running). Asks the log, which takes no
// lock of the store's, so a store that held its lock across the fsync would not hide it here.
void WaitWritten(StateStore& store, model::Seq seq) {
  for (auto until = Clock::now() + std::chrono::seconds(10);
       store.log().last_seq() < seq && Clock::now() < until;) {
    store.log().WaitForSeq(store.log().last_seq(), std::chrono::milliseconds(50));
  }
  ASSERT_GE(store.log().last_seq(), seq);
}

// Appends `n` health events (kGroup) and returns how long the slowest one took.
Clock::duration AppendHealth(StateStore& store, EventGen& gen, int n) {
  Clock::duration slowest{};
  for (int i = 0; i < n; ++i) {
    model::Event e = gen.NextHealth();
    e.seq = 0;
    auto start = Clock::now();
    auto r = store.Append(std::move(e), Durability::kGroup);
    slowest = std::max(slowest, Clock::now() - start);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  }
  return slowest;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

TEST(StateStoreWriterTest, HealthEventsDoNotWaitForAnotherThreadsSlowFsync) {
  TempDir tmp;
  auto opened = StateStore::Open(tmp.path(), SlowDisk());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  StateStore& store = **opened;
  EventGen gen(21);

  model::Event intent = gen.Next();
  intent.seq = 0;
  auto synced = std::async(std::launch::async, [&] {
    auto start = Clock::now();
    auto r = store.Append(std::move(intent), Durability::kSync);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return Clock::now() - start;
  });
  WaitWritten(store, 1);  // Its fsync is now sleeping.
  Clock::duration slowest = AppendHealth(store, gen, 20);
  Clock::duration synced_took = synced.get();

  std::printf("slow fsync %.0f ms: synced append took %.0f ms, slowest health append %.1f ms\n",
              Ms(kSlowSync), Ms(synced_took), Ms(slowest));
  EXPECT_GE(synced_took, kSlowSync) << "the synced append waited for its own fsync";
  EXPECT_LT(slowest, kHealthBound) << "a health append waited behind the fsync";
  EXPECT_EQ(store.State().last_seq, 21u);
}

TEST(StateStoreWriterTest, ASyncedAppendReturnsOnlyAfterAnFsyncThatCoversIt) {
  TempDir tmp;
  auto opened = StateStore::Open(tmp.path(), SlowDisk());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  StateStore& store = **opened;
  EventGen gen(22);
  // Two threads: the second's write may land while the first's fsync runs, so it must wait for
  // a second fsync; both take at least one delay, neither returns early.
  auto append = [&](model::Event e) {
    return std::async(std::launch::async, [&store, e = std::move(e)]() mutable {
      auto start = Clock::now();
      e.seq = 0;
      auto r = store.Append(std::move(e), Durability::kSync);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      return Clock::now() - start;
    });
  };
  auto a = append(gen.Next());
  WaitWritten(store, 1);
  auto b = append(gen.Next());
  EXPECT_GE(a.get(), kSlowSync);
  EXPECT_GE(b.get(), kSlowSync);
}

TEST(StateStoreWriterTest, RecordingGoesOnWhileHistoryIsCompacted) {
  TempDir tmp;
  std::vector<model::Event> events = EventGen(23).Take(2000);
  {
    StateStoreOptions fast;
    fast.log.create_if_missing = true;
    fast.snapshot_every = 500;
    auto store = StateStore::Open(tmp.path(), fast);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (model::Event& e : events) e.seq = 0;
    ASSERT_TRUE((*store)->AppendBatch(events, Durability::kSync).ok());
  }
  StateStoreOptions slow = SlowDisk();
  slow.log.create_if_missing = false;
  slow.retain_health_ms = 1;
  auto opened = StateStore::Open(tmp.path(), slow);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  StateStore& store = **opened;

  // The compaction's rewrite is synced, so it sleeps kSlowSync; appends go on meanwhile.
  auto compaction = std::async(std::launch::async, [&] {
    auto start = Clock::now();
    auto r = store.CompactHistory(events.back().time_ms + 1'000'000'000);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) {
      EXPECT_GT(r->compacted, 0u);
    }
    return Clock::now() - start;
  });
  std::this_thread::sleep_for(kSlowSync / 4);  // The scan is short; the fsync is sleeping now.
  EventGen gen(24);
  Clock::duration slowest = AppendHealth(store, gen, 20);
  Clock::duration compaction_took = compaction.get();
  std::printf("compaction took %.0f ms; slowest health append meanwhile %.1f ms\n",
              Ms(compaction_took), Ms(slowest));
  EXPECT_GE(compaction_took, kSlowSync);
  EXPECT_LT(slowest, kHealthBound);
  EXPECT_EQ(store.State().last_seq, 2020u);
  EXPECT_TRUE(Verify(store.log()).ok());
}

TEST(StateStoreWriterTest, ThreadsAppendingAtOnceFoldEveryEventInSequenceOrder) {
  TempDir tmp;
  StateStoreOptions o;
  o.log.create_if_missing = true;
  o.snapshot_every = 50;  // Periodic snapshots written by whichever thread makes one due.
  auto opened = StateStore::Open(tmp.path(), o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  StateStore& store = **opened;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      EventGen gen(100 + t);
      for (int i = 0; i < 100; ++i) {
        model::Event e = gen.NextHealth();
        e.seq = 0;
        auto r = store.Append(std::move(e), i % 10 == 0 ? Durability::kSync : Durability::kGroup);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        if (r.ok()) {
          EXPECT_GE(store.State().last_seq, *r) << "returned before it was folded";
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store.State().last_seq, 400u);
  auto fold = StateAt(store.log(), UINT64_MAX, /*use_snapshots=*/false);
  ASSERT_TRUE(fold.ok()) << fold.status().ToString();
  EXPECT_TRUE(*fold == store.State()) << "the live state is the fold of the log in order";
  VerifyReport r = Verify(store.log());
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0]);
  EXPECT_GT(r.snapshots_checked, 0u);
}

}  // namespace
}  // namespace rs::eventlog
