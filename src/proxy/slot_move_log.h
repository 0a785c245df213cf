// The slots whose master changed, as the proxy learned of them (a new routing table, a MOVED
// reply), numbered by version, together with the table they lead up to. A SCAN cursor carries the
// version it was checked against; the next SCAN step reads the moves after it and the table in
// one go, so it never judges a move against a table that does not have it yet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "proxy/address_registry.h"
#include "proxy/routing_table.h"

namespace rs::proxy {

// `slot` was served by `from` and is served by `to`; "" means by no master.
struct SlotMove {
  int slot = 0;
  std::string from;
  std::string to;
  bool operator==(const SlotMove&) const = default;
};

// The slots whose master differs between `before` and `after`, in slot order.
std::vector<SlotMove> DiffOwners(const RoutingTable& before, const RoutingTable& after);
// The move a MOVED reply ("`slot` is served by `address`") teaches; nullopt when `table` knew.
std::optional<SlotMove> MovedPatch(const RoutingTable& table, int slot, std::string_view address);

// Thread contract: thread-safe (one mutex); the topology thread publishes, workers patch and read.
class SlotMoveLog {
 public:
  static constexpr size_t kDefaultCapacity = 16384;  // moves kept
  // Batches kept at most: a cursor holds only ScanCursor::kVersionBits of a version, so the
  // versions kept must all differ in those bits to be told apart.
  static constexpr uint64_t kMaxBatches = ScanCursor::kVersionMask;

  struct Entry {
    uint64_t version = 0;
    int slot = 0;
    uint16_t from_id = AddressRegistry::kNoId;  // kNoId: the slot had no master
    uint16_t to_id = AddressRegistry::kNoId;    // kNoId: the slot has no master now
  };

  // What a SCAN step reads, consistently: the table, its version, the moves after a version.
  struct View {
    RoutingTablePtr table;     // null before the first Publish
    uint64_t version = 0;      // the log's version now; the table is the one it leads up to
    bool known = false;        // the asked version was handed out and no move after it dropped
    std::vector<Entry> moves;  // the moves after the asked version, oldest first
  };

  // `registry` names the addresses of entries and must outlive the log. The version starts at
  // `first_version` (the proxy picks a random one, so an earlier process's cursor is seldom read
  // as one of ours) and grows by one per batch that moved a slot.
  explicit SlotMoveLog(AddressRegistry* registry, uint64_t first_version = 0,
                       size_t capacity = kDefaultCapacity);
  SlotMoveLog(const SlotMoveLog&) = delete;
  SlotMoveLog& operator=(const SlotMoveLog&) = delete;

  // Makes `table` the proxy's current one, its moves from the previous one appended as one batch.
  // The first table appends nothing: no scan can have started before it. An error when an
  // address gets no id (the registry is full): the table is still taken, but every cursor
  // handed out before then restarts its scan, since the moves it would need were not recorded.
  Status Publish(RoutingTablePtr table);
  // A MOVED reply: the current table with `slot` served by `address`, and that move appended.
  Status PatchSlot(int slot, std::string_view address);

  // The table and version, no moves.
  View Latest() const;
  // The moves after the version handed out whose low ScanCursor::kVersionBits are `version_bits`
  // (the latest such version): what the next step of a client's cursor must judge.
  View SinceCursorVersion(uint16_t version_bits) const;
  // The moves after `version`.
  View Since(uint64_t version) const;

 private:
  Status AppendLocked(const std::vector<SlotMove>& moves, RoutingTablePtr table);
  View SinceLocked(uint64_t version) const;

  AddressRegistry* const registry_;
  const size_t capacity_;
  mutable std::mutex mu_;
  RoutingTablePtr table_;      // guarded by mu_
  uint64_t version_;           // guarded by mu_
  uint64_t oldest_readable_;   // guarded by mu_; every move after this version is in entries_
  std::deque<Entry> entries_;  // guarded by mu_; version order
};

}  // namespace rs::proxy
