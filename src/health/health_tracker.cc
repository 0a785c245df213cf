#include "health/health_tracker.h"

namespace rs::health {

using model::Health;
using model::HealthReason;

std::optional<model::NodeHealth> HealthTracker::Update(const ProbeResult& r, int64_t now_ms) {
  Health health = Health::kUp;
  HealthReason reason = HealthReason::kNone;
  if (r.outcome != ProbeOutcome::kTimeout && r.outcome != ProbeOutcome::kError) failures_ = 0;
  switch (r.outcome) {
    case ProbeOutcome::kOk: {
      bool fail = !r.cluster_state_ok && r.slots_assigned > 0;
      if (!fail) {
        cluster_fail_since_.reset();
        cluster_ok_ = r.cluster_state_ok;
      } else {
        if (!cluster_fail_since_) cluster_fail_since_ = now_ms;
        bool persisted = now_ms - *cluster_fail_since_ >= options_.cluster_down_grace_ms;
        // Only an ok → fail edge is held back; a node that was not ok stays not ok.
        if (persisted) cluster_ok_ = false;
        if (persisted) {
          health = Health::kSuspect;
          reason = HealthReason::kClusterDown;
        }
      }
      break;
    }
    case ProbeOutcome::kRefused:
      health = Health::kDown;
      reason = HealthReason::kRefused;
      break;
    case ProbeOutcome::kTimeout:
    case ProbeOutcome::kError:
      ++failures_;
      if (failures_ < options_.suspect_after_failures && current_.health != Health::kUnknown) {
        return std::nullopt;  // Not yet a change; cluster_state is judged on the next answer.
      }
      health = failures_ >= options_.down_after_failures ? Health::kDown : Health::kSuspect;
      reason = r.outcome == ProbeOutcome::kTimeout ? HealthReason::kTimeout : HealthReason::kError;
      break;
    case ProbeOutcome::kLoading:
      health = Health::kSuspect;
      reason = HealthReason::kLoading;
      break;
    case ProbeOutcome::kAuth:
      health = Health::kSuspect;
      reason = HealthReason::kAuth;
      break;
  }
  if (r.outcome != ProbeOutcome::kOk) {
    cluster_fail_since_.reset();
    cluster_ok_ = false;
  }
  if (health == current_.health && reason == current_.reason) return std::nullopt;
  current_ = model::NodeHealth{health, reason, r.detail, now_ms};
  return current_;
}

}  // namespace rs::health
