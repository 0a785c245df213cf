// Which events concern a node, a slot or a plan, and why an event happened (its cause chain).
// Shared by `redis-svc log` filters, `redis-svc audit` and the admin API's /v1/events.
// Thread contract: one thread; a scan-mode matcher is fed events in sequence order.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/cluster_state.h"
#include "eventlog/event_codec.h"
#include "eventlog/event_log.h"

namespace rs::svc {

struct EventFilter {
  std::set<std::string> kinds;      // Kind names; empty = all.
  std::optional<std::string> node;  // Address.
  std::optional<uint16_t> slot;
  std::optional<uint64_t> plan;
};

// What the filters need to know from earlier events (plans and their steps, members, each
// node's place in the committed topology). Two modes, with the same answers:
//  - scan: fed every event in order with Matches(), it keeps what it learns;
//  - indexed (a log with has_index()): Matches() may be given any event; what came before it is
//    read from the log's history index, as of that event.
class EventMatcher {
 public:
  // Scan mode. from_start: the first event fed is event 1 (else the first membership change seen
  // cannot be shown as a difference).
  explicit EventMatcher(EventFilter filter, bool from_start = true)
      : filter_(std::move(filter)), members_known_(from_start) {}
  // Indexed mode; `log` must have an index and outlive the matcher.
  EventMatcher(EventFilter filter, const eventlog::EventLog& log);

  const EventFilter& filter() const { return filter_; }
  bool indexed() const { return log_ != nullptr; }
  // Indexed mode: the first error met reading the index or an event (the answers given since
  // may lack what could not be read).
  const Status& lookup_error() const { return lookup_error_; }

  // Scan mode: starts from the state just before the first event that will be fed (what
  // `replay` shows), instead of from an empty log: members, committed topology and the plan in
  // flight.
  void Seed(const model::ClusterState& state);

  // Whether `d` concerns the filter; also records `d` for later events. In scan mode call it
  // for every event. Describe and CauseOf then answer as of `d`.
  bool Matches(const eventlog::DecodedEvent& d);

  // Like svc::Describe, with what earlier events tell: a membership change as its difference
  // ("-127.0.0.1:7003#4"), a step event with the step it is about. For events already fed.
  std::string Describe(const eventlog::DecodedEvent& d) const;

  // The event that led to `d`: its cause, or for plan/step events the plan's proposal, or for a
  // proposal its first listed cause. 0 when none.
  model::Seq CauseOf(const eventlog::DecodedEvent& d) const;

 private:
  bool MatchesNode(const eventlog::DecodedEvent& d, const std::string& addr) const;
  bool MatchesSlot(const eventlog::DecodedEvent& d, uint16_t slot) const;
  bool MatchesPlan(const eventlog::DecodedEvent& d, uint64_t plan) const;
  void Record(const eventlog::DecodedEvent& d);
  const model::Step* StepOf(uint64_t plan_id, uint32_t step) const;
  // What earlier events tell, from the maps (scan) or the index (indexed), as of visible_.
  const model::Plan* PlanById(uint64_t id, model::Seq* proposed = nullptr) const;
  std::optional<uint64_t> PlanOfEvent(model::Seq seq) const;
  const std::map<std::string, uint32_t>& MembersBefore(model::Seq seq) const;
  const model::Topology& TopologyBefore(model::Seq seq) const;
  const eventlog::DecodedEvent* ReadCached(model::Seq seq) const;

  EventFilter filter_;
  // Indexed mode: the log, the last event visible to lookups (the one matched, once recorded)
  // and what was read for it.
  const eventlog::EventLog* log_ = nullptr;
  model::Seq visible_ = 0;
  mutable std::map<model::Seq, std::shared_ptr<const eventlog::DecodedEvent>> reads_;
  mutable std::map<model::Seq, std::map<std::string, uint32_t>> members_at_;
  mutable std::map<model::Seq, std::string> diffs_;
  mutable Status lookup_error_;

  std::map<uint64_t, model::Plan> plans_;
  std::map<uint64_t, model::Seq> proposed_at_;
  std::map<model::Seq, uint64_t> plan_of_event_;       // Events that belong to a plan.
  std::map<std::string, uint32_t> members_;               // Address -> instance.
  std::map<model::Seq, std::string> membership_diff_;  // Membership events, as differences.
  bool members_known_;
  model::Topology topology_;
};

// "master 0-5460" / "replica of 10.0.0.1:6379" / "absent": a node's place in a topology.
std::string PlaceIn(const model::Topology& t, const std::string& addr);
// The address owning `slot` in `t`, or "" when uncovered.
std::string OwnerOf(const model::Topology& t, uint16_t slot);

}  // namespace rs::svc
