#include "executor/step_order.h"

namespace rs::executor {

using model::Step;
using model::StepKind;

bool RunsBesideOthers(StepKind kind) {
  switch (kind) {
    case StepKind::kSetConfigEpoch:
    case StepKind::kAssignSlots:
    case StepKind::kMeet:
    case StepKind::kReplicate:
    case StepKind::kMigrate:
      return true;
    default:
      return false;
  }
}

bool MustFollow(const Step& earlier, const Step& later) {
  if (!RunsBesideOthers(earlier.kind) || !RunsBesideOthers(later.kind)) return true;
  if ((earlier.kind == StepKind::kMigrate) != (later.kind == StepKind::kMigrate)) return true;
  auto is = [&](StepKind a, StepKind b) { return earlier.kind == a && later.kind == b; };
  if (is(StepKind::kSetConfigEpoch, StepKind::kMeet) ||
      is(StepKind::kMeet, StepKind::kSetConfigEpoch)) {
    return true;
  }
  const std::string& et = earlier.target.address;
  const std::string& ep = earlier.peer.address;
  const std::string& lt = later.target.address;
  const std::string& lp = later.peer.address;
  if (et == lt || (!ep.empty() && ep == lt) || (!lp.empty() && et == lp)) return true;
  if (!ep.empty() && ep == lp) {
    // One member met by many, one master replicated by many, one destination fed by many.
    return earlier.kind != later.kind;
  }
  return false;
}

}  // namespace rs::executor
