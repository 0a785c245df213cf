#include "eventlog/retention.h"

#include <map>
#include <optional>
#include <string>
#include <utility>

namespace rs::eventlog {

using model::NodeHealthChanged;
using model::NodeObserved;

Result<RetentionReport> CompactHealthHistory(EventLog& log, int64_t cutoff_ms) {
  RetentionReport report;
  std::vector<Seq> snapshots = log.SnapshotSeqs();
  if (snapshots.empty()) return report;
  report.upto = snapshots.front();

  // The newest event seen so far per (kind, address): compactable once a newer one shows up.
  std::map<std::pair<uint16_t, std::string>, Event> last;
  std::vector<std::pair<Seq, std::string>> rewrites;
  RS_RETURN_IF_ERROR(log.Scan(1, report.upto, [&](const DecodedEvent& d) {
    ++report.scanned;
    if (d.kind != RecordKind::kEvent) return true;
    const std::string* address = nullptr;
    if (const auto* h = std::get_if<NodeHealthChanged>(&d.event.payload)) address = &h->address;
    if (const auto* o = std::get_if<NodeObserved>(&d.event.payload)) address = &o->address;
    if (address == nullptr) return true;
    auto key = std::make_pair(d.tag, *address);
    auto it = last.find(key);
    if (it != last.end() && it->second.time_ms < cutoff_ms) {
      rewrites.emplace_back(it->second.seq, EncodeCompacted(it->second));
    }
    // Keep only the header and the address: the tombstone needs nothing else.
    Event head{d.event.seq, d.event.time_ms, d.event.cause, d.event.source, {}};
    if (d.tag == EventTag(EventPayload(std::in_place_type<NodeHealthChanged>))) {
      head.payload = NodeHealthChanged{*address, {}};
    } else {
      head.payload = NodeObserved{*address, {}};
    }
    last[key] = std::move(head);
    return true;
  }));
  RS_RETURN_IF_ERROR(log.PutRawBatch(rewrites));
  report.compacted = rewrites.size();
  return report;
}

}  // namespace rs::eventlog
