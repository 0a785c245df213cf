// Filtered reads of the log: the events a filter matches, through the history index when the log
// has one (event_index.h), else by reading from event 1. Both give the same events in the same
// order, with the same summaries and causes.
// Thread contract: free functions; the log is read-only here.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "eventlog/event_filter.h"
#include "eventlog/event_log.h"

namespace rs::svc {

// For each event of [from, to] (ascending) that `matcher` matches, fn(event, matcher) until fn
// returns false; matcher.Describe/CauseOf answer as of that event. An indexed matcher reads
// only the events the index names for the filter's plan, node or slot (every event when it has
// none); a scan-mode one reads [from, to], having been fed (or seeded with) what came before.
Status ForEachMatch(const eventlog::EventLog& log, EventMatcher& matcher, model::Seq from,
                    model::Seq to,
                    const std::function<bool(const eventlog::DecodedEvent&, const EventMatcher&)>&
                        fn);
// The same from `to` down to `from`; indexed matchers only.
Status ForEachMatchDescending(
    const eventlog::EventLog& log, EventMatcher& matcher, model::Seq from, model::Seq to,
    const std::function<bool(const eventlog::DecodedEvent&, const EventMatcher&)>& fn);

// One page of /v1/events: the first `limit` matches after `after` (ascending), or the newest
// `limit` (newest first). Identical with or without the index; without one it reads from
// event 1.
struct EventPageEntry {
  eventlog::DecodedEvent event;
  std::string summary;   // EventMatcher::Describe.
  model::Seq cause_of = 0;  // EventMatcher::CauseOf.
};
Result<std::vector<EventPageEntry>> EventPage(const eventlog::EventLog& log,
                                              const EventFilter& filter, model::Seq after,
                                              size_t limit, bool newest_first);

// The last proposal or rejection answering operator request `id` (what /v1/operations/ID
// shows); nullopt when none.
Result<std::optional<eventlog::DecodedEvent>> LastAnswerTo(const eventlog::EventLog& log,
                                                           uint64_t request_id);

}  // namespace rs::svc
