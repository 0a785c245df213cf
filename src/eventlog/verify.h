// Verify: the full check behind `redis-svc verify`. Decodes every record, checks the sequence
// has no gap and every key matches its record, and that every stored snapshot equals the fold
// from the first event (a snapshot is only an optimisation and must never change the answer).
// Thread contract: reads only; safe beside the writer when the log was opened read-only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "eventlog/event_log.h"

namespace rs::eventlog {

struct VerifyReport {
  uint64_t records = 0;    // Keys in `events`.
  uint64_t events = 0;     // Records of a known kind.
  uint64_t unknown = 0;    // Records of a kind this binary does not know (skipped by the fold).
  uint64_t compacted = 0;  // Retention tombstones.
  Seq first = 0;
  Seq last = 0;
  uint64_t snapshots = 0;          // Snapshots stored.
  uint64_t snapshots_checked = 0;  // Compared with the fold and found equal.
  std::map<uint16_t, uint64_t> by_tag;
  std::vector<std::string> errors;  // Each names the sequence; the first kMaxErrors only.
  bool ok() const { return errors.empty(); }

  static constexpr size_t kMaxErrors = 20;
};

VerifyReport Verify(const EventLog& log);

}  // namespace rs::eventlog
