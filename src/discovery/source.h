// What every discovery source delivers: raw member snapshots, before the debounce.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "model/member.h"

namespace rs::discovery {

// Called on the source's loop thread with the full member set the source sees now.
using SnapshotFn = std::function<void(std::vector<model::Member> snapshot)>;

// Whether a source can give a member list (lainlet reachable, the members file valid), called
// on the loop thread when that changes: `reason` is the failure, or what ended it.
using SourceStatusFn = std::function<void(bool usable, std::string reason)>;

}  // namespace rs::discovery
