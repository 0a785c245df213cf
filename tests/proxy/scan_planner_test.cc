#include "proxy/scan_planner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_scan_cluster.h"

namespace rs::proxy {
namespace {

using testing::AllSlots;
using testing::FakeScanCluster;
using testing::FakeScanProxy;
using testing::Missing;
using testing::RunScan;
using testing::ScanHooks;
using testing::ScanRun;

const std::string kA = "127.0.0.1:7001";
const std::string kB = "127.0.0.1:7002";
const std::string kC = "127.0.0.1:7003";
const std::string kFirst = "127.0.0.1:7000";  // sorts before every other master
const std::string kLast = "127.0.0.1:7009";   // sorts after every other master

// A serves 0-5460, B 5461-10922, C 10923-16383; the proxy knows it.
struct ThreeMasters {
  ThreeMasters() {
    cluster.Assign(0, 5460, kA);
    cluster.Assign(5461, 10922, kB);
    cluster.Assign(10923, 16383, kC);
    proxy.Publish(cluster);
  }
  FakeScanCluster cluster;
  FakeScanProxy proxy;
};

// The masters the steps asked, each run of steps on one master once.
std::vector<std::string> Visits(const ScanRun& run) {
  std::vector<std::string> visits;
  for (const ScanStep& s : run.steps) {
    if (!s.done && (visits.empty() || visits.back() != s.address || s.node_cursor == 0)) {
      visits.push_back(s.address);
    }
  }
  return visits;
}

bool Restarted(const ScanRun& run) {
  for (const ScanStep& s : run.steps) {
    if (s.reason == ScanReason::kRestarted) return true;
  }
  return false;
}

// Hooks that run `act` once, between two client calls, when the next step is mid-way through
// `master`'s SCAN; `act` gets that step and `*happened` says it ran.
ScanHooks OnceMidScanOn(FakeScanProxy& proxy, const std::string& master, bool* happened,
                        std::function<void(const ScanStep&)> act) {
  ScanHooks hooks;
  hooks.between = [&proxy, master, happened, act](int, uint64_t cursor) {
    if (*happened) return;
    Result<ScanStep> at = PlanScan(cursor, proxy.log, proxy.registry);
    if (!at.ok() || at->address != master || at->node_cursor == 0) return;
    act(*at);
    *happened = true;
  };
  return hooks;
}

TEST(ScanPlannerTest, ScanOrderIsTheServingMastersByAddress) {
  RoutingTable t;
  t.AddMaster(kC);
  t.AddMaster(kA);
  t.AddMaster(kB);  // serves nothing
  t.owner[0] = 0;
  t.owner[1] = 1;
  EXPECT_EQ(ScanOrder(t), (std::vector<std::string_view>{kA, kC}));
}

TEST(ScanPlannerTest, FullScanVisitsEachMasterOnceAndReturnsEveryKeyOnce) {
  ThreeMasters m;
  ScanRun run = RunScan(m.cluster, m.proxy);
  ASSERT_TRUE(run.ended);
  EXPECT_EQ(Visits(run), (std::vector<std::string>{kA, kB, kC}));
  EXPECT_EQ(run.steps.size(), 3u * m.cluster.pages());
  EXPECT_EQ(run.steps.front().reason, ScanReason::kNewScan);
  EXPECT_EQ(run.steps.front().node_cursor, 0u);
  EXPECT_TRUE(Missing(run, AllSlots()).empty());
  EXPECT_EQ(run.keys.size(), static_cast<size_t>(kSlotCount));  // no duplicates
  // Only the last cursor is 0, even where a master's own SCAN ended with 0.
  for (size_t i = 0; i + 1 < run.cursors.size(); ++i) EXPECT_NE(run.cursors[i], 0u) << i;
  EXPECT_EQ(run.cursors.back(), 0u);
}

TEST(ScanPlannerTest, CursorOfAMastersLastPageNamesTheNextMasterAtZero) {
  ThreeMasters m;
  ScanRun run = RunScan(m.cluster, m.proxy);
  ASSERT_TRUE(run.ended);
  size_t last_a = m.cluster.pages() - 1;
  ScanCursor c = ScanCursor::Decode(run.cursors[last_a]);
  EXPECT_EQ(m.proxy.registry.Lookup(c.address_id), kB);
  EXPECT_EQ(c.node_cursor, 0u);
  EXPECT_EQ(run.steps[last_a + 1].reason, ScanReason::kContinue);
}

TEST(ScanPlannerTest, MasterAddedBeforeTheCurrentOneIsScanned) {
  ThreeMasters m;
  bool moved = false;
  ScanHooks hooks = OnceMidScanOn(m.proxy, kB, &moved, [&](const ScanStep&) {
    // From C, not scanned yet, to a new master that sorts first.
    for (int s = 12000; s < 12100; ++s) m.cluster.Move(s, kFirst);
    m.proxy.Publish(m.cluster);
  });
  ScanRun run = RunScan(m.cluster, m.proxy, hooks);
  ASSERT_TRUE(run.ended && moved);
  EXPECT_TRUE(Missing(run, AllSlots()).empty()) << Missing(run, AllSlots()).size();
  EXPECT_EQ(Visits(run), (std::vector<std::string>{kA, kB, kFirst, kA, kB, kC}));
}

TEST(ScanPlannerTest, MasterAddedAfterTheCurrentOneIsScannedWithoutRestart) {
  ThreeMasters m;
  bool moved = false;
  ScanHooks hooks = OnceMidScanOn(m.proxy, kB, &moved, [&](const ScanStep&) {
    // From the current master (slots its SCAN passed and not) and from one not scanned yet.
    for (int s = 5461; s < 10922; s += 3) m.cluster.Move(s, kLast);
    for (int s = 10923; s < 16383; s += 3) m.cluster.Move(s, kLast);
    m.proxy.Publish(m.cluster);
  });
  ScanRun run = RunScan(m.cluster, m.proxy, hooks);
  ASSERT_TRUE(run.ended && moved);
  EXPECT_TRUE(Missing(run, AllSlots()).empty());
  EXPECT_FALSE(Restarted(run));
  EXPECT_EQ(Visits(run), (std::vector<std::string>{kA, kB, kC, kLast}));
}

TEST(ScanPlannerTest, RemovedCurrentMasterContinuesWithTheNextAddress) {
  ThreeMasters m;
  bool moved = false;
  ScanHooks hooks = OnceMidScanOn(m.proxy, kB, &moved, [&](const ScanStep&) {
    for (int s = 5461; s <= 10922; ++s) m.cluster.Move(s, kC);  // B drained into C
    m.proxy.Publish(m.cluster);
  });
  ScanRun run = RunScan(m.cluster, m.proxy, hooks);
  ASSERT_TRUE(run.ended && moved);
  EXPECT_TRUE(Missing(run, AllSlots()).empty());
  EXPECT_FALSE(Restarted(run));
  bool gone = false;
  for (const ScanStep& s : run.steps) gone |= s.reason == ScanReason::kMasterGone;
  EXPECT_TRUE(gone);
  EXPECT_EQ(Visits(run), (std::vector<std::string>{kA, kB, kC}));
}

TEST(ScanPlannerTest, RemovedCurrentMasterWhoseSlotsWentBackRestartsThere) {
  ThreeMasters m;
  bool moved = false;
  ScanHooks hooks = OnceMidScanOn(m.proxy, kB, &moved, [&](const ScanStep&) {
    for (int s = 5461; s <= 10922; ++s) m.cluster.Move(s, s % 2 ? kA : kC);
    m.proxy.Publish(m.cluster);
  });
  ScanRun run = RunScan(m.cluster, m.proxy, hooks);
  ASSERT_TRUE(run.ended && moved);
  EXPECT_TRUE(Missing(run, AllSlots()).empty());
  EXPECT_EQ(Visits(run), (std::vector<std::string>{kA, kB, kA, kC}));
}

TEST(ScanPlannerTest, SlotsMovedFromATodoMasterToADoneOneRestartAtTheReceiver) {
  ThreeMasters m;
  bool moved = false;
  ScanHooks hooks = OnceMidScanOn(m.proxy, kB, &moved, [&](const ScanStep&) {
    m.cluster.Move(16000, kA);
    m.proxy.Patch(m.cluster, 16000);  // learned from a MOVED reply
  });
  ScanRun run = RunScan(m.cluster, m.proxy, hooks);
  ASSERT_TRUE(run.ended && moved);
  EXPECT_TRUE(Missing(run, AllSlots()).empty());
  EXPECT_EQ(Visits(run), (std::vector<std::string>{kA, kB, kA, kB, kC}));
}

TEST(ScanPlannerTest, SlotsMovedToTheCurrentMasterRestartItFromZero) {
  ThreeMasters m;
  bool moved = false;
  std::vector<int> slots;
  ScanHooks hooks = OnceMidScanOn(m.proxy, kB, &moved, [&](const ScanStep& at) {
    // C's slots that B's own SCAN has gone past already: B would not return their keys.
    for (int s : m.cluster.Passed(kB, at.node_cursor)) {
      if (m.cluster.owner(s) == kC) slots.push_back(s);
    }
    for (int s : slots) m.cluster.Move(s, kB);
    m.proxy.Publish(m.cluster);
  });
  ScanRun run = RunScan(m.cluster, m.proxy, hooks);
  ASSERT_TRUE(run.ended && moved);
  ASSERT_FALSE(slots.empty());
  EXPECT_TRUE(Missing(run, slots).empty());
  EXPECT_TRUE(Missing(run, AllSlots()).empty());
  bool restarted_b = false;
  for (const ScanStep& s : run.steps) {
    restarted_b |= s.reason == ScanReason::kRestarted && s.address == kB && s.node_cursor == 0;
  }
  EXPECT_TRUE(restarted_b);
}

// The move happens while B is being asked for its last page: it is judged before the client gets
// the cursor that would take it to C, or it would never be judged at all.
TEST(ScanPlannerTest, MovesWhileAMasterIsAskedAreCheckedBeforeTheNextCursor) {
  ThreeMasters m;
  bool moved = false;
  ScanHooks hooks;
  hooks.in_flight = [&](int, const ScanStep& step) {
    if (moved || step.address != kB) return;
    if (m.cluster.Scan(kB, step.node_cursor).first != 0) return;  // not B's last page yet
    for (int s = 11000; s < 11100; ++s) m.cluster.Move(s, kA);
    m.proxy.Publish(m.cluster);
    moved = true;
  };
  ScanRun run = RunScan(m.cluster, m.proxy, hooks);
  ASSERT_TRUE(run.ended && moved);
  EXPECT_TRUE(Missing(run, AllSlots()).empty());
  EXPECT_EQ(Visits(run), (std::vector<std::string>{kA, kB, kA, kB, kC}));
}

// The key of one of B's slots migrates to A, to a part of A's SCAN already passed, while the scan
// is on A; the owner changes (and the proxy hears of it) only once the scan is on C. By then the
// slot moved between two masters the scan has passed: judged by where it came from it would look
// harmless, yet the key was in neither master's SCAN.
TEST(ScanPlannerTest, SlotsLearnedLateBetweenPassedMastersStillRestart) {
  ThreeMasters m;
  int slot = -1;
  bool migrated = false, flipped = false;
  ScanHooks hooks = OnceMidScanOn(m.proxy, kA, &migrated, [&](const ScanStep& at) {
    for (int s : m.cluster.Passed(kA, at.node_cursor)) {
      if (m.cluster.owner(s) == kB) slot = s;
    }
    m.cluster.MigrateKey(slot, kA);
  });
  ScanHooks learn_on_c = OnceMidScanOn(m.proxy, kC, &flipped, [&](const ScanStep&) {
    m.cluster.SetOwner(slot, kA);
    m.proxy.Patch(m.cluster, slot);
  });
  hooks.between = [migrate = hooks.between, learn = learn_on_c.between](int i, uint64_t cursor) {
    migrate(i, cursor);
    learn(i, cursor);
  };
  ScanRun run = RunScan(m.cluster, m.proxy, hooks);
  ASSERT_TRUE(run.ended && migrated && flipped);
  ASSERT_GE(slot, 0);
  EXPECT_TRUE(Missing(run, {slot}).empty());
  EXPECT_TRUE(Missing(run, AllSlots()).empty());
  EXPECT_TRUE(Restarted(run));
}

TEST(ScanPlannerTest, CursorWhoseMovesFellOutOfTheLogRestartsAtTheFirstMaster) {
  FakeScanCluster cluster;
  cluster.Assign(0, 5460, kA);
  cluster.Assign(5461, 10922, kB);
  cluster.Assign(10923, 16383, kC);
  FakeScanProxy proxy(1, 0, /*capacity=*/8);
  proxy.Publish(cluster);
  uint64_t cursor = 0;
  for (int i = 0; i < cluster.pages() + 2; ++i) {
    Result<ScanStep> step = PlanScan(cursor, proxy.log, proxy.registry);
    ASSERT_TRUE(step.ok());
    cursor = *NextScanCursor(*step, cluster.Scan(step->address, step->node_cursor).first, proxy.log,
                             proxy.registry);
  }
  Result<ScanStep> on_b = PlanScan(cursor, proxy.log, proxy.registry);
  ASSERT_TRUE(on_b.ok());
  ASSERT_EQ(on_b->address, kB);
  ASSERT_GT(on_b->node_cursor, 0u);
  for (int s = 16000; s < 16009; ++s) {  // nine harmless moves (C to a later master), ring of 8
    cluster.Move(s, kLast);
    proxy.Patch(cluster, s);
  }
  Result<ScanStep> after = PlanScan(cursor, proxy.log, proxy.registry);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->reason, ScanReason::kUnknownCursor);
  EXPECT_EQ(after->address, kA);
  EXPECT_EQ(after->node_cursor, 0u);
}

TEST(ScanPlannerTest, CursorsOfAnotherProcessRestartAtTheFirstMaster) {
  ThreeMasters m;                            // ids from 1 on
  for (uint64_t foreign : {uint64_t{12345},  // a node's own cursor: no address id
                           ScanCursor{77, 9000, 0}.Encode()}) {  // an id never handed out
    Result<ScanStep> step = PlanScan(foreign, m.proxy.log, m.proxy.registry);
    ASSERT_TRUE(step.ok());
    EXPECT_EQ(step->reason, ScanReason::kUnknownCursor) << foreign;
    EXPECT_EQ(step->address, kA);
    EXPECT_EQ(step->node_cursor, 0u);
  }
  // A version this log never handed out (it is at 0, nothing moved yet).
  uint16_t b = *m.proxy.registry.Find(kB);
  Result<ScanStep> step = PlanScan(ScanCursor{77, b, 5}.Encode(), m.proxy.log, m.proxy.registry);
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->reason, ScanReason::kUnknownCursor);
  EXPECT_EQ(step->address, kA);
}

TEST(ScanPlannerTest, MasterWhoseSlotsWentToNoOneIsLeftForTheNext) {
  ThreeMasters m;
  uint16_t c = *m.proxy.registry.Find(kC);
  for (int s = 10923; s <= 16383; ++s) m.cluster.Move(s, "");
  m.proxy.Publish(m.cluster);
  Result<ScanStep> step = PlanScan(ScanCursor{5, c, 0}.Encode(), m.proxy.log, m.proxy.registry);
  ASSERT_TRUE(step.ok());
  EXPECT_TRUE(step->done);
  EXPECT_EQ(step->reason, ScanReason::kMasterGone);
  EXPECT_EQ(*NextScanCursor(*step, 0, m.proxy.log, m.proxy.registry), 0u);
}

TEST(ScanPlannerTest, NodeCursorWiderThanTheCursorFieldIsAnError) {
  ThreeMasters m;
  Result<ScanStep> step = PlanScan(0, m.proxy.log, m.proxy.registry);
  ASSERT_TRUE(step.ok());
  EXPECT_TRUE(
      NextScanCursor(*step, ScanCursor::kMaxNodeCursor, m.proxy.log, m.proxy.registry).ok());
  Result<uint64_t> wide =
      NextScanCursor(*step, ScanCursor::kMaxNodeCursor + 1, m.proxy.log, m.proxy.registry);
  ASSERT_FALSE(wide.ok());
  EXPECT_NE(wide.status().message().find(kA), std::string::npos);
}

TEST(ScanPlannerTest, NoTableOrNoServingMasterIsUnavailable) {
  FakeScanProxy proxy;
  EXPECT_EQ(PlanScan(0, proxy.log, proxy.registry).status().code(), StatusCode::kUnavailable);
  FakeScanCluster empty;
  proxy.Publish(empty);
  EXPECT_EQ(PlanScan(0, proxy.log, proxy.registry).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace rs::proxy
