#include "eventlog/event_codec.h"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <kj/exception.h>
#include <kj/io.h>

#include <iterator>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "eventlog/events.capnp.h"

namespace rs::eventlog {

using model::AlertRaised;
using model::ControllerStarted;
using model::ControllerStopped;
using model::DiscoveryStatusChanged;
using model::EventKindName;
using model::FailoverMode;
using model::Health;
using model::HealthReason;
using model::Member;
using model::MembershipChanged;
using model::NodeHealth;
using model::NodeHealthChanged;
using model::NodeObservation;
using model::NodeObserved;
using model::NodeRef;
using model::OpenSlot;
using model::OperatorKind;
using model::OperatorRejected;
using model::OperatorRequest;
using model::OperatorRequested;
using model::PeerView;
using model::Plan;
using model::PlanFinished;
using model::PlanInFlight;
using model::PlanOrigin;
using model::PlanOutcome;
using model::PlanProposed;
using model::PlanSummary;
using model::Role;
using model::Shard;
using model::SlotRange;
using model::Step;
using model::StepCompleted;
using model::StepFailed;
using model::StepKind;
using model::StepProgress;
using model::StepStarted;
using model::StepStatus;
using model::Topology;
using model::TopologyCommitted;
namespace {

namespace cs = capnp_schema;
using Which = cs::Event::Payload::Which;

// The persisted union tag of each variant index. Tags 0-14 equal the index; tag 15 is the
// retention tombstone (not an event), so kinds added after it are shifted by one. The tags are
// fixed by events.capnp, so a reordering of either side fails here rather than on disk.
constexpr uint16_t kTagOfIndex[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16};
static_assert(std::size(kTagOfIndex) == std::variant_size_v<EventPayload>);
static_assert(static_cast<uint16_t>(Which::MEMBERSHIP_CHANGED) == 0);
static_assert(static_cast<uint16_t>(Which::NODE_HEALTH_CHANGED) == 1);
static_assert(static_cast<uint16_t>(Which::NODE_OBSERVED) == 2);
static_assert(static_cast<uint16_t>(Which::OPERATOR_REQUESTED) == 3);
static_assert(static_cast<uint16_t>(Which::OPERATOR_REJECTED) == 4);
static_assert(static_cast<uint16_t>(Which::PLAN_PROPOSED) == 5);
static_assert(static_cast<uint16_t>(Which::STEP_STARTED) == 6);
static_assert(static_cast<uint16_t>(Which::STEP_PROGRESS) == 7);
static_assert(static_cast<uint16_t>(Which::STEP_COMPLETED) == 8);
static_assert(static_cast<uint16_t>(Which::STEP_FAILED) == 9);
static_assert(static_cast<uint16_t>(Which::PLAN_FINISHED) == 10);
static_assert(static_cast<uint16_t>(Which::TOPOLOGY_COMMITTED) == 11);
static_assert(static_cast<uint16_t>(Which::CONTROLLER_STARTED) == 12);
static_assert(static_cast<uint16_t>(Which::CONTROLLER_STOPPED) == 13);
static_assert(static_cast<uint16_t>(Which::ALERT_RAISED) == 14);
static_assert(static_cast<uint16_t>(Which::COMPACTED) == 15);
static_assert(static_cast<uint16_t>(Which::DISCOVERY_STATUS_CHANGED) == 16);
static_assert(std::variant_size_v<EventPayload> == 16);

constexpr uint16_t kCompactedTag = 15;
constexpr uint16_t kMaxKnownTag = 16;

kj::StringPtr Txt(const std::string& s) { return kj::StringPtr(s.c_str(), s.size()); }
std::string Str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// ---- enums read from the log ----
// A byte from the log is one of this binary's enumerators or the enum's kUnknown (a newer
// binary's value), never an enumerator no switch knows. Each Known has no default, so a new
// enumerator that is not listed here is a compiler warning.
bool Known(Health v) {
  switch (v) {
    case Health::kUnknown:
    case Health::kUp:
    case Health::kSuspect:
    case Health::kDown:
      return true;
  }
  return false;
}
bool Known(HealthReason v) {
  switch (v) {
    case HealthReason::kNone:
    case HealthReason::kRefused:
    case HealthReason::kTimeout:
    case HealthReason::kLoading:
    case HealthReason::kAuth:
    case HealthReason::kClusterDown:
    case HealthReason::kError:
      return true;
    case HealthReason::kUnknown:
      return false;
  }
  return false;
}
bool Known(Role v) {
  switch (v) {
    case Role::kUnknown:
    case Role::kMaster:
    case Role::kReplica:
      return true;
  }
  return false;
}
bool Known(OperatorKind v) {
  switch (v) {
    case OperatorKind::kMigrate:
    case OperatorKind::kRebalance:
    case OperatorKind::kFailover:
    case OperatorKind::kAddNode:
    case OperatorKind::kRemoveNode:
    case OperatorKind::kPause:
    case OperatorKind::kResume:
    case OperatorKind::kFix:
    case OperatorKind::kAbort:
      return true;
    case OperatorKind::kUnknown:
      return false;
  }
  return false;
}
bool Known(FailoverMode v) {
  switch (v) {
    case FailoverMode::kDefault:
    case FailoverMode::kForce:
    case FailoverMode::kTakeover:
      return true;
    case FailoverMode::kUnknown:
      return false;
  }
  return false;
}
bool Known(StepKind v) {
  switch (v) {
    case StepKind::kMeet:
    case StepKind::kAssignSlots:
    case StepKind::kSetConfigEpoch:
    case StepKind::kReplicate:
    case StepKind::kMigrate:
    case StepKind::kFailover:
    case StepKind::kForget:
    case StepKind::kReset:
    case StepKind::kFixOpenSlot:
    case StepKind::kCommitTopology:
      return true;
    case StepKind::kUnknown:
      return false;
  }
  return false;
}
bool Known(StepStatus v) {
  switch (v) {
    case StepStatus::kPending:
    case StepStatus::kRunning:
    case StepStatus::kDone:
    case StepStatus::kFailed:
      return true;
    case StepStatus::kUnknown:
      return false;
  }
  return false;
}
bool Known(PlanOutcome v) {
  switch (v) {
    case PlanOutcome::kCompleted:
    case PlanOutcome::kFailed:
    case PlanOutcome::kAborted:
    case PlanOutcome::kSuperseded:
      return true;
    case PlanOutcome::kUnknown:
      return false;
  }
  return false;
}
bool Known(PlanOrigin v) {
  switch (v) {
    case PlanOrigin::kPlanner:
    case PlanOrigin::kOperator:
    case PlanOrigin::kRepair:
      return true;
    case PlanOrigin::kUnknown:
      return false;
  }
  return false;
}
// Every enum here has a fixed uint8_t underlying type, so the cast itself is defined.
template <typename E>
E Checked(uint8_t raw) {
  E v = static_cast<E>(raw);
  return Known(v) ? v : E::kUnknown;
}
// Logs written before plans carried their origin (0) said it only in the reason.
PlanOrigin Origin(uint8_t raw, const std::string& reason) {
  if (raw != 0) return Checked<PlanOrigin>(raw);
  return reason.starts_with("operator ") ? PlanOrigin::kOperator : PlanOrigin::kPlanner;
}

// ---- writers ----

void Put(cs::SlotRange::Builder b, const SlotRange& r) {
  b.setFirst(r.first);
  b.setLast(r.last);
}
template <typename B>
void PutRanges(B&& list_init, const std::vector<SlotRange>& v) {
  auto l = list_init(v.size());
  for (size_t i = 0; i < v.size(); ++i) Put(l[i], v[i]);
}
void Put(cs::NodeRef::Builder b, const NodeRef& n) {
  b.setAddress(Txt(n.address));
  b.setId(Txt(n.id));
}
void Put(cs::Topology::Builder b, const Topology& t) {
  b.setEpoch(t.epoch);
  auto shards = b.initShards(t.shards.size());
  for (size_t i = 0; i < t.shards.size(); ++i) {
    const Shard& s = t.shards[i];
    Put(shards[i].initMaster(), s.master);
    PutRanges([&](size_t n) { return shards[i].initSlots(n); }, s.slots);
    auto reps = shards[i].initReplicas(s.replicas.size());
    for (size_t j = 0; j < s.replicas.size(); ++j) Put(reps[j], s.replicas[j]);
  }
}
void Put(cs::Member::Builder b, const Member& m) {
  b.setInstance(m.instance);
  b.setAddress(Txt(m.address));
  b.setHost(Txt(m.host));
}
void Put(cs::NodeHealth::Builder b, const NodeHealth& h) {
  b.setHealth(static_cast<uint8_t>(h.health));
  b.setReason(static_cast<uint8_t>(h.reason));
  b.setDetail(Txt(h.detail));
  b.setSinceMs(h.since_ms);
}
void Put(cs::NodeObservation::Builder b, const NodeObservation& o) {
  b.setId(Txt(o.id));
  b.setRole(static_cast<uint8_t>(o.role));
  b.setMasterId(Txt(o.master_id));
  PutRanges([&](size_t n) { return b.initSlots(n); }, o.slots);
  auto open = b.initOpenSlots(o.open_slots.size());
  for (size_t i = 0; i < o.open_slots.size(); ++i) {
    open[i].setSlot(o.open_slots[i].slot);
    open[i].setMigrating(o.open_slots[i].migrating);
    open[i].setPeerId(Txt(o.open_slots[i].peer_id));
  }
  b.setConfigEpoch(o.config_epoch);
  b.setCurrentEpoch(o.current_epoch);
  b.setReplOffset(o.repl_offset);
  b.setMasterLinkUp(o.master_link_up);
  b.setClusterOk(o.cluster_ok);
  b.setKeys(o.keys);
  auto peers = b.initPeers(o.peers.size());
  for (size_t i = 0; i < o.peers.size(); ++i) {
    const PeerView& p = o.peers[i];
    auto pb = peers[i];
    pb.setId(Txt(p.id));
    pb.setAddress(Txt(p.address));
    pb.setRole(static_cast<uint8_t>(p.role));
    pb.setMasterId(Txt(p.master_id));
    pb.setPfail(p.pfail);
    pb.setFail(p.fail);
    pb.setHandshake(p.handshake);
    pb.setConnected(p.connected);
    pb.setConfigEpoch(p.config_epoch);
    PutRanges([&](size_t n) { return pb.initSlots(n); }, p.slots);
  }
}
void Put(cs::OperatorRequest::Builder b, const OperatorRequest& r) {
  b.setId(r.id);
  b.setWho(Txt(r.who));
  b.setKind(static_cast<uint8_t>(r.kind));
  b.setFrom(Txt(r.from));
  b.setTo(Txt(r.to));
  b.setNode(Txt(r.node));
  PutRanges([&](size_t n) { return b.initSlots(n); }, r.slots);
  b.setCount(r.count);
  b.setMode(static_cast<uint8_t>(r.mode));
  auto w = b.initWeights(r.weights.size());
  size_t i = 0;
  for (const auto& [addr, weight] : r.weights) {
    w[i].setAddress(Txt(addr));
    w[i].setWeight(weight);
    ++i;
  }
  b.setThreshold(r.threshold);
  b.setPlanId(r.plan_id);
}
void Put(cs::Plan::Builder b, const Plan& p) {
  b.setId(p.id);
  b.setReason(Txt(p.reason));
  b.setOrigin(static_cast<uint8_t>(p.origin));
  auto causes = b.initCauses(p.causes.size());
  for (size_t i = 0; i < p.causes.size(); ++i) causes.set(i, p.causes[i]);
  auto steps = b.initSteps(p.steps.size());
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const Step& s = p.steps[i];
    auto sb = steps[i];
    sb.setKind(static_cast<uint8_t>(s.kind));
    Put(sb.initTarget(), s.target);
    Put(sb.initPeer(), s.peer);
    PutRanges([&](size_t n) { return sb.initSlots(n); }, s.slots);
    sb.setConfigEpoch(s.config_epoch);
    sb.setMode(static_cast<uint8_t>(s.mode));
    auto nodes = sb.initNodes(s.nodes.size());
    for (size_t j = 0; j < s.nodes.size(); ++j) Put(nodes[j], s.nodes[j]);
    Put(sb.initTopology(), s.topology);
  }
}

struct PayloadWriter {
  cs::Event::Payload::Builder b;
  void operator()(const MembershipChanged& m) {
    auto x = b.initMembershipChanged();
    auto l = x.initMembers(m.members.size());
    for (size_t i = 0; i < m.members.size(); ++i) Put(l[i], m.members[i]);
    x.setSource(Txt(m.source));
  }
  void operator()(const NodeHealthChanged& h) {
    auto x = b.initNodeHealthChanged();
    x.setAddress(Txt(h.address));
    Put(x.initHealth(), h.health);
  }
  void operator()(const NodeObserved& o) {
    auto x = b.initNodeObserved();
    x.setAddress(Txt(o.address));
    Put(x.initObservation(), o.observation);
  }
  void operator()(const OperatorRequested& r) { Put(b.initOperatorRequested(), r.request); }
  void operator()(const OperatorRejected& r) {
    auto x = b.initOperatorRejected();
    x.setRequestId(r.request_id);
    x.setReason(Txt(r.reason));
  }
  void operator()(const PlanProposed& p) {
    auto x = b.initPlanProposed();
    Put(x.initPlan(), p.plan);
    x.setRequestId(p.request_id);
  }
  void operator()(const StepStarted& s) {
    auto x = b.initStepStarted();
    x.setPlanId(s.plan_id);
    x.setStep(s.step);
  }
  void operator()(const StepProgress& s) {
    auto x = b.initStepProgress();
    x.setPlanId(s.plan_id);
    x.setStep(s.step);
    PutRanges([&](size_t n) { return x.initSlotsDone(n); }, s.slots_done);
    x.setKeysMoved(s.keys_moved);
  }
  void operator()(const StepCompleted& s) {
    auto x = b.initStepCompleted();
    x.setPlanId(s.plan_id);
    x.setStep(s.step);
  }
  void operator()(const StepFailed& s) {
    auto x = b.initStepFailed();
    x.setPlanId(s.plan_id);
    x.setStep(s.step);
    x.setError(Txt(s.error));
  }
  void operator()(const PlanFinished& p) {
    auto x = b.initPlanFinished();
    x.setPlanId(p.plan_id);
    x.setOutcome(static_cast<uint8_t>(p.outcome));
    x.setReason(Txt(p.reason));
  }
  void operator()(const TopologyCommitted& t) { Put(b.initTopologyCommitted(), t.topology); }
  void operator()(const ControllerStarted& c) {
    auto x = b.initControllerStarted();
    x.setVersion(Txt(c.version));
    x.setConfigHash(Txt(c.config_hash));
  }
  void operator()(const ControllerStopped& c) { b.initControllerStopped().setClean(c.clean); }
  void operator()(const AlertRaised& a) {
    auto x = b.initAlertRaised();
    x.setSubject(Txt(a.subject));
    x.setKind(Txt(a.kind));
    x.setMessage(Txt(a.message));
    x.setDelivered(a.delivered);
  }
  void operator()(const DiscoveryStatusChanged& d) {
    auto x = b.initDiscoveryStatusChanged();
    x.setSource(Txt(d.source));
    x.setReachable(d.reachable);
    x.setReason(Txt(d.reason));
  }
};

std::string Pack(capnp::MessageBuilder& msg) {
  kj::VectorOutputStream out;
  capnp::writePackedMessage(out, msg);
  auto arr = out.getArray();
  return std::string(reinterpret_cast<const char*>(arr.begin()), arr.size());
}

void PutHeader(cs::Event::Builder root, const Event& e) {
  root.setSeq(e.seq);
  root.setTimeMs(e.time_ms);
  root.setCause(e.cause);
  root.setSource(Txt(e.source));
}

// ---- readers ----

template <typename L>
std::vector<SlotRange> GetRanges(L list) {
  std::vector<SlotRange> out;
  out.reserve(list.size());
  for (auto r : list) out.push_back(SlotRange{r.getFirst(), r.getLast()});
  return out;
}
NodeRef Get(cs::NodeRef::Reader r) { return NodeRef{Str(r.getAddress()), Str(r.getId())}; }
Topology Get(cs::Topology::Reader r) {
  Topology t;
  t.epoch = r.getEpoch();
  for (auto s : r.getShards()) {
    Shard shard;
    shard.master = Get(s.getMaster());
    shard.slots = GetRanges(s.getSlots());
    for (auto rep : s.getReplicas()) shard.replicas.push_back(Get(rep));
    t.shards.push_back(std::move(shard));
  }
  return t;
}
Member Get(cs::Member::Reader r) {
  return Member{r.getInstance(), Str(r.getAddress()), Str(r.getHost())};
}
NodeHealth Get(cs::NodeHealth::Reader r) {
  NodeHealth h;
  h.health = Checked<Health>(r.getHealth());
  h.reason = Checked<HealthReason>(r.getReason());
  h.detail = Str(r.getDetail());
  h.since_ms = r.getSinceMs();
  return h;
}
NodeObservation Get(cs::NodeObservation::Reader r) {
  NodeObservation o;
  o.id = Str(r.getId());
  o.role = Checked<Role>(r.getRole());
  o.master_id = Str(r.getMasterId());
  o.slots = GetRanges(r.getSlots());
  for (auto s : r.getOpenSlots()) {
    o.open_slots.push_back(OpenSlot{s.getSlot(), s.getMigrating(), Str(s.getPeerId())});
  }
  o.config_epoch = r.getConfigEpoch();
  o.current_epoch = r.getCurrentEpoch();
  o.repl_offset = r.getReplOffset();
  o.master_link_up = r.getMasterLinkUp();
  o.cluster_ok = r.getClusterOk();
  o.keys = r.getKeys();
  for (auto p : r.getPeers()) {
    PeerView v;
    v.id = Str(p.getId());
    v.address = Str(p.getAddress());
    v.role = Checked<Role>(p.getRole());
    v.master_id = Str(p.getMasterId());
    v.pfail = p.getPfail();
    v.fail = p.getFail();
    v.handshake = p.getHandshake();
    v.connected = p.getConnected();
    v.config_epoch = p.getConfigEpoch();
    v.slots = GetRanges(p.getSlots());
    o.peers.push_back(std::move(v));
  }
  return o;
}
OperatorRequest Get(cs::OperatorRequest::Reader r) {
  OperatorRequest q;
  q.id = r.getId();
  q.who = Str(r.getWho());
  q.kind = Checked<OperatorKind>(r.getKind());
  q.from = Str(r.getFrom());
  q.to = Str(r.getTo());
  q.node = Str(r.getNode());
  q.slots = GetRanges(r.getSlots());
  q.count = r.getCount();
  q.mode = Checked<FailoverMode>(r.getMode());
  for (auto w : r.getWeights()) q.weights[Str(w.getAddress())] = w.getWeight();
  q.threshold = r.getThreshold();
  q.plan_id = r.getPlanId();
  return q;
}
Plan Get(cs::Plan::Reader r) {
  Plan p;
  p.id = r.getId();
  p.reason = Str(r.getReason());
  p.origin = Origin(r.getOrigin(), p.reason);
  for (uint64_t c : r.getCauses()) p.causes.push_back(c);
  for (auto s : r.getSteps()) {
    Step st;
    st.kind = Checked<StepKind>(s.getKind());
    st.target = Get(s.getTarget());
    st.peer = Get(s.getPeer());
    st.slots = GetRanges(s.getSlots());
    st.config_epoch = s.getConfigEpoch();
    st.mode = Checked<FailoverMode>(s.getMode());
    for (auto n : s.getNodes()) st.nodes.push_back(Get(n));
    st.topology = Get(s.getTopology());
    p.steps.push_back(std::move(st));
  }
  return p;
}

// Fills `out`; false for a tag this binary does not know.
bool GetPayload(cs::Event::Payload::Reader p, DecodedEvent& out) {
  EventPayload& v = out.event.payload;
  switch (p.which()) {
    case Which::MEMBERSHIP_CHANGED: {
      MembershipChanged m;
      auto x = p.getMembershipChanged();
      for (auto mem : x.getMembers()) m.members.push_back(Get(mem));
      m.source = Str(x.getSource());
      v = std::move(m);
      return true;
    }
    case Which::NODE_HEALTH_CHANGED: {
      auto x = p.getNodeHealthChanged();
      v = NodeHealthChanged{Str(x.getAddress()), Get(x.getHealth())};
      return true;
    }
    case Which::NODE_OBSERVED: {
      auto x = p.getNodeObserved();
      v = NodeObserved{Str(x.getAddress()), Get(x.getObservation())};
      return true;
    }
    case Which::OPERATOR_REQUESTED:
      v = OperatorRequested{Get(p.getOperatorRequested())};
      return true;
    case Which::OPERATOR_REJECTED: {
      auto x = p.getOperatorRejected();
      v = OperatorRejected{x.getRequestId(), Str(x.getReason())};
      return true;
    }
    case Which::PLAN_PROPOSED: {
      auto x = p.getPlanProposed();
      v = PlanProposed{Get(x.getPlan()), x.getRequestId()};
      return true;
    }
    case Which::STEP_STARTED: {
      auto x = p.getStepStarted();
      v = StepStarted{x.getPlanId(), x.getStep()};
      return true;
    }
    case Which::STEP_PROGRESS: {
      auto x = p.getStepProgress();
      v = StepProgress{x.getPlanId(), x.getStep(), GetRanges(x.getSlotsDone()), x.getKeysMoved()};
      return true;
    }
    case Which::STEP_COMPLETED: {
      auto x = p.getStepCompleted();
      v = StepCompleted{x.getPlanId(), x.getStep()};
      return true;
    }
    case Which::STEP_FAILED: {
      auto x = p.getStepFailed();
      v = StepFailed{x.getPlanId(), x.getStep(), Str(x.getError())};
      return true;
    }
    case Which::PLAN_FINISHED: {
      auto x = p.getPlanFinished();
      v = PlanFinished{x.getPlanId(), Checked<PlanOutcome>(x.getOutcome()), Str(x.getReason())};
      return true;
    }
    case Which::TOPOLOGY_COMMITTED:
      v = TopologyCommitted{Get(p.getTopologyCommitted())};
      return true;
    case Which::CONTROLLER_STARTED: {
      auto x = p.getControllerStarted();
      v = ControllerStarted{Str(x.getVersion()), Str(x.getConfigHash())};
      return true;
    }
    case Which::CONTROLLER_STOPPED:
      v = ControllerStopped{p.getControllerStopped().getClean()};
      return true;
    case Which::ALERT_RAISED: {
      auto x = p.getAlertRaised();
      v = AlertRaised{Str(x.getSubject()), Str(x.getKind()), Str(x.getMessage()), x.getDelivered()};
      return true;
    }
    case Which::COMPACTED: {
      auto x = p.getCompacted();
      out.kind = RecordKind::kCompacted;
      out.tag = x.getKind();
      out.address = Str(x.getAddress());
      return true;
    }
    case Which::DISCOVERY_STATUS_CHANGED: {
      auto x = p.getDiscoveryStatusChanged();
      v = DiscoveryStatusChanged{Str(x.getSource()), x.getReachable(), Str(x.getReason())};
      return true;
    }
  }
  return false;
}

capnp::ReaderOptions Options() {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = 64 * 1024 * 1024;  // Snapshots of large clusters stay readable.
  return o;
}

kj::ArrayPtr<const kj::byte> Bytes(std::string_view s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

}  // namespace

uint16_t EventTag(const EventPayload& payload) { return kTagOfIndex[payload.index()]; }

std::string TagName(uint16_t tag) {
  static const auto kNames = [] {
    // Build each alternative once to ask the model for its name, stored at its tag.
    std::vector<std::string> names(kMaxKnownTag + 1);
    EventPayload p;
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((p.emplace<I>(), names[kTagOfIndex[I]] = EventKindName(p)), ...);
    }
    (std::make_index_sequence<std::variant_size_v<EventPayload>>());
    names[kCompactedTag] = "compacted";
    return names;
  }();
  if (tag <= kMaxKnownTag) return kNames[tag];
  return fmt::format("unknown-{}", tag);
}

uint16_t TagForName(std::string_view name) {
  for (uint16_t t = 0; t <= kMaxKnownTag; ++t) {
    if (TagName(t) == name) return t;
  }
  return 0xffff;
}

std::string EncodeEvent(const Event& event) {
  capnp::MallocMessageBuilder msg(256);
  auto root = msg.initRoot<cs::Event>();
  PutHeader(root, event);
  std::visit(PayloadWriter{root.initPayload()}, event.payload);
  return Pack(msg);
}

std::string EncodeCompacted(const Event& event) {
  capnp::MallocMessageBuilder msg(64);
  auto root = msg.initRoot<cs::Event>();
  PutHeader(root, event);
  auto c = root.initPayload().initCompacted();
  c.setKind(EventTag(event.payload));
  if (const auto* h = std::get_if<NodeHealthChanged>(&event.payload)) {
    c.setAddress(Txt(h->address));
  } else if (const auto* o = std::get_if<NodeObserved>(&event.payload)) {
    c.setAddress(Txt(o->address));
  }
  return Pack(msg);
}

Result<DecodedEvent> DecodeEvent(std::string_view bytes) {
  DecodedEvent out;
  auto ex = kj::runCatchingExceptions([&] {
    kj::ArrayInputStream in(Bytes(bytes));
    capnp::PackedMessageReader msg(in, Options());
    auto root = msg.getRoot<cs::Event>();
    out.event.seq = root.getSeq();
    out.event.time_ms = root.getTimeMs();
    out.event.cause = root.getCause();
    out.event.source = Str(root.getSource());
    auto payload = root.getPayload();
    out.tag = static_cast<uint16_t>(payload.which());
    if (!GetPayload(payload, out)) out.kind = RecordKind::kUnknown;
  });
  KJ_IF_MAYBE (e, ex) {
    return Status::Corruption(
        fmt::format("undecodable event ({} bytes): {}", bytes.size(), e->getDescription().cStr()));
  }
  return out;
}

std::string EncodeState(const ClusterState& s) {
  capnp::MallocMessageBuilder msg(4096);
  auto b = msg.initRoot<cs::ClusterState>();
  b.setLastSeq(s.last_seq);
  b.setLastTimeMs(s.last_time_ms);
  auto members = b.initMembers(s.members.size());
  size_t i = 0;
  for (const auto& [addr, m] : s.members) Put(members[i++], m);
  b.setMembershipSeq(s.membership_seq);
  auto health = b.initHealth(s.health.size());
  i = 0;
  for (const auto& [addr, h] : s.health) {
    health[i].setAddress(Txt(addr));
    Put(health[i].initHealth(), h);
    ++i;
  }
  auto observed = b.initObserved(s.observed.size());
  i = 0;
  for (const auto& [addr, o] : s.observed) {
    observed[i].setAddress(Txt(addr));
    Put(observed[i].initObservation(), o);
    ++i;
  }
  Put(b.initTopology(), s.topology);
  b.setHasPlan(s.plan.has_value());
  if (s.plan) {
    const PlanInFlight& f = *s.plan;
    auto pb = b.initPlan();
    Put(pb.initPlan(), f.plan);
    auto status = pb.initStatus(f.status.size());
    for (size_t k = 0; k < f.status.size(); ++k) status.set(k, static_cast<uint8_t>(f.status[k]));
    auto done = pb.initSlotsDone(f.slots_done.size());
    for (size_t k = 0; k < f.slots_done.size(); ++k) {
      PutRanges([&](size_t n) { return done.init(k, n); }, f.slots_done[k]);
    }
    auto keys = pb.initKeysMoved(f.keys_moved.size());
    for (size_t k = 0; k < f.keys_moved.size(); ++k) keys.set(k, f.keys_moved[k]);
    pb.setError(Txt(f.error));
    pb.setAbortRequested(f.abort_requested);
    pb.setProposedSeq(f.proposed_seq);
  }
  auto hist = b.initPlanHistory(s.plan_history.size());
  for (size_t k = 0; k < s.plan_history.size(); ++k) {
    const PlanSummary& p = s.plan_history[k];
    hist[k].setId(p.id);
    hist[k].setReason(Txt(p.reason));
    hist[k].setOutcome(static_cast<uint8_t>(p.outcome));
    hist[k].setOrigin(static_cast<uint8_t>(p.origin));
    hist[k].setDetail(Txt(p.detail));
    hist[k].setProposedSeq(p.proposed_seq);
    hist[k].setFinishedSeq(p.finished_seq);
  }
  auto reqs = b.initPendingRequests(s.pending_requests.size());
  for (size_t k = 0; k < s.pending_requests.size(); ++k) Put(reqs[k], s.pending_requests[k]);
  b.setPaused(s.paused);
  b.setNextPlanId(s.next_plan_id);
  b.setNextRequestId(s.next_request_id);
  b.setDiscoveryReachable(s.discovery_reachable);
  b.setDiscoveryReason(Txt(s.discovery_reason));
  b.setDiscoverySinceMs(s.discovery_since_ms);
  b.setDiscoverySource(Txt(s.discovery_source));
  b.setLayoutChangedMs(s.layout_changed_ms);
  auto retired = b.initRetired(s.retired.size());
  size_t k = 0;
  for (const std::string& a : s.retired) retired.set(k++, Txt(a));
  return Pack(msg);
}

Result<ClusterState> DecodeState(std::string_view bytes) {
  ClusterState s;
  auto ex = kj::runCatchingExceptions([&] {
    kj::ArrayInputStream in(Bytes(bytes));
    capnp::PackedMessageReader msg(in, Options());
    auto r = msg.getRoot<cs::ClusterState>();
    s.last_seq = r.getLastSeq();
    s.last_time_ms = r.getLastTimeMs();
    for (auto m : r.getMembers()) {
      Member member = Get(m);
      s.members[member.address] = std::move(member);
    }
    s.membership_seq = r.getMembershipSeq();
    for (auto h : r.getHealth()) s.health[Str(h.getAddress())] = Get(h.getHealth());
    for (auto o : r.getObserved()) s.observed[Str(o.getAddress())] = Get(o.getObservation());
    s.topology = Get(r.getTopology());
    if (r.getHasPlan()) {
      auto p = r.getPlan();
      PlanInFlight f;
      f.plan = Get(p.getPlan());
      for (uint8_t st : p.getStatus()) f.status.push_back(Checked<StepStatus>(st));
      for (auto l : p.getSlotsDone()) f.slots_done.push_back(GetRanges(l));
      for (uint64_t k : p.getKeysMoved()) f.keys_moved.push_back(k);
      f.error = Str(p.getError());
      f.abort_requested = p.getAbortRequested();
      f.proposed_seq = p.getProposedSeq();
      s.plan = std::move(f);
    }
    for (auto h : r.getPlanHistory()) {
      PlanSummary sum;
      sum.id = h.getId();
      sum.reason = Str(h.getReason());
      sum.outcome = Checked<PlanOutcome>(h.getOutcome());
      sum.origin = Origin(h.getOrigin(), sum.reason);
      sum.detail = Str(h.getDetail());
      sum.proposed_seq = h.getProposedSeq();
      sum.finished_seq = h.getFinishedSeq();
      s.plan_history.push_back(std::move(sum));
    }
    for (auto q : r.getPendingRequests()) s.pending_requests.push_back(Get(q));
    s.paused = r.getPaused();
    s.next_plan_id = r.getNextPlanId();
    s.next_request_id = r.getNextRequestId();
    s.discovery_reachable = r.getDiscoveryReachable();
    s.discovery_reason = Str(r.getDiscoveryReason());
    s.discovery_since_ms = r.getDiscoverySinceMs();
    s.discovery_source = Str(r.getDiscoverySource());
    s.layout_changed_ms = r.getLayoutChangedMs();
    for (auto a : r.getRetired()) s.retired.insert(Str(a));
  });
  KJ_IF_MAYBE (e, ex) {
    return Status::Corruption(fmt::format("undecodable snapshot ({} bytes): {}", bytes.size(),
                                          e->getDescription().cStr()));
  }
  return s;
}

}  // namespace rs::eventlog
