// A cluster and a proxy for driving SCAN through the planner without Redis. Keys live on nodes by
// slot (one key per slot); a node answers SCAN for the keys it holds, a page of slots at a time in
// its own shuffled slot order, with its own cursor. Like Redis, a key that arrives at or leaves a
// node while that node's SCAN runs may be missed by it. The test moves keys and changes owners;
// the fake proxy learns owners only when told (Publish, Patch), as late as the test likes.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/slot.h"
#include "proxy/address_registry.h"
#include "proxy/routing_table.h"
#include "proxy/scan_cursor.h"
#include "proxy/scan_planner.h"
#include "proxy/slot_move_log.h"

namespace rs::proxy::testing {

class FakeScanCluster {
 public:
  explicit FakeScanCluster(int page_slots = 1024) : page_slots_(page_slots) {}

  // Slots first..last served by `master`, their keys on it.
  void Assign(int first, int last, const std::string& master) {
    for (int s = first; s <= last; ++s) {
      owner_[s] = master;
      holder_[s] = master;
    }
  }
  // A finished migration: the key and the ownership of `slot` on `to` ("" unassigns it).
  void Move(int slot, const std::string& to) {
    if (!to.empty()) holder_[slot] = to;
    owner_[slot] = to;
  }
  // A migration under way: the key is on `to` already, the owner has not changed yet.
  void MigrateKey(int slot, const std::string& to) { holder_[slot] = to; }
  void SetOwner(int slot, const std::string& to) { owner_[slot] = to; }

  const std::string& owner(int slot) const { return owner_[slot]; }
  const std::string& holder(int slot) const { return holder_[slot]; }
  int pages() const { return (kSlotCount + page_slots_ - 1) / page_slots_; }

  RoutingTablePtr Table() const {
    auto t = std::make_shared<RoutingTable>();
    t->source = "fake";
    for (int s = 0; s < kSlotCount; ++s) {
      if (!owner_[s].empty()) t->owner[s] = t->AddMaster(owner_[s]);
    }
    return t;
  }

  // SCAN <cursor> on `node`: the next cursor (0 when done) and the keys ("k<slot>") found.
  std::pair<uint64_t, std::vector<std::string>> Scan(const std::string& node, uint64_t cursor) {
    const std::vector<int>& order = OrderOf(node);
    std::vector<std::string> keys;
    size_t end = std::min<size_t>(cursor + page_slots_, order.size());
    for (size_t i = cursor; i < end; ++i) {
      if (holder_[order[i]] == node) keys.push_back("k" + std::to_string(order[i]));
    }
    return {end == order.size() ? 0 : end, keys};
  }

  // The slots a SCAN of `node` has gone past once it returned `cursor`.
  std::vector<int> Passed(const std::string& node, uint64_t cursor) {
    const std::vector<int>& order = OrderOf(node);
    return std::vector<int>(order.begin(), order.begin() + cursor);
  }

 private:
  const std::vector<int>& OrderOf(const std::string& node) {
    auto it = orders_.find(node);
    if (it != orders_.end()) return it->second;
    std::vector<int> order(kSlotCount);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937 rng(static_cast<uint32_t>(std::hash<std::string>()(node)));
    std::shuffle(order.begin(), order.end(), rng);
    return orders_.emplace(node, std::move(order)).first->second;
  }

  const int page_slots_;
  std::array<std::string, kSlotCount> owner_;   // what the cluster says serves each slot
  std::array<std::string, kSlotCount> holder_;  // the node each slot's key is on
  std::map<std::string, std::vector<int>> orders_;
};

// What a proxy process holds for SCAN, fed from a FakeScanCluster when the test says so.
struct FakeScanProxy {
  explicit FakeScanProxy(uint16_t first_id = 1, uint64_t first_version = 0,
                         size_t capacity = SlotMoveLog::kDefaultCapacity)
      : registry(first_id), log(&registry, first_version, capacity) {}

  void Publish(const FakeScanCluster& cluster) { ASSERT_TRUE(log.Publish(cluster.Table()).ok()); }
  // A MOVED reply for `slot` naming its owner in `cluster`.
  void Patch(const FakeScanCluster& cluster, int slot) {
    ASSERT_TRUE(log.PatchSlot(slot, cluster.owner(slot)).ok());
  }

  AddressRegistry registry;
  SlotMoveLog log;
};

// One client scan from cursor 0 to 0 through a fake proxy.
struct ScanRun {
  std::multiset<std::string> keys;  // every key returned, duplicates kept
  std::vector<ScanStep> steps;
  std::vector<uint64_t> cursors;  // the cursor the client got after each step
  bool ended = false;             // a cursor 0 came back within the step limit
};

// Hooks run at each step: between the client's calls (`between`), after PlanScan before the
// master runs the SCAN (`in_flight`), and after it ran, before NextScanCursor (`answered`). Each
// gets the step number.
struct ScanHooks {
  std::function<void(int step, uint64_t cursor)> between;
  std::function<void(int step, const ScanStep&)> in_flight;
  std::function<void(int step, const ScanStep&)> answered;
};

inline ScanRun RunScan(FakeScanCluster& cluster, FakeScanProxy& proxy, const ScanHooks& hooks = {},
                       int max_steps = 10000) {
  ScanRun run;
  uint64_t cursor = 0;
  for (int i = 0; i < max_steps; ++i) {
    if (hooks.between) hooks.between(i, cursor);
    Result<ScanStep> step = PlanScan(cursor, proxy.log, proxy.registry);
    EXPECT_TRUE(step.ok()) << step.status().ToString();
    if (!step.ok()) return run;
    run.steps.push_back(*step);
    uint64_t node_cursor = 0;
    if (!step->done) {
      if (hooks.in_flight) hooks.in_flight(i, *step);
      auto [next, keys] = cluster.Scan(step->address, step->node_cursor);
      node_cursor = next;
      run.keys.insert(keys.begin(), keys.end());
      if (hooks.answered) hooks.answered(i, *step);
    }
    Result<uint64_t> next = NextScanCursor(*step, node_cursor, proxy.log, proxy.registry);
    EXPECT_TRUE(next.ok()) << next.status().ToString();
    if (!next.ok()) return run;
    cursor = *next;
    run.cursors.push_back(cursor);
    if (cursor == 0) {
      run.ended = true;
      return run;
    }
  }
  return run;
}

// The keys ("k<slot>") of `slots` missing from `run`.
inline std::vector<std::string> Missing(const ScanRun& run, const std::vector<int>& slots) {
  std::vector<std::string> missing;
  for (int s : slots) {
    std::string key = "k" + std::to_string(s);
    if (run.keys.count(key) == 0) missing.push_back(key);
  }
  return missing;
}

inline std::vector<int> AllSlots() {
  std::vector<int> slots(kSlotCount);
  std::iota(slots.begin(), slots.end(), 0);
  return slots;
}

}  // namespace rs::proxy::testing
