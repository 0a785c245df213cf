// Retention: health and observation history may be thinned; everything else is kept forever.
//
// A node-health or node-observed event is compacted (replaced in place by a `compacted`
// tombstone that keeps its sequence, time, cause, source, kind and address) when
//   - it is older than the cutoff, and
//   - a later event of the same kind for the same address exists at or before the oldest
//     stored snapshot (so the state at every snapshot, and at the log's end, is unchanged and
//     `verify` still proves snapshot == fold).
// What an audit loses: the intermediate health states and observations of a node between two
// kept events (e.g. a flap up -> suspect -> up an hour ago), and `replay --at` a point inside a
// compacted stretch shows the node's previous health/observation instead. Causes stay resolvable:
// a tombstone still says what kind of event about which node it was.
// Thread contract: any thread, concurrently with appends: it reads through a RocksDB iterator
// and rewrites, in one EventLog::PutRawBatch, only events at or before the oldest snapshot,
// which no fold reads again.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "eventlog/event_log.h"

namespace rs::eventlog {

struct RetentionReport {
  uint64_t scanned = 0;
  uint64_t compacted = 0;
  Seq upto = 0;  // The oldest snapshot: nothing after it was touched.
};

// One sequential read of events 1..oldest snapshot; cutoff_ms is a wall-clock time.
Result<RetentionReport> CompactHealthHistory(EventLog& log, int64_t cutoff_ms);

}  // namespace rs::eventlog
