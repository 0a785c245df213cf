// Membership debounce: turns raw discovery snapshots into the wanted member set, never acting on
// one empty or shrunken snapshot (lainlet-api.md section 4.1). Pure: time and reachability are
// passed in. Thread contract: one owner, not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/event.h"

namespace rs::discovery {

struct DebounceOptions {
  // An ordinary removal: the member must be absent from every snapshot for this long.
  int64_t removal_grace_ms = 30'000;
  // An empty snapshot, or one that drops more than half of the members, must persist this long
  // AND every missing member must be unreachable before any of them is removed.
  int64_t mass_removal_grace_ms = 120'000;
};

// Whether the prober currently reaches a node ("host:port"). Unknown nodes count as reachable,
// so a mass removal waits until the prober has a verdict.
using ReachableFn = std::function<bool(std::string_view address)>;

// Members are identified by address: a member whose instance keeps its number but moves to a new
// IP is an addition (immediate) plus a removal of the old address (debounced).
// Additions and changes of a member's host label or instance number take effect at once.
class MembershipDebounce {
 public:
  MembershipDebounce(DebounceOptions options, std::string source);

  // Starts from the member set already recorded (e.g. folded from the event log), so a restart of
  // the controller does not re-announce it and a first empty snapshot cannot shrink it.
  void Restore(std::vector<model::Member> members);

  // A new snapshot from the source. Returns the new wanted set when it differs from the last one.
  std::optional<model::MembershipChanged> Offer(std::vector<model::Member> snapshot,
                                                   int64_t now_ms, const ReachableFn& reachable);

  // Re-evaluates the last snapshot as time passes (call every second or so).
  std::optional<model::MembershipChanged> Tick(int64_t now_ms, const ReachableFn& reachable);

  const std::vector<model::Member>& wanted() const { return wanted_; }
  // Addresses whose removal is being held back, for status pages and logs.
  std::vector<std::string> PendingRemovals() const;

 private:
  std::optional<model::MembershipChanged> Evaluate(int64_t now_ms, const ReachableFn& reachable);

  DebounceOptions options_;
  std::string source_;
  bool have_snapshot_ = false;
  std::vector<model::Member> snapshot_;       // The last snapshot offered.
  std::vector<model::Member> wanted_;         // The last set emitted (or restored).
  std::map<std::string, int64_t> absent_since_;  // Wanted members missing from snapshots.
  std::optional<int64_t> mass_since_;  // Start of the current run of empty/shrunken snapshots.
};

}  // namespace rs::discovery
