// Which events concern a node, a slot or a plan, and why an event happened (its cause chain).
// Shared by `redis-svc log` filters and `redis-svc audit`.
// Thread contract: a value type fed events in sequence order by one thread.
#pragma once

#include <map>
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

// Tracks what the filters need to know from earlier events (plans and their steps, members,
// each node's place in the committed topology). Feed it every event in order with Matches().
class EventMatcher {
 public:
  // from_start: the first event fed is event 1 (else the first membership change seen cannot
  // be shown as a difference).
  explicit EventMatcher(EventFilter filter, bool from_start = true)
      : filter_(std::move(filter)), members_known_(from_start) {}

  // Starts from the state just before the first event that will be fed (what `replay` shows),
  // instead of from an empty log: members, committed topology and the plan in flight.
  void Seed(const model::ClusterState& state);

  // Whether `d` concerns the filter; also records `d` for later events. Call for every event.
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

  EventFilter filter_;
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
