#include "eventlog/event_filter.h"

#include <fmt/format.h>

#include "eventlog/event_format.h"
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

bool StepTouchesNode(const Step& s, const std::string& addr) {
  if (s.target.address == addr || s.peer.address == addr) return true;
  for (const NodeRef& n : s.nodes) {
    if (n.address == addr) return true;
  }
  return false;
}

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

}  // namespace

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
  auto it = plans_.find(plan_id);
  if (it == plans_.end() || step >= it->second.steps.size()) return nullptr;
  return &it->second.steps[step];
}

bool EventMatcher::MatchesNode(const DecodedEvent& d, const std::string& addr) const {
  if (d.kind == RecordKind::kCompacted) return d.address == addr;
  if (auto* m = As<MembershipChanged>(d)) {
    bool now = false;
    for (const Member& x : m->members) now |= x.address == addr;
    return now != (members_.count(addr) > 0);
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
    auto it = plans_.find(f->plan_id);
    if (it == plans_.end()) return false;
    for (const Step& s : it->second.steps) {
      if (StepTouchesNode(s, addr)) return true;
    }
    return false;
  }
  if (auto* t = As<TopologyCommitted>(d))
    return PlaceIn(t->topology, addr) != PlaceIn(topology_, addr);
  if (auto* a = As<AlertRaised>(d)) return a->subject.find(addr) != std::string::npos;
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
    auto it = plans_.find(f->plan_id);
    if (it == plans_.end()) return false;
    for (const Step& s : it->second.steps) {
      if (Contains(s.slots, slot)) return true;
    }
    return false;
  }
  if (auto* t = As<TopologyCommitted>(d)) {
    return OwnerOf(t->topology, slot) != OwnerOf(topology_, slot);
  }
  return false;
}

bool EventMatcher::MatchesPlan(const DecodedEvent& d, uint64_t plan) const {
  if (auto* p = As<PlanProposed>(d)) return p->plan.id == plan;
  if (auto ref = StepRefOf(d)) return ref->first == plan;
  if (auto* f = As<PlanFinished>(d)) return f->plan_id == plan;
  if (auto* r = As<OperatorRequested>(d)) return r->request.plan_id == plan;
  // Anything the plan's events caused (a topology commit, an alert) belongs to its history.
  auto it = plan_of_event_.find(d.event.cause);
  return d.event.cause != 0 && it != plan_of_event_.end() && it->second == plan;
}

void EventMatcher::Record(const DecodedEvent& d) {
  if (auto* m = As<MembershipChanged>(d)) {
    std::map<std::string, uint32_t> now;
    for (const Member& x : m->members) now[x.address] = x.instance;
    std::string diff;
    for (const auto& [a, i] : now) {
      if (!members_.count(a)) diff += fmt::format(" +{}#{}", a, i);
    }
    for (const auto& [a, i] : members_) {
      if (!now.count(a)) diff += fmt::format(" -{}#{}", a, i);
    }
    if (members_known_) {
      membership_diff_[d.event.seq] = fmt::format("{} members from {}:{}", now.size(), m->source,
                                                  diff.empty() ? " no change" : diff);
    }
    members_known_ = true;
    members_ = std::move(now);
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
  if (As<MembershipChanged>(d)) {
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
    auto it = proposed_at_.find(plan);
    if (it != proposed_at_.end() && it->second != d.event.seq) return it->second;
  }
  if (auto* p = As<PlanProposed>(d)) {
    if (!p->plan.causes.empty() && p->plan.causes.front() < d.event.seq) {
      return p->plan.causes.front();
    }
  }
  return 0;
}

}  // namespace rs::svc
