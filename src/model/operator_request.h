// What an operator asked for (web console, API or redis-svc). Validated by the planner.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/plan.h"
#include "model/types.h"

namespace rs::model {

enum class OperatorKind : uint8_t {
  kMigrate = 0,     // slots (ranges) or count, from -> to.
  kRebalance = 1,   // weights, threshold.
  kFailover = 2,    // node (a replica, or a master: its best replica is promoted), mode.
  kAddNode = 3,     // node (address) joins the wanted members.
  kRemoveNode = 4,  // node (address) is drained and removed.
  kPause = 5,       // automation stops proposing plans (safety failovers excepted).
  kResume = 6,
  kFix = 7,        // close open slots, cover uncovered slots.
  kAbort = 8,      // plan_id: stop at the next safe point.
  kUnknown = 255,  // Read from the log, written by a newer binary: rejected.
};

struct OperatorRequest {
  uint64_t id = 0;    // Assigned by the fold (ClusterState::next_request_id).
  std::string who;    // The token's name, or "redis-svc@host".
  OperatorKind kind = OperatorKind::kMigrate;
  std::string from;   // Addresses.
  std::string to;
  std::string node;
  std::vector<SlotRange> slots;
  uint32_t count = 0;
  FailoverMode mode = FailoverMode::kDefault;
  std::map<std::string, double> weights;  // address -> weight (default 1).
  double threshold = 0;                   // Percent, as redis-cli's --cluster-threshold.
  uint64_t plan_id = 0;
  auto operator<=>(const OperatorRequest&) const = default;
};

}  // namespace rs::model
