// The slot map a worker routes by: slot -> master index, plus each master's replicas.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/slot.h"
#include "common/status.h"

namespace rs::proxy {

// Thread contract: immutable once built; workers share it through shared_ptr<const RoutingTable>
// and replace it whole (a MOVED patch builds a patched copy).
struct RoutingTable {
  static constexpr int16_t kUnassigned = -1;

  uint64_t epoch = 0;                // the controller's epoch; 0 when learned from CLUSTER SLOTS
  // The controller's history the epoch counts in (32 hex chars); a controller that lost its data
  // starts a new one, with epochs from 1 again. Empty from CLUSTER SLOTS and older controllers.
  std::string generation;
  std::string source;                // "controller", "cluster-slots" or "moved"
  std::vector<std::string> masters;  // "host:port"
  std::vector<std::vector<std::string>> replicas;  // parallel to masters
  // Parallel to replicas: in sync with its master (master_link_status up, lag within bounds), as
  // last probed for --read-from; empty when not probed (then no replica is read from).
  std::vector<std::vector<bool>> replica_healthy;
  std::array<int16_t, kSlotCount> owner;           // index into masters, or kUnassigned

  RoutingTable() { owner.fill(kUnassigned); }

  // The master serving `slot`, or nullptr when no node does.
  const std::string* OwnerOf(int slot) const {
    int16_t i = owner[slot];
    return i < 0 ? nullptr : &masters[i];
  }
  int AssignedSlots() const;

  // Index of `address` in masters, adding it when absent (building tables only).
  int16_t AddMaster(std::string_view address);

  // A copy with `slot` served by `address` (after a MOVED reply).
  std::shared_ptr<const RoutingTable> WithSlotOwner(int slot, std::string_view address) const;

  // Parses the controller's GET /v1/topology body:
  // {"epoch": N, "generation": "<32 hex>", "shards": [{"master": {"address": "h:p", "id": ".."},
  //   "slots": [[a, b], ...], "replicas": [{"address": "h:p", "id": ".."}]}]}
  // "generation" is optional (older controllers): absent reads as "".
  static Result<RoutingTable> FromTopologyJson(std::string_view json);
};

using RoutingTablePtr = std::shared_ptr<const RoutingTable>;

}  // namespace rs::proxy
