// Policy: the knobs of the planner. An immutable value passed to every Make() call.
#pragma once

#include <cstdint>

namespace rs::planner {

struct Policy {
  int replicas = 1;     // Replicas wanted per master.
  int min_masters = 3;  // Bootstrap waits for min_masters * (1 + replicas) members.
  double rebalance_threshold_pct =
      2.0;                          // As redis-cli --cluster-threshold: below it nothing moves.
  int64_t refused_grace_ms = 500;   // A refused master is failed over after this long.
  bool allow_takeover = false;      // FAILOVER TAKEOVER when no majority of masters answers.
  int max_parallel_migrations = 4;  // A hint for the executor; plans list one step per pair.
  // What Redis reports is planned on only once the answering nodes agree on the layout and it
  // has not changed for this long (a few probe rounds): gossip settles first.
  int64_t settle_ms = 1500;
};

}  // namespace rs::planner
