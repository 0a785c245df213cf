// The planner: a pure function from ClusterState to the next thing to do. No sockets, no clock
// (time enters as ClusterState::last_time_ms and NodeHealth::since_ms), no storage.
// The same state always gives a byte-identical decision.
#pragma once

#include "model/cluster_state.h"
#include "planner/decision.h"
#include "planner/policy.h"

namespace rs::planner {

// Order of concern: safety failovers (even while paused or while a plan runs), then nothing
// while a plan is in flight, then operator requests (oldest first), then automation: bootstrap
// or adoption, open slots, scale in, scale out and repair, anti-affinity, committing drift.
Decision Make(const model::ClusterState& state, const Policy& policy);

}  // namespace rs::planner
