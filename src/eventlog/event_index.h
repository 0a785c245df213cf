// The history index: which events concern a node, a slot range or a plan, so filtered reads of
// the log (`/v1/events`, `redis-svc log` and `audit`) read those events instead of the whole log.
//
// Layout (the `index` column family; every key ends in the event's 8-byte big-endian sequence,
// so one prefix lists its events in order). Never renumber the kind bytes:
//   'n' address '\0'  node:     events naming the node (as EventMatcher's node filter reads them)
//   's' bucket(2)     slot:     events touching a slot of the bucket (slot / kSlotBucket); the
//                               value lists the event's ranges clipped to the bucket, so a query
//                               for one slot skips the others without reading the event. A commit
//                               that moves all 16384 slots writes 64 entries, not 16384.
//   'p' id(8)         plan:     its proposal, steps and finish, aborts naming it, and the events
//                               they caused (a topology commit, an alert)
//   'P' id(8)         proposal: each PlanProposed of the plan id (what its steps are)
//   'r' id(8)         request:  the proposals and rejections answering operator request id
//   'm'               membership changes
//   't'               topology commits that took effect (the fold's rule: epochs only grow)
// Values of 'n', 's' and 'p' start with the event's 2-byte tag, so a kind filter skips entries
// without reading the event.
//
// The entries are a superset: a reader checks each event with EventMatcher. Node entries of a
// topology commit or membership change name only the nodes whose place changed; slot entries of a
// commit only the slots whose owner changed. Retention rewrites health and observation events as
// tombstones and leaves their entries: a tombstone keeps its address and cause (so its node and
// plan entries still hold) and no longer matches a slot, which the reader's check sees.
//
// An index of this version is written in the same WriteBatch as its events; a log written by an
// older binary gets one at a writer's Open (one sequential pass, see EventLog::Open). The meta key
// kIndexKey says which version the index is; readers of a log without it scan.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/event.h"
#include "eventlog/event_codec.h"

namespace rs::eventlog {

class EventLog;

inline constexpr std::string_view kIndexKey = "index";
inline constexpr std::string_view kIndexValue = "redis-service event index v1";
inline constexpr int kSlotBucket = 256;

std::string NodeIndexPrefix(std::string_view address);
std::string SlotIndexPrefix(uint16_t slot);  // The slot's bucket.
std::string PlanIndexPrefix(uint64_t plan_id);
std::string ProposalIndexPrefix(uint64_t plan_id);
std::string RequestIndexPrefix(uint64_t request_id);
std::string MembershipIndexPrefix();
std::string TopologyIndexPrefix();

// The tag an 'n', 's' or 'p' entry's value carries.
uint16_t IndexedTag(std::string_view value);
// Whether an 's' entry's value lists `slot`.
bool IndexedSlotsContain(std::string_view value, uint16_t slot);

// The nodes an alert's subject names: "node ADDR" or "nodes A,B,C"; none for other subjects.
std::vector<std::string> AlertNodes(const std::string& subject);
// The nodes a step acts on: target, peer and `nodes`.
bool StepTouchesNode(const model::Step& s, const std::string& address);

struct IndexEntry {
  std::string key;
  std::string value;
};

// Computes a record's index entries. Keeps what later records need (the members, the topology in
// effect, recent plans and which recent events belong to a plan) and reads what it does not have
// from the log's index and events.
// Thread contract: used by the log's writer under its write lock.
class EventIndexer {
 public:
  explicit EventIndexer(const EventLog& log) : log_(log) {}

  // Appends the entries for the record at e.seq (kind/tag/address as DecodedEvent has them),
  // then remembers what later records need from it.
  Status Add(const model::Event& e, RecordKind kind, uint16_t tag, const std::string& address,
             std::vector<IndexEntry>* out);
  // After the entries so far are written: bounds the caches.
  void Trim();
  // After a failed write: forgets everything; it is read again from the log when needed.
  void Forget();

 private:
  Result<const model::Plan*> PlanById(uint64_t id);
  Result<std::optional<uint64_t>> PlanOfEvent(model::Seq seq);
  Status LoadMembersAndTopology();

  const EventLog& log_;
  bool loaded_ = false;
  std::set<std::string> members_;
  model::Topology topology_;  // In effect.
  std::map<uint64_t, model::Plan> plans_;
  std::map<model::Seq, std::optional<uint64_t>> plan_of_event_;
};

}  // namespace rs::eventlog
