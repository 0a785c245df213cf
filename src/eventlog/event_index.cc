#include "eventlog/event_index.h"

#include <algorithm>
#include <array>

#include "eventlog/event_log.h"

namespace rs::eventlog {
namespace {

constexpr size_t kMaxPlans = 64;
constexpr size_t kMaxPlanOfEvent = 1 << 16;

void PutBE(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetBE(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[at + i]);
  return v;
}

std::string WithId(char kind, uint64_t id) {
  std::string k(1, kind);
  PutBE(k, id, 8);
  return k;
}

std::string TagValue(uint16_t tag) {
  std::string v;
  PutBE(v, tag, 2);
  return v;
}

// Owner (master address) of each slot: the first shard listing it, as OwnerOf reads it.
std::vector<const std::string*> Owners(const model::Topology& t) {
  std::vector<const std::string*> owner(model::kSlotCount, nullptr);
  for (const model::Shard& s : t.shards) {
    for (const model::SlotRange& r : s.slots) {
      for (uint32_t slot = r.first; slot <= r.last && slot < model::kSlotCount; ++slot) {
        if (owner[slot] == nullptr) owner[slot] = &s.master.address;
      }
    }
  }
  return owner;
}

std::string PlaceOf(const model::Topology& t, const std::string& addr) {
  for (size_t i = 0; i < t.shards.size(); ++i) {
    const model::Shard& s = t.shards[i];
    if (s.master.address == addr) return "m" + model::RangesToString(s.slots);
    for (const model::NodeRef& r : s.replicas) {
      if (r.address == addr) return "r" + s.master.address;
    }
  }
  return "";
}

// Collects a record's node, slot and plan subjects; Emit turns them into entries.
struct Subjects {
  std::set<std::string> nodes;
  std::vector<model::SlotRange> slots;
  std::set<uint64_t> plans;

  void AddStep(const model::Step& s, bool with_slots) {
    nodes.insert(s.target.address);
    nodes.insert(s.peer.address);
    for (const model::NodeRef& n : s.nodes) nodes.insert(n.address);
    if (with_slots) slots.insert(slots.end(), s.slots.begin(), s.slots.end());
  }

  void Emit(model::Seq seq, uint16_t tag, std::vector<IndexEntry>* out) {
    const std::string seq_key = SeqKey(seq);
    for (const std::string& n : nodes) out->push_back({NodeIndexPrefix(n) + seq_key, TagValue(tag)});
    for (uint64_t p : plans) out->push_back({PlanIndexPrefix(p) + seq_key, TagValue(tag)});
    std::map<int, std::string> buckets;  // bucket -> value
    for (const model::SlotRange& r : model::NormalizeRanges(slots)) {
      for (int b = r.first / kSlotBucket; b <= r.last / kSlotBucket; ++b) {
        std::string& v = buckets[b];
        if (v.empty()) v = TagValue(tag);
        PutBE(v, std::max<int>(r.first, b * kSlotBucket), 2);
        PutBE(v, std::min<int>(r.last, (b + 1) * kSlotBucket - 1), 2);
      }
    }
    for (auto& [b, v] : buckets) {
      out->push_back({SlotIndexPrefix(static_cast<uint16_t>(b * kSlotBucket)) + seq_key,
                      std::move(v)});
    }
  }
};

}  // namespace

std::string NodeIndexPrefix(std::string_view address) {
  std::string k(1, 'n');
  k.append(address);
  k.push_back('\0');
  return k;
}
std::string SlotIndexPrefix(uint16_t slot) {
  std::string k(1, 's');
  PutBE(k, slot / kSlotBucket, 2);
  return k;
}
std::string PlanIndexPrefix(uint64_t plan_id) { return WithId('p', plan_id); }
std::string ProposalIndexPrefix(uint64_t plan_id) { return WithId('P', plan_id); }
std::string RequestIndexPrefix(uint64_t request_id) { return WithId('r', request_id); }
std::string MembershipIndexPrefix() { return "m"; }
std::string TopologyIndexPrefix() { return "t"; }

uint16_t IndexedTag(std::string_view value) {
  return value.size() >= 2 ? static_cast<uint16_t>(GetBE(value, 0, 2)) : 0xffff;
}

bool IndexedSlotsContain(std::string_view value, uint16_t slot) {
  for (size_t at = 2; at + 4 <= value.size(); at += 4) {
    if (GetBE(value, at, 2) <= slot && slot <= GetBE(value, at + 2, 2)) return true;
  }
  return false;
}

std::vector<std::string> AlertNodes(const std::string& subject) {
  std::vector<std::string> out;
  std::string_view rest;
  if (subject.starts_with("node ")) {
    out.push_back(subject.substr(5));
    return out;
  }
  if (!subject.starts_with("nodes ")) return out;
  rest = std::string_view(subject).substr(6);
  while (!rest.empty()) {
    size_t comma = std::min(rest.find(','), rest.size());
    if (comma > 0) out.emplace_back(rest.substr(0, comma));
    rest.remove_prefix(std::min(comma + 1, rest.size()));
  }
  return out;
}

bool StepTouchesNode(const model::Step& s, const std::string& addr) {
  if (s.target.address == addr || s.peer.address == addr) return true;
  for (const model::NodeRef& n : s.nodes) {
    if (n.address == addr) return true;
  }
  return false;
}

Status EventIndexer::LoadMembersAndTopology() {
  if (loaded_) return Status::Ok();
  members_.clear();
  topology_ = model::Topology{};
  RS_ASSIGN_OR_RETURN(model::Seq m, log_.LastIndexed(MembershipIndexPrefix(), UINT64_MAX));
  if (m != 0) {
    RS_ASSIGN_OR_RETURN(DecodedEvent d, log_.Read(m));
    if (const auto* x = std::get_if<model::MembershipChanged>(&d.event.payload)) {
      for (const model::Member& mem : x->members) members_.insert(mem.address);
    }
  }
  RS_ASSIGN_OR_RETURN(model::Seq t, log_.LastIndexed(TopologyIndexPrefix(), UINT64_MAX));
  if (t != 0) {
    RS_ASSIGN_OR_RETURN(DecodedEvent d, log_.Read(t));
    if (const auto* x = std::get_if<model::TopologyCommitted>(&d.event.payload)) topology_ = x->topology;
  }
  loaded_ = true;
  return Status::Ok();
}

Result<const model::Plan*> EventIndexer::PlanById(uint64_t id) {
  auto it = plans_.find(id);
  if (it != plans_.end()) return &it->second;
  RS_ASSIGN_OR_RETURN(model::Seq p, log_.LastIndexed(ProposalIndexPrefix(id), UINT64_MAX));
  if (p == 0) return nullptr;
  RS_ASSIGN_OR_RETURN(DecodedEvent d, log_.Read(p));
  const auto* x = std::get_if<model::PlanProposed>(&d.event.payload);
  if (x == nullptr) return nullptr;
  return &(plans_[id] = x->plan);
}

Result<std::optional<uint64_t>> EventIndexer::PlanOfEvent(model::Seq seq) {
  auto it = plan_of_event_.find(seq);
  if (it != plan_of_event_.end()) return it->second;
  auto d = log_.Read(seq);
  std::optional<uint64_t> plan;
  if (d.ok() && d->kind == RecordKind::kEvent) {
    const model::EventPayload& p = d->event.payload;
    if (const auto* x = std::get_if<model::PlanProposed>(&p)) plan = x->plan.id;
    if (const auto* x = std::get_if<model::StepStarted>(&p)) plan = x->plan_id;
    if (const auto* x = std::get_if<model::StepProgress>(&p)) plan = x->plan_id;
    if (const auto* x = std::get_if<model::StepCompleted>(&p)) plan = x->plan_id;
    if (const auto* x = std::get_if<model::StepFailed>(&p)) plan = x->plan_id;
    if (const auto* x = std::get_if<model::PlanFinished>(&p)) plan = x->plan_id;
  } else if (!d.ok() && d.status().code() != StatusCode::kNotFound) {
    return d.status();
  }
  plan_of_event_[seq] = plan;
  return plan;
}

Status EventIndexer::Add(const model::Event& e, RecordKind kind, uint16_t tag,
                         const std::string& address, std::vector<IndexEntry>* out) {
  RS_RETURN_IF_ERROR(LoadMembersAndTopology());
  Subjects subj;
  const std::string seq_key = SeqKey(e.seq);
  // Anything a plan's events caused belongs to the plan's history (EventMatcher::MatchesPlan).
  if (e.cause != 0 && e.cause < e.seq) {
    RS_ASSIGN_OR_RETURN(auto plan, PlanOfEvent(e.cause));
    if (plan) subj.plans.insert(*plan);
  }
  std::optional<uint64_t> own_plan;
  if (kind == RecordKind::kCompacted) {
    subj.nodes.insert(address);
  } else if (kind == RecordKind::kEvent) {
    const model::EventPayload& p = e.payload;
    // A step event or a finish concerns what its plan's steps (or the one step) touch.
    auto plan_steps = [&](uint64_t plan_id, std::optional<uint32_t> step,
                          bool with_slots) -> Status {
      own_plan = plan_id;
      subj.plans.insert(plan_id);
      RS_ASSIGN_OR_RETURN(const model::Plan* plan, PlanById(plan_id));
      if (plan == nullptr) return Status::Ok();
      for (uint32_t i = 0; i < plan->steps.size(); ++i) {
        if (!step || *step == i) subj.AddStep(plan->steps[i], with_slots);
      }
      return Status::Ok();
    };
    if (const auto* x = std::get_if<model::MembershipChanged>(&p)) {
      std::set<std::string> now;
      for (const model::Member& m : x->members) now.insert(m.address);
      for (const std::string& a : now) {
        if (!members_.count(a)) subj.nodes.insert(a);
      }
      for (const std::string& a : members_) {
        if (!now.count(a)) subj.nodes.insert(a);
      }
      members_ = std::move(now);
      out->push_back({MembershipIndexPrefix() + seq_key, ""});
    } else if (const auto* x = std::get_if<model::NodeHealthChanged>(&p)) {
      subj.nodes.insert(x->address);
    } else if (const auto* x = std::get_if<model::NodeObserved>(&p)) {
      subj.nodes.insert(x->address);
      for (const model::OpenSlot& s : x->observation.open_slots) subj.slots.push_back({s.slot, s.slot});
    } else if (const auto* x = std::get_if<model::OperatorRequested>(&p)) {
      const model::OperatorRequest& q = x->request;
      subj.nodes.insert({q.from, q.to, q.node});
      for (const auto& [addr, w] : q.weights) subj.nodes.insert(addr);
      subj.slots = q.slots;
      subj.plans.insert(q.plan_id);
    } else if (const auto* x = std::get_if<model::OperatorRejected>(&p)) {
      out->push_back({RequestIndexPrefix(x->request_id) + seq_key, ""});
    } else if (const auto* x = std::get_if<model::PlanProposed>(&p)) {
      for (const model::Step& s : x->plan.steps) subj.AddStep(s, true);
      own_plan = x->plan.id;
      subj.plans.insert(x->plan.id);
      plans_[x->plan.id] = x->plan;
      out->push_back({ProposalIndexPrefix(x->plan.id) + seq_key, ""});
      out->push_back({RequestIndexPrefix(x->request_id) + seq_key, ""});
    } else if (const auto* x = std::get_if<model::StepStarted>(&p)) {
      RS_RETURN_IF_ERROR(plan_steps(x->plan_id, x->step, true));
    } else if (const auto* x = std::get_if<model::StepProgress>(&p)) {
      // A progress event's slots are the ones it finished, not its step's (MatchesSlot).
      RS_RETURN_IF_ERROR(plan_steps(x->plan_id, x->step, false));
      subj.slots = x->slots_done;
    } else if (const auto* x = std::get_if<model::StepCompleted>(&p)) {
      RS_RETURN_IF_ERROR(plan_steps(x->plan_id, x->step, true));
    } else if (const auto* x = std::get_if<model::StepFailed>(&p)) {
      RS_RETURN_IF_ERROR(plan_steps(x->plan_id, x->step, true));
    } else if (const auto* x = std::get_if<model::PlanFinished>(&p)) {
      RS_RETURN_IF_ERROR(plan_steps(x->plan_id, std::nullopt, true));
    } else if (const auto* x = std::get_if<model::TopologyCommitted>(&p)) {
      // Matched against the topology in effect, whether or not this commit takes effect.
      const model::Topology& t = x->topology;
      std::vector<const std::string*> before = Owners(topology_), after = Owners(t);
      for (int slot = 0; slot < model::kSlotCount; ++slot) {
        const std::string* a = before[slot];
        const std::string* b = after[slot];
        if ((a == nullptr) != (b == nullptr) || (a && *a != *b)) {
          subj.slots.push_back({static_cast<uint16_t>(slot), static_cast<uint16_t>(slot)});
        }
      }
      std::set<std::string> addrs;
      for (const model::Topology* tp : {static_cast<const model::Topology*>(&topology_), &t}) {
        for (const model::Shard& s : tp->shards) {
          addrs.insert(s.master.address);
          for (const model::NodeRef& r : s.replicas) addrs.insert(r.address);
        }
      }
      for (const std::string& a : addrs) {
        if (PlaceOf(t, a) != PlaceOf(topology_, a)) subj.nodes.insert(a);
      }
      if (topology_.epoch == 0 || t.epoch > topology_.epoch) {
        topology_ = t;
        out->push_back({TopologyIndexPrefix() + seq_key, ""});
      }
    } else if (const auto* x = std::get_if<model::AlertRaised>(&p)) {
      for (std::string& a : AlertNodes(x->subject)) subj.nodes.insert(std::move(a));
    }
  }
  if (own_plan) plan_of_event_[e.seq] = own_plan;
  else plan_of_event_[e.seq] = std::nullopt;
  subj.Emit(e.seq, tag, out);
  return Status::Ok();
}

void EventIndexer::Trim() {
  while (plans_.size() > kMaxPlans) plans_.erase(plans_.begin());
  while (plan_of_event_.size() > kMaxPlanOfEvent) plan_of_event_.erase(plan_of_event_.begin());
}

void EventIndexer::Forget() {
  loaded_ = false;
  members_.clear();
  topology_ = model::Topology{};
  plans_.clear();
  plan_of_event_.clear();
}

}  // namespace rs::eventlog
