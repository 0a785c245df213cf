#include "eventlog/event_filter.h"

#include <deque>

#include <fmt/format.h>

#include "eventlog/event_format.h"
#include "eventlog/event_index.h"
#include "model/plan.h"

namespace rs::svc {
namespace {

using namespace rs::eventlog;
using namespace rs::model;

bool Contains(const std::vector<SlotRange>& ranges, uint16_t slot) {
  for (const SlotRange& r : ranges) {
    if (r.first <= slot && slot <= r.last) return true;
  }
  return false;
}

// Read at most this many events per matched event (indexed mode) before the cache is cleared.
constexpr size_t kMaxCachedReads = 4096;

template <typename T>
const T* As(const DecodedEvent& d) {
  return d.kind == RecordKind::kEvent ? std::get_if<T>(&d.event.payload) : nullptr;
}

// The plan and step an executor event is about, if it is one.
std::optional<std::pair<uint64_t, uint32_t>> StepRefOf(const DecodedEvent& d) {
  if (auto* x = As<StepStarted>(d)) return std::make_pair(x->plan_id, x->step);
  if (auto* x = As<StepProgress>(d)) return std::make_pair(x->plan_id, x->step);
  if (auto* x = As<StepCompleted>(d)) return std::make_pair(x->plan_id, x->step);
  if (auto* x = As<StepFailed>(d)) return std::make_pair(x->plan_id, x->step);
  return std::nullopt;
}

// The plan an event belongs to: a proposal, a step event or a finish.
std::optional<uint64_t> OwnPlan(const DecodedEvent& d) {
  if (auto* p = As<PlanProposed>(d)) return p->plan.id;
  if (auto ref = StepRefOf(d)) return ref->first;
  if (auto* f = As<PlanFinished>(d)) return f->plan_id;
  return std::nullopt;
}

// "N members from SOURCE: +a#1 -b#2" against the members before.
std::string MembershipDiff(const std::map<std::string, uint32_t>& before,
                           const MembershipChanged& m) {
  std::map<std::string, uint32_t> now;
  for (const Member& x : m.members) now[x.address] = x.instance;
  std::string diff;
  for (const auto& [a, i] : now) {
    if (!before.count(a)) diff += fmt::format(" +{}#{}", a, i);
  }
  for (const auto& [a, i] : before) {
    if (!now.count(a)) diff += fmt::format(" -{}#{}", a, i);
  }
  return fmt::format("{} members from {}:{}", now.size(), m.source,
                     diff.empty() ? " no change" : diff);
}

}  // namespace

EventMatcher::EventMatcher(EventFilter filter, const EventLog& log)
    : filter_(std::move(filter)), log_(&log), members_known_(true) {}

const DecodedEvent* EventMatcher::ReadCached(Seq seq) const {
  auto it = reads_.find(seq);
  if (it != reads_.end()) return it->second.get();
  auto r = log_->Read(seq);
  if (!r.ok()) {
    if (r.status().code() != StatusCode::kNotFound && lookup_error_.ok()) lookup_error_ = r.status();
    return nullptr;
  }
  auto d = std::make_shared<const DecodedEvent>(std::move(r).value());
  return (reads_[seq] = std::move(d)).get();
}

const Plan* EventMatcher::PlanById(uint64_t id, Seq* proposed) const {
  if (!log_) {
    auto it = plans_.find(id);
    if (it == plans_.end()) return nullptr;
    if (proposed) {
      auto p = proposed_at_.find(id);
      *proposed = p == proposed_at_.end() ? 0 : p->second;
    }
    return &it->second;
  }
  auto seq = log_->LastIndexed(ProposalIndexPrefix(id), visible_);
  if (!seq.ok()) {
    if (lookup_error_.ok()) lookup_error_ = seq.status();
    return nullptr;
  }
  if (*seq == 0) return nullptr;
  const DecodedEvent* d = ReadCached(*seq);
  const auto* p = d ? As<PlanProposed>(*d) : nullptr;
  if (p == nullptr) return nullptr;
  if (proposed) *proposed = *seq;
  return &p->plan;
}

std::optional<uint64_t> EventMatcher::PlanOfEvent(Seq seq) const {
  if (!log_) {
    auto it = plan_of_event_.find(seq);
    if (it == plan_of_event_.end()) return std::nullopt;
    return it->second;
  }
  if (seq == 0 || seq > visible_) return std::nullopt;
  const DecodedEvent* d = ReadCached(seq);
  return d ? OwnPlan(*d) : std::nullopt;
}

const std::map<std::string, uint32_t>& EventMatcher::MembersBefore(Seq seq) const {
  if (!log_) return members_;
  static const std::map<std::string, uint32_t> kNone;
  auto m = log_->LastIndexed(MembershipIndexPrefix(), seq - 1);
  if (!m.ok()) {
    if (lookup_error_.ok()) lookup_error_ = m.status();
    return kNone;
  }
  if (*m == 0) return kNone;
  auto it = members_at_.find(*m);
  if (it != members_at_.end()) return it->second;
  std::map<std::string, uint32_t> members;
  if (const DecodedEvent* d = ReadCached(*m)) {
    if (auto* x = As<MembershipChanged>(*d)) {
      for (const Member& mem : x->members) members[mem.address] = mem.instance;
    }
  }
  return members_at_[*m] = std::move(members);
}

const Topology& EventMatcher::TopologyBefore(Seq seq) const {
  if (!log_) return topology_;
  static const Topology kNone;
  auto t = log_->LastIndexed(TopologyIndexPrefix(), seq - 1);
  if (!t.ok()) {
    if (lookup_error_.ok()) lookup_error_ = t.status();
    return kNone;
  }
  const DecodedEvent* d = *t == 0 ? nullptr : ReadCached(*t);
  const auto* x = d ? As<TopologyCommitted>(*d) : nullptr;
  return x ? x->topology : kNone;
}

std::string PlaceIn(const Topology& t, const std::string& addr) {
  for (const Shard& s : t.shards) {
    if (s.master.address == addr) return "master " + RangesToString(s.slots);
    for (const NodeRef& r : s.replicas) {
      if (r.address == addr) return "replica of " + s.master.address;
    }
  }
  return "absent";
}

std::string OwnerOf(const Topology& t, uint16_t slot) {
  for (const Shard& s : t.shards) {
    if (Contains(s.slots, slot)) return s.master.address;
  }
  return "";
}

const Step* EventMatcher::StepOf(uint64_t plan_id, uint32_t step) const {
  const Plan* p = PlanById(plan_id);
  if (p == nullptr || step >= p->steps.size()) return nullptr;
  return &p->steps[step];
}

bool EventMatcher::MatchesNode(const DecodedEvent& d, const std::string& addr) const {
  if (d.kind == RecordKind::kCompacted) return d.address == addr;
  if (auto* m = As<MembershipChanged>(d)) {
    bool now = false;
    for (const Member& x : m->members) now |= x.address == addr;
    return now != (MembersBefore(d.event.seq).count(addr) > 0);
  }
  if (auto* h = As<NodeHealthChanged>(d)) return h->address == addr;
  if (auto* o = As<NodeObserved>(d)) return o->address == addr;
  if (auto* r = As<OperatorRequested>(d)) {
    const OperatorRequest& q = r->request;
    return q.from == addr || q.to == addr || q.node == addr || q.weights.count(addr) > 0;
  }
  if (auto* p = As<PlanProposed>(d)) {
    for (const Step& s : p->plan.steps) {
      if (StepTouchesNode(s, addr)) return true;
    }
    return false;
  }
  if (auto ref = StepRefOf(d)) {
    const Step* s = StepOf(ref->first, ref->second);
    return s != nullptr && StepTouchesNode(*s, addr);
  }
  if (auto* f = As<PlanFinished>(d)) {
    const Plan* p = PlanById(f->plan_id);
    if (p == nullptr) return false;
    for (const Step& s : p->steps) {
      if (StepTouchesNode(s, addr)) return true;
    }
    return false;
  }
  if (auto* t = As<TopologyCommitted>(d))
    return PlaceIn(t->topology, addr) != PlaceIn(TopologyBefore(d.event.seq), addr);
  if (auto* a = As<AlertRaised>(d)) {
    // The nodes its subject names, exactly: "127.0.0.1:700" is not "127.0.0.1:7000".
    for (const std::string& n : AlertNodes(a->subject)) {
      if (n == addr) return true;
    }
  }
  return false;
}

bool EventMatcher::MatchesSlot(const DecodedEvent& d, uint16_t slot) const {
  if (auto* r = As<OperatorRequested>(d)) return Contains(r->request.slots, slot);
  if (auto* o = As<NodeObserved>(d)) {
    for (const OpenSlot& s : o->observation.open_slots) {
      if (s.slot == slot) return true;
    }
    return false;
  }
  if (auto* p = As<PlanProposed>(d)) {
    for (const Step& s : p->plan.steps) {
      if (Contains(s.slots, slot)) return true;
    }
    return false;
  }
  if (auto* x = As<StepProgress>(d)) return Contains(x->slots_done, slot);
  if (auto ref = StepRefOf(d)) {
    const Step* s = StepOf(ref->first, ref->second);
    return s != nullptr && Contains(s->slots, slot);
  }
  if (auto* f = As<PlanFinished>(d)) {
    const Plan* p = PlanById(f->plan_id);
    if (p == nullptr) return false;
    for (const Step& s : p->steps) {
      if (Contains(s.slots, slot)) return true;
    }
    return false;
  }
  if (auto* t = As<TopologyCommitted>(d)) {
    return OwnerOf(t->topology, slot) != OwnerOf(TopologyBefore(d.event.seq), slot);
  }
  return false;
}

bool EventMatcher::MatchesPlan(const DecodedEvent& d, uint64_t plan) const {
  if (auto* p = As<PlanProposed>(d)) return p->plan.id == plan;
  if (auto ref = StepRefOf(d)) return ref->first == plan;
  if (auto* f = As<PlanFinished>(d)) return f->plan_id == plan;
  if (auto* r = As<OperatorRequested>(d)) return r->request.plan_id == plan;
  // Anything the plan's events caused (a topology commit, an alert) belongs to its history.
  if (d.event.cause == 0) return false;
  auto owner = PlanOfEvent(d.event.cause);
  return owner && *owner == plan;
}

void EventMatcher::Record(const DecodedEvent& d) {
  if (log_) {
    visible_ = d.event.seq;  // The index knows the rest.
    return;
  }
  if (auto* m = As<MembershipChanged>(d)) {
    if (members_known_) membership_diff_[d.event.seq] = MembershipDiff(members_, *m);
    members_known_ = true;
    members_.clear();
    for (const Member& x : m->members) members_[x.address] = x.instance;
  }
  if (auto* p = As<PlanProposed>(d)) {
    plans_[p->plan.id] = p->plan;
    proposed_at_[p->plan.id] = d.event.seq;
    plan_of_event_[d.event.seq] = p->plan.id;
  }
  if (auto ref = StepRefOf(d)) plan_of_event_[d.event.seq] = ref->first;
  if (auto* f = As<PlanFinished>(d)) plan_of_event_[d.event.seq] = f->plan_id;
  if (auto* t = As<TopologyCommitted>(d)) {
    if (topology_.epoch == 0 || t->topology.epoch > topology_.epoch) topology_ = t->topology;
  }
}

void EventMatcher::Seed(const ClusterState& state) {
  members_.clear();
  for (const auto& [addr, m] : state.members) members_[addr] = m.instance;
  members_known_ = true;
  topology_ = state.topology;
  if (state.plan) {
    plans_[state.plan->plan.id] = state.plan->plan;
    proposed_at_[state.plan->plan.id] = state.plan->proposed_seq;
    plan_of_event_[state.plan->proposed_seq] = state.plan->plan.id;
  }
}

bool EventMatcher::Matches(const DecodedEvent& d) {
  if (log_) {
    if (reads_.size() > kMaxCachedReads) reads_.clear();
    if (members_at_.size() > kMaxCachedReads) members_at_.clear();
    if (diffs_.size() > kMaxCachedReads) diffs_.clear();
    visible_ = d.event.seq - 1;
  }
  bool match = true;
  if (!filter_.kinds.empty()) {
    match = filter_.kinds.count(KindName(d)) > 0 ||
            (d.kind == RecordKind::kCompacted && filter_.kinds.count("compacted") > 0);
  }
  if (match && filter_.node) match = MatchesNode(d, *filter_.node);
  if (match && filter_.slot) match = MatchesSlot(d, *filter_.slot);
  if (match && filter_.plan) match = MatchesPlan(d, *filter_.plan);
  Record(d);
  return match;
}

std::string EventMatcher::Describe(const DecodedEvent& d) const {
  if (auto* m = As<MembershipChanged>(d)) {
    if (log_ && d.event.seq <= visible_) {
      auto it = diffs_.find(d.event.seq);
      if (it == diffs_.end()) {
        it = diffs_.emplace(d.event.seq, MembershipDiff(MembersBefore(d.event.seq), *m)).first;
      }
      return it->second;
    }
    auto it = membership_diff_.find(d.event.seq);
    if (it != membership_diff_.end()) return it->second;
  }
  std::string out = svc::Describe(d);
  if (auto ref = StepRefOf(d)) {
    if (const Step* s = StepOf(ref->first, ref->second)) out += " (" + StepToString(*s) + ")";
  }
  return out;
}

Seq EventMatcher::CauseOf(const DecodedEvent& d) const {
  if (d.event.cause != 0) return d.event.cause;
  uint64_t plan = 0;
  if (auto ref = StepRefOf(d)) plan = ref->first;
  if (auto* f = As<PlanFinished>(d)) plan = f->plan_id;
  if (plan != 0) {
    Seq proposed = 0;
    if (PlanById(plan, &proposed) != nullptr && proposed != 0 && proposed != d.event.seq) {
      return proposed;
    }
  }
  if (auto* p = As<PlanProposed>(d)) {
    if (!p->plan.causes.empty() && p->plan.causes.front() < d.event.seq) {
      return p->plan.causes.front();
    }
  }
  return 0;
}

}  // namespace rs::svc
