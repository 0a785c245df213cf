// Points in the log as operators name them: a sequence number ("1234"), an RFC 3339 time
// ("2026-11-24T19:05:52Z", "2026-11-24T20:05:52.5+01:00") or a time relative to now ("-1h",
// "-30m", "-2d", "-45s").
// Thread contract: free functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "eventlog/event_log.h"

namespace rs::svc {

struct LogPoint {
  bool is_seq = true;
  uint64_t seq = 0;
  int64_t time_ms = 0;
};

Result<LogPoint> ParseLogPoint(std::string_view text, int64_t now_ms);
Result<int64_t> ParseRfc3339(std::string_view text);
std::string FormatTime(int64_t ms);  // "2026-11-24T19:05:52.123Z"

// The first event at or after the point (for --since); last_seq()+1 when none.
Result<model::Seq> FirstAtOrAfter(const eventlog::EventLog& log, const LogPoint& p);
// The last event at or before the point (for --until and --at); 0 when none.
Result<model::Seq> LastAtOrBefore(const eventlog::EventLog& log, const LogPoint& p);

}  // namespace rs::svc
