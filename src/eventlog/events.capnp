# The persisted form of the event log and of ClusterState snapshots.
#
# FORMAT RULES: every field ordinal (@N) and every union member ordinal is written to disk and
# read back by older and newer binaries. Never renumber, never reuse, never change a type:
# add new fields and union members with the next free ordinal, and retire old ones by leaving
# them in place with a comment. Enum values follow the same rule. Readers that meet a union
# member they do not know decode it as "unknown kind N" and the fold skips it.
@0xc5a1e7f3b2d94e61;

$import "/capnp/c++.capnp".namespace("rs::eventlog::capnp_schema");

struct SlotRange {
  first @0 :UInt16;
  last @1 :UInt16;
}

struct NodeRef {
  address @0 :Text;
  id @1 :Text;
}

struct Shard {
  master @0 :NodeRef;
  slots @1 :List(SlotRange);
  replicas @2 :List(NodeRef);
}

struct Topology {
  epoch @0 :UInt64;
  shards @1 :List(Shard);
}

struct Member {
  instance @0 :UInt32;
  address @1 :Text;
  host @2 :Text;
}

struct NodeHealth {
  health @0 :UInt8;      # model::Health
  reason @1 :UInt8;      # model::HealthReason
  detail @2 :Text;
  sinceMs @3 :Int64;
}

struct OpenSlot {
  slot @0 :UInt16;
  migrating @1 :Bool;
  peerId @2 :Text;
}

struct PeerView {
  id @0 :Text;
  address @1 :Text;
  role @2 :UInt8;        # model::Role
  masterId @3 :Text;
  pfail @4 :Bool;
  fail @5 :Bool;
  handshake @6 :Bool;
  connected @7 :Bool;
  configEpoch @8 :UInt64;
  slots @9 :List(SlotRange);
}

struct NodeObservation {
  id @0 :Text;
  role @1 :UInt8;
  masterId @2 :Text;
  slots @3 :List(SlotRange);
  openSlots @4 :List(OpenSlot);
  configEpoch @5 :UInt64;
  currentEpoch @6 :UInt64;
  replOffset @7 :UInt64;
  masterLinkUp @8 :Bool;
  clusterOk @9 :Bool;
  keys @10 :UInt64;
  peers @11 :List(PeerView);
}

struct Weight {
  address @0 :Text;
  weight @1 :Float64;
}

struct OperatorRequest {
  id @0 :UInt64;
  who @1 :Text;
  kind @2 :UInt8;        # model::OperatorKind
  from @3 :Text;
  to @4 :Text;
  node @5 :Text;
  slots @6 :List(SlotRange);
  count @7 :UInt32;
  mode @8 :UInt8;        # model::FailoverMode
  weights @9 :List(Weight);   # Sorted by address.
  threshold @10 :Float64;
  planId @11 :UInt64;
}

struct Step {
  kind @0 :UInt8;        # model::StepKind
  target @1 :NodeRef;
  peer @2 :NodeRef;
  slots @3 :List(SlotRange);
  configEpoch @4 :UInt64;
  mode @5 :UInt8;
  nodes @6 :List(NodeRef);
  topology @7 :Topology;
}

struct Plan {
  id @0 :UInt64;
  reason @1 :Text;
  causes @2 :List(UInt64);
  steps @3 :List(Step);
  origin @4 :UInt8;      # PlanOrigin; 0: written before origins existed.
}

struct Event {
  seq @0 :UInt64;
  timeMs @1 :Int64;
  cause @2 :UInt64;      # Sequence of the event that led to this one, or 0.
  source @3 :Text;

  # Union member ordinals are persisted (they are the on-disk kind): append only.
  payload :union {
    membershipChanged @4 :MembershipChanged;
    nodeHealthChanged @5 :NodeHealthChanged;
    nodeObserved @6 :NodeObserved;
    operatorRequested @7 :OperatorRequest;
    operatorRejected @8 :OperatorRejected;
    planProposed @9 :PlanProposed;
    stepStarted @10 :StepRef;
    stepProgress @11 :StepProgress;
    stepCompleted @12 :StepRef;
    stepFailed @13 :StepFailed;
    planFinished @14 :PlanFinished;
    topologyCommitted @15 :Topology;
    controllerStarted @16 :ControllerStarted;
    controllerStopped @17 :ControllerStopped;
    alertRaised @18 :AlertRaised;
    # Written by retention in place of a compacted health/observation event, so the sequence
    # stays contiguous. The fold skips it.
    compacted @19 :Compacted;
    discoveryStatusChanged @20 :DiscoveryStatusChanged;
  }

  struct MembershipChanged {
    members @0 :List(Member);
    source @1 :Text;
  }
  struct NodeHealthChanged {
    address @0 :Text;
    health @1 :NodeHealth;
  }
  struct NodeObserved {
    address @0 :Text;
    observation @1 :NodeObservation;
  }
  struct OperatorRejected {
    requestId @0 :UInt64;
    reason @1 :Text;
  }
  struct PlanProposed {
    plan @0 :Plan;
    requestId @1 :UInt64;
  }
  struct StepRef {
    planId @0 :UInt64;
    step @1 :UInt32;
  }
  struct StepProgress {
    planId @0 :UInt64;
    step @1 :UInt32;
    slotsDone @2 :List(SlotRange);
    keysMoved @3 :UInt64;
  }
  struct StepFailed {
    planId @0 :UInt64;
    step @1 :UInt32;
    error @2 :Text;
  }
  struct PlanFinished {
    planId @0 :UInt64;
    outcome @1 :UInt8;     # model::PlanOutcome
    reason @2 :Text;
  }
  struct ControllerStarted {
    version @0 :Text;
    configHash @1 :Text;
  }
  struct ControllerStopped {
    clean @0 :Bool;
  }
  struct AlertRaised {
    subject @0 :Text;
    kind @1 :Text;
    message @2 :Text;
    delivered @3 :Bool;
  }
  struct Compacted {
    kind @0 :UInt16;       # The union ordinal of the event that was compacted.
    address @1 :Text;
  }
  struct DiscoveryStatusChanged {
    source @0 :Text;
    reachable @1 :Bool;
    reason @2 :Text;
  }
}

# Snapshot of ClusterState (column family `snapshots`), same rules.
struct ClusterState {
  lastSeq @0 :UInt64;
  lastTimeMs @1 :Int64;
  members @2 :List(Member);                # In address order.
  membershipSeq @3 :UInt64;
  health @4 :List(HealthEntry);            # In address order.
  observed @5 :List(ObservedEntry);        # In address order.
  topology @6 :Topology;
  hasPlan @7 :Bool;
  plan @8 :PlanInFlight;
  planHistory @9 :List(PlanSummary);
  pendingRequests @10 :List(OperatorRequest);
  paused @11 :Bool;
  nextPlanId @12 :UInt64;
  nextRequestId @13 :UInt64;
  # Snapshots written before discovery status existed read as reachable.
  discoveryReachable @14 :Bool = true;
  discoveryReason @15 :Text;
  discoverySinceMs @16 :Int64;
  retired @17 :List(Text);                 # In address order.
  discoverySource @18 :Text;               # Empty in snapshots from before it existed.
  layoutChangedMs @19 :Int64;              # 0 in snapshots from before it existed.

  struct HealthEntry {
    address @0 :Text;
    health @1 :NodeHealth;
  }
  struct ObservedEntry {
    address @0 :Text;
    observation @1 :NodeObservation;
  }
  struct PlanInFlight {
    plan @0 :Plan;
    status @1 :List(UInt8);                # model::StepStatus per step.
    slotsDone @2 :List(List(SlotRange));
    keysMoved @3 :List(UInt64);
    error @4 :Text;
    abortRequested @5 :Bool;
    proposedSeq @6 :UInt64;
  }
  struct PlanSummary {
    id @0 :UInt64;
    reason @1 :Text;
    outcome @2 :UInt8;
    detail @3 :Text;
    proposedSeq @4 :UInt64;
    finishedSeq @5 :UInt64;
    origin @6 :UInt8;    # PlanOrigin; 0: written before origins existed.
  }
}
