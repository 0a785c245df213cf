#include "discovery/debounce.h"

#include <algorithm>
#include <set>

namespace rs::discovery {
namespace {

bool ByAddress(const model::Member& a, const model::Member& b) {
  return a.address < b.address;
}

}  // namespace

MembershipDebounce::MembershipDebounce(DebounceOptions options, std::string source)
    : options_(options), source_(std::move(source)) {}

void MembershipDebounce::Restore(std::vector<model::Member> members) {
  std::sort(members.begin(), members.end(), ByAddress);
  wanted_ = std::move(members);
  absent_since_.clear();
  mass_since_.reset();
}

std::optional<model::MembershipChanged> MembershipDebounce::Offer(
    std::vector<model::Member> snapshot, int64_t now_ms, const ReachableFn& reachable) {
  std::sort(snapshot.begin(), snapshot.end(), ByAddress);
  snapshot_ = std::move(snapshot);
  have_snapshot_ = true;
  return Evaluate(now_ms, reachable);
}

std::optional<model::MembershipChanged> MembershipDebounce::Tick(int64_t now_ms,
                                                                    const ReachableFn& reachable) {
  if (!have_snapshot_) return std::nullopt;
  return Evaluate(now_ms, reachable);
}

std::optional<model::MembershipChanged> MembershipDebounce::Evaluate(
    int64_t now_ms, const ReachableFn& reachable) {
  std::set<std::string> in_snapshot;
  for (const auto& m : snapshot_) in_snapshot.insert(m.address);

  std::vector<const model::Member*> missing;
  for (const auto& m : wanted_) {
    if (!in_snapshot.count(m.address)) missing.push_back(&m);
  }
  // Forget absence timers of members that came back (or were removed).
  for (auto it = absent_since_.begin(); it != absent_since_.end();) {
    bool still_missing =
        std::any_of(missing.begin(), missing.end(),
                    [&](const model::Member* m) { return m->address == it->first; });
    it = still_missing ? std::next(it) : absent_since_.erase(it);
  }
  for (const auto* m : missing) absent_since_.emplace(m->address, now_ms);

  // "More than half at once" is measured against the set we act on, not the previous snapshot,
  // so a shrink that arrives in two steps is still a mass shrink.
  bool mass = !missing.empty() && (snapshot_.empty() || missing.size() * 2 > wanted_.size());
  if (mass) {
    if (!mass_since_) mass_since_ = now_ms;
  } else {
    mass_since_.reset();
  }

  std::set<std::string> removable;
  if (mass) {
    bool persisted = now_ms - *mass_since_ >= options_.mass_removal_grace_ms;
    bool all_unreachable =
        std::none_of(missing.begin(), missing.end(),
                     [&](const model::Member* m) { return reachable(m->address); });
    if (persisted && all_unreachable) {
      for (const auto* m : missing) removable.insert(m->address);
    }
  } else {
    for (const auto* m : missing) {
      if (now_ms - absent_since_[m->address] >= options_.removal_grace_ms) {
        removable.insert(m->address);
      }
    }
  }

  std::vector<model::Member> next = snapshot_;
  for (const auto* m : missing) {
    if (!removable.count(m->address)) next.push_back(*m);
  }
  std::sort(next.begin(), next.end(), ByAddress);
  for (const auto& a : removable) absent_since_.erase(a);
  if (!removable.empty()) mass_since_.reset();

  if (next == wanted_) return std::nullopt;
  wanted_ = next;
  return model::MembershipChanged{std::move(next), source_};
}

std::vector<std::string> MembershipDebounce::PendingRemovals() const {
  std::vector<std::string> out;
  for (const auto& [address, since] : absent_since_) out.push_back(address);
  return out;
}

}  // namespace rs::discovery
