#include "eventlog/verify.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace rs::eventlog {

using model::Apply;

VerifyReport Verify(const EventLog& log) {
  VerifyReport r;
  auto error = [&](std::string message) {
    if (r.errors.size() < VerifyReport::kMaxErrors) r.errors.push_back(std::move(message));
  };
  std::vector<Seq> snapshots = log.SnapshotSeqs();
  r.snapshots = snapshots.size();
  size_t next_snapshot = 0;

  ClusterState state;
  bool fold_ok = true;  // After a bad record the fold is no longer the log's meaning.
  Seq expect = 1;
  auto check_snapshots_upto = [&](Seq seq) {
    while (next_snapshot < snapshots.size() && snapshots[next_snapshot] <= seq) {
      Seq at = snapshots[next_snapshot++];
      auto snap = log.ReadSnapshot(at);
      if (!snap.ok()) {
        error(fmt::format("snapshot at event {}: {}", at, snap.status().message()));
      } else if (!fold_ok) {
        error(fmt::format("snapshot at event {}: not checked, the fold broke earlier", at));
      } else if (state.last_seq != at) {
        error(fmt::format("snapshot at event {}: no such event in the log", at));
      } else if (*snap != state) {
        error(fmt::format("snapshot at event {} differs from the fold of events 1..{}", at, at));
      } else {
        ++r.snapshots_checked;
      }
    }
  };

  Status s = log.ScanRaw(0, UINT64_MAX, [&](Seq seq, std::string_view bytes) {
    ++r.records;
    if (r.first == 0) r.first = seq;
    r.last = seq;
    if (seq != expect) {
      error(expect == 1 ? fmt::format("the log starts at event {}, not 1", seq)
                        : fmt::format("gap: events {}..{} are missing", expect, seq - 1));
      fold_ok = false;
    }
    expect = seq + 1;
    check_snapshots_upto(seq - 1);
    auto d = DecodeEvent(bytes);
    if (!d.ok()) {
      error(fmt::format("event {}: {}", seq, d.status().message()));
      fold_ok = false;
      return true;
    }
    if (d->event.seq != seq) {
      error(fmt::format("event {}: the record carries sequence {}", seq, d->event.seq));
      fold_ok = false;
    }
    ++r.by_tag[d->tag];
    switch (d->kind) {
      case RecordKind::kEvent:
        ++r.events;
        state = Apply(std::move(state), d->event);
        break;
      case RecordKind::kUnknown:
        ++r.unknown;
        spdlog::warn("event {}: unknown kind {}, skipped", seq, d->tag);
        [[fallthrough]];
      case RecordKind::kCompacted:
        if (d->kind == RecordKind::kCompacted) ++r.compacted;
        state.last_seq = d->event.seq;
        state.last_time_ms = d->event.time_ms;
        break;
    }
    return true;
  });
  if (!s.ok()) error(s.message());
  check_snapshots_upto(UINT64_MAX);
  return r;
}

}  // namespace rs::eventlog
