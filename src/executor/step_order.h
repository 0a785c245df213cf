// Which steps of a plan may run at once. The plan lists steps in an order that is always safe;
// the executor runs a step as soon as every earlier step it must follow has completed.
#pragma once

#include "model/plan.h"

namespace rs::executor {

// Steps that may run beside others: on one node or one pair, touching nothing else. The rest
// (failover, forget, reset, fix-open-slot, commit-topology) run alone, after every earlier step
// and before every later one.
bool RunsBesideOthers(model::StepKind kind);

// True when `later` (after `earlier` in the plan) must wait until `earlier` completed:
//   - either runs alone;
//   - a migrate and a step of another kind (migrates run only beside migrates);
//   - a set-config-epoch and a meet, of any nodes: a node refuses SET-CONFIG-EPOCH once it knows
//     another, and a meet introduces more nodes than its two (the target meets every master the
//     peer knows, then gossip);
//   - they share a node, except two meets, two replicates or two migrates whose only shared node
//     is their peer (new nodes meeting one member, replicas of one master, sources feeding one
//     destination).
bool MustFollow(const model::Step& earlier, const model::Step& later);

}  // namespace rs::executor
