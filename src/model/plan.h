// Plans: what the planner proposes and the executor carries out, step by step.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/types.h"

namespace rs::model {

enum class StepKind : uint8_t {
  kMeet = 0,            // target meets peer (CLUSTER MEET from target to peer's address).
  kAssignSlots = 1,     // CLUSTER ADDSLOTSRANGE `slots` on target.
  kSetConfigEpoch = 2,  // CLUSTER SET-CONFIG-EPOCH `config_epoch` on target.
  kReplicate = 3,       // target becomes a replica of peer (CLUSTER REPLICATE peer.id).
  kMigrate = 4,         // Move `slots` from target (source) to peer (destination).
  kFailover = 5,        // CLUSTER FAILOVER [mode] on target (a replica); peer is the old master.
  kForget = 6,          // Every node in `nodes` forgets target (CLUSTER FORGET target.id).
  kReset = 7,           // CLUSTER RESET on target.
  kFixOpenSlot = 8,     // Close the open slots `slots` on target (and peer) by the documented rule.
  kCommitTopology = 9,  // Verify the cluster matches `topology`, then commit it.
  kUnknown = 255,       // Read from the log, written by a newer binary: never carried out.
};

// kUnknown in the enums below: a value read from the log that a newer binary wrote.
enum class FailoverMode : uint8_t { kDefault = 0, kForce = 1, kTakeover = 2, kUnknown = 255 };

// Who asked for a plan. Persisted (0 on disk: written before origins existed; the decoder then
// tells an operator's plan by its reason, "operator WHO: ...", as those binaries wrote it).
enum class PlanOrigin : uint8_t {
  kPlanner = 1,   // Automation: bootstrap, membership, failover, rebalance.
  kOperator = 2,  // An operator's request that chose a layout (migrate, rebalance, failover,
                  // add-node, remove-node).
  kRepair = 3,    // Closing open slots and covering uncovered ones (automatic or `fix`).
  kUnknown = 255,
};

struct Step {
  StepKind kind = StepKind::kMeet;
  NodeRef target;
  NodeRef peer;
  std::vector<SlotRange> slots;
  uint64_t config_epoch = 0;
  FailoverMode mode = FailoverMode::kDefault;
  std::vector<NodeRef> nodes;  // kForget: who must forget target.
  Topology topology;           // kCommitTopology: what the cluster must look like.
  auto operator<=>(const Step&) const = default;
};

struct Plan {
  uint64_t id = 0;
  std::string reason;        // "bootstrap: 6 members up", "drain 127.0.0.2:7003", ...
  std::vector<Seq> causes;   // The events it answers.
  std::vector<Step> steps;
  PlanOrigin origin = PlanOrigin::kPlanner;
  auto operator<=>(const Plan&) const = default;
};

// One line per step, e.g. "3. migrate 0-1364 127.0.0.1:7000 -> 127.0.0.2:7006".
std::string StepToString(const Step& step);
std::string PlanToString(const Plan& plan);

enum class StepStatus : uint8_t {
  kPending = 0,
  kRunning = 1,
  kDone = 2,
  kFailed = 3,
  kUnknown = 255
};
enum class PlanOutcome : uint8_t {
  kCompleted = 0,
  kFailed = 1,
  kAborted = 2,
  kSuperseded = 3,
  kUnknown = 255
};

// A plan being carried out, as the fold knows it.
struct PlanInFlight {
  Plan plan;
  std::vector<StepStatus> status;                    // One per step.
  std::vector<std::vector<SlotRange>> slots_done;    // Per step: migrated slots (progress).
  std::vector<uint64_t> keys_moved;                  // Per step.
  std::string error;                                 // Of the failed step, if any.
  bool abort_requested = false;
  Seq proposed_seq = 0;
  auto operator<=>(const PlanInFlight&) const = default;
};

}  // namespace rs::model
