// Many scans through a fake proxy while slots move at random between seven possible masters
// (masters join by receiving slots and leave by giving all of them away), at every point of a
// step: between client calls, while the master is asked, after it answered. Moves stop at a random
// step of each scan; the scan must then end within one pass, having returned every key (none is
// ever deleted, so every key is present for the whole scan).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fake_scan_cluster.h"
#include "proxy/scan_planner.h"

namespace rs::proxy {
namespace {

using testing::AllSlots;
using testing::FakeScanCluster;
using testing::FakeScanProxy;
using testing::Missing;
using testing::RunScan;
using testing::ScanHooks;
using testing::ScanRun;

// How the cluster churns, per event (three events a scan step). Tuned so that slots often land
// behind a scan and the proxy learns of it some steps late, while a scan still gets through a
// master between restarts: judging a move by the master the slot left instead of the one it went
// to then misses keys in about one late-learning scan in six.
constexpr int kPageSlots = 4096;     // a node's SCAN call covers a quarter of the slots
constexpr int kMovePercent = 20;     // an event starts a move...
constexpr int kOneSlotPercent = 95;  // ...of one slot,
constexpr int kRangePercent = 4;     // ...of up to kMaxRange slots in a row,
constexpr int kMaxRange = 100;       // ...or else of all slots of a master, which leaves.
constexpr int kKeyMigrates = 2;      // late: a migrating key moves with chance 1 in this
constexpr int kOwnerChanges = 10;    // late: a moved key's slot changes owner, 1 in this
constexpr int kPublishPercent = 1;   // late: the proxy gets the whole table
constexpr int kPatchPercent = 3;     // late: the proxy gets a MOVED for one changed slot
constexpr int kSeeds = 8;
constexpr int kScansPerSeed = 10;

struct Totals {
  int scans = 0;
  int moves = 0;
  int restarts = 0;  // steps on a master that sorts before the previous step's
  int steps = 0;
  size_t duplicates = 0;
  int unheard = 0;  // keys not checked: moved, and the proxy not told when the scan ended
  int missed = 0;   // scans that missed a key
};

class Simulation {
 public:
  // `late`: a move is a migration, as in Redis: the key goes first, the owner changes at a later
  // event, and the proxy hears of owners later still, from a whole table (several moves in one
  // diff, hops hidden) or one MOVED reply. Otherwise a move is whole and the proxy hears of it
  // at once.
  Simulation(uint32_t seed, bool late)
      : rng_(seed),
        late_(late),
        cluster_(kPageSlots),
        proxy_(static_cast<uint16_t>(1 + seed % ScanCursor::kMaxAddressId),
               (uint64_t{seed} << 20) + 16380) {  // versions wrap their 14 bits early on
    for (int i = 0; i < 7; ++i) pool_.push_back(fmt::format("127.0.0.1:700{}", i));
    cluster_.Assign(0, 5460, pool_[1]);
    cluster_.Assign(5461, 10922, pool_[3]);
    cluster_.Assign(10923, 16383, pool_[5]);
    proxy_.Publish(cluster_);
  }

  void RunOneScan(Totals* totals) {
    const int pass = 7 * cluster_.pages();
    const int moving_until = std::uniform_int_distribution<int>(0, 3 * pass)(rng_);
    int quiet_from = -1;
    auto event = [&](int step) {
      if (quiet_from >= 0) return;
      if (step >= moving_until) {
        Quiesce();
        quiet_from = step;
        return;
      }
      Event(totals);
    };
    ScanHooks hooks;
    hooks.between = [&](int step, uint64_t) { event(step); };
    hooks.in_flight = [&](int step, const ScanStep&) { event(step); };
    hooks.answered = [&](int step, const ScanStep&) { event(step); };
    ScanRun run = RunScan(cluster_, proxy_, hooks, 100 * pass);
    ++totals->scans;
    totals->steps += static_cast<int>(run.steps.size());
    totals->duplicates +=
        run.keys.size() - std::set<std::string>(run.keys.begin(), run.keys.end()).size();
    for (size_t i = 1; i < run.steps.size(); ++i) {
      totals->restarts += !run.steps[i].done && run.steps[i].address < run.steps[i - 1].address;
    }
    ASSERT_TRUE(run.ended) << "scan " << totals->scans << " did not end";
    std::vector<int> checked = AllSlots();
    if (quiet_from < 0) {
      // Ended while slots were still moving. A key whose move the proxy had not heard of by the
      // last step is beyond what it can promise; every other key must be there all the same.
      std::erase_if(checked, [&](int s) {
        auto m = migrating_.find(s);
        return unlearned_.count(s) || (m != migrating_.end() && cluster_.holder(s) == m->second);
      });
      totals->unheard += kSlotCount - static_cast<int>(checked.size());
      Quiesce();
      quiet_from = static_cast<int>(run.steps.size());
    }
    std::vector<std::string> missing = Missing(run, checked);
    if (!missing.empty() && ++totals->missed <= 3) {
      ADD_FAILURE() << "scan " << totals->scans << " missed " << missing.size() << " keys, e.g. "
                    << missing.front();
    }
    int serving = static_cast<int>(ScanOrder(*cluster_.Table()).size());
    EXPECT_LE(static_cast<int>(run.steps.size()) - quiet_from, serving * cluster_.pages() + 2)
        << "scan " << totals->scans << " went on after moves stopped";
  }

 private:
  int Rand(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  // The masters a move may go to: any of the pool but `from`.
  const std::string& Target(const std::string& from) {
    for (;;) {
      const std::string& t = pool_[Rand(static_cast<int>(pool_.size()))];
      if (t != from) return t;
    }
  }

  void Event(Totals* totals) {
    if (late_) AdvanceMigrations();
    if (Rand(100) >= kMovePercent) return;
    std::vector<int> slots;
    int kind = Rand(100);
    if (kind < kOneSlotPercent) {
      slots.push_back(Rand(kSlotCount));
    } else if (kind < kOneSlotPercent + kRangePercent) {
      int first = Rand(kSlotCount), n = 1 + Rand(kMaxRange);
      for (int s = first; s < std::min(kSlotCount, first + n); ++s) slots.push_back(s);
    } else {
      // A master leaves: all its slots to others.
      std::string leaving = cluster_.owner(Rand(kSlotCount));
      for (int s = 0; s < kSlotCount; ++s) {
        if (cluster_.owner(s) == leaving) slots.push_back(s);
      }
    }
    const std::string& to = Target(cluster_.owner(slots.front()));
    for (int s : slots) {
      if (cluster_.owner(s) == to || migrating_.count(s)) continue;
      ++totals->moves;
      if (late_) {
        migrating_[s] = to;
      } else {
        cluster_.Move(s, to);
      }
    }
    if (late_) return;
    if (slots.size() == 1 && Rand(2) == 0) {
      proxy_.Patch(cluster_, slots.front());
    } else {
      proxy_.Publish(cluster_);
    }
  }

  // Each event: some keys migrate, some migrated slots change owner, and the proxy may learn.
  void AdvanceMigrations() {
    for (auto it = migrating_.begin(); it != migrating_.end();) {
      int slot = it->first;
      if (cluster_.holder(slot) != it->second) {
        if (Rand(kKeyMigrates) == 0) cluster_.MigrateKey(slot, it->second);
        ++it;
      } else if (Rand(kOwnerChanges) == 0) {
        cluster_.SetOwner(slot, it->second);
        unlearned_.insert(slot);
        it = migrating_.erase(it);
      } else {
        ++it;
      }
    }
    if (unlearned_.empty()) return;
    int r = Rand(100);
    if (r < kPublishPercent) {
      proxy_.Publish(cluster_);
      unlearned_.clear();
    } else if (r < kPublishPercent + kPatchPercent) {
      auto it = unlearned_.begin();
      std::advance(it, Rand(static_cast<int>(unlearned_.size())));
      proxy_.Patch(cluster_, *it);
      unlearned_.erase(it);
    }
  }

  // Every migration finishes and the proxy learns the table.
  void Quiesce() {
    for (const auto& [slot, to] : migrating_) cluster_.Move(slot, to);
    migrating_.clear();
    unlearned_.clear();
    proxy_.Publish(cluster_);
  }

  std::mt19937 rng_;
  const bool late_;
  FakeScanCluster cluster_;
  FakeScanProxy proxy_;
  std::vector<std::string> pool_;
  std::map<int, std::string> migrating_;  // slot -> where its key is going
  std::set<int> unlearned_;               // owner changed, the proxy not told yet
};

void RunSimulation(bool late, int seeds, int scans_per_seed) {
  Totals totals;
  for (uint32_t seed = 1; seed <= static_cast<uint32_t>(seeds); ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    Simulation sim(seed, late);
    for (int i = 0; i < scans_per_seed; ++i) {
      sim.RunOneScan(&totals);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  std::printf(
      "%d scans (%d missed keys), %d steps, %d slot moves, %d restarts, %zu duplicate keys, "
      "%d keys not checked\n",
      totals.scans, totals.missed, totals.steps, totals.moves, totals.restarts, totals.duplicates,
      totals.unheard);
  EXPECT_EQ(totals.missed, 0);
  EXPECT_GT(totals.restarts, 0);  // the moves did reach masters the scans had passed
}

TEST(ScanSimulationTest, NoKeyMissedWhileWholeSlotsMoveAndTheProxyKnowsAtOnce) {
  RunSimulation(/*late=*/false, kSeeds, kScansPerSeed);
}

TEST(ScanSimulationTest, NoKeyMissedWhenKeysMigrateFirstAndTheProxyLearnsLate) {
  RunSimulation(/*late=*/true, kSeeds, kScansPerSeed);
}

}  // namespace
}  // namespace rs::proxy
