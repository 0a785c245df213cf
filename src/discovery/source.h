// What every discovery source delivers: raw member snapshots, before the debounce.
#pragma once

#include <functional>
#include <vector>

#include "eventlog/event.h"

namespace rs::discovery {

// Called on the source's loop thread with the full member set the source sees now.
using SnapshotFn = std::function<void(std::vector<eventlog::Member> snapshot)>;

// Where discovery's events go (the controller appends them to the event log).
using EventSink = std::function<void(eventlog::EventPayload)>;

}  // namespace rs::discovery
