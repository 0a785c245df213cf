#include "proxy/scan_planner.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace rs::proxy {

namespace {

// Where a scan stands: on `master`, at `node_cursor` of its SCAN, or past its last page.
struct Position {
  std::string_view master;
  uint64_t node_cursor = 0;
  bool finished = false;
};

Result<ScanStep> FirstMaster(const SlotMoveLog::View& view, ScanReason reason) {
  std::vector<std::string_view> order = ScanOrder(*view.table);
  if (order.empty()) return Status::Unavailable("SCAN: no master serves a slot");
  ScanStep step;
  step.address = std::string(order.front());
  step.version = view.version;
  step.reason = reason;
  return step;
}

// The step from `at`, given the moves in `view` (those since `at` was last checked).
Result<ScanStep> Judge(const Position& at, const SlotMoveLog::View& view,
                       const AddressRegistry& registry) {
  std::vector<std::string_view> order = ScanOrder(*view.table);
  if (order.empty()) return Status::Unavailable("SCAN: no master serves a slot");
  std::optional<std::string_view> restart;
  for (const SlotMoveLog::Entry& move : view.moves) {
    if (move.to_id == AddressRegistry::kNoId) continue;  // no keys arrive anywhere
    // The log interned every address it wrote, so an unknown id cannot happen; were it to, ""
    // restarts from the first master, which is never wrong.
    std::string_view to = registry.Lookup(move.to_id).value_or(std::string_view());
    if (to <= at.master && (!restart || to < *restart)) restart = to;
  }
  ScanStep step;
  step.version = view.version;
  std::vector<std::string_view>::const_iterator next;
  if (restart) {
    next = std::lower_bound(order.begin(), order.end(), *restart);
    step.reason = ScanReason::kRestarted;
  } else if (!at.finished && std::binary_search(order.begin(), order.end(), at.master)) {
    step.address = std::string(at.master);
    step.node_cursor = at.node_cursor;
    step.reason = ScanReason::kContinue;
    return step;
  } else {
    next = std::upper_bound(order.begin(), order.end(), at.master);
    step.reason = at.finished ? ScanReason::kNextMaster : ScanReason::kMasterGone;
  }
  if (next == order.end()) {
    step.done = true;
  } else {
    step.address = std::string(*next);
  }
  return step;
}

}  // namespace

std::string_view ScanReasonName(ScanReason reason) {
  switch (reason) {
    case ScanReason::kNewScan:
      return "new-scan";
    case ScanReason::kContinue:
      return "continue";
    case ScanReason::kNextMaster:
      return "next-master";
    case ScanReason::kMasterGone:
      return "master-gone";
    case ScanReason::kRestarted:
      return "restarted";
    case ScanReason::kUnknownCursor:
      return "unknown-cursor";
  }
  return "?";
}

std::vector<std::string_view> ScanOrder(const RoutingTable& table) {
  std::vector<bool> serving(table.masters.size());
  for (int16_t owner : table.owner) {
    if (owner >= 0) serving[owner] = true;
  }
  std::vector<std::string_view> order;
  for (size_t i = 0; i < serving.size(); ++i) {
    if (serving[i]) order.push_back(table.masters[i]);
  }
  std::sort(order.begin(), order.end());
  order.erase(std::unique(order.begin(), order.end()), order.end());
  return order;
}

Result<ScanStep> PlanScan(uint64_t client_cursor, const SlotMoveLog& log,
                          const AddressRegistry& registry) {
  if (client_cursor == 0) {
    SlotMoveLog::View view = log.Latest();
    if (!view.table) return Status::Unavailable("SCAN: no routing table yet");
    return FirstMaster(view, ScanReason::kNewScan);
  }
  ScanCursor cursor = ScanCursor::Decode(client_cursor);
  SlotMoveLog::View view = log.SinceCursorVersion(cursor.version);
  if (!view.table) return Status::Unavailable("SCAN: no routing table yet");
  std::optional<std::string_view> master = registry.Lookup(cursor.address_id);
  if (!master || !view.known) return FirstMaster(view, ScanReason::kUnknownCursor);
  return Judge(Position{*master, cursor.node_cursor, false}, view, registry);
}

Result<uint64_t> NextScanCursor(const ScanStep& step, uint64_t node_cursor, const SlotMoveLog& log,
                                const AddressRegistry& registry) {
  if (step.done) return uint64_t{0};
  if (node_cursor > ScanCursor::kMaxNodeCursor) {
    return Status::InvalidArgument(
        fmt::format("SCAN: {} answered with cursor {}, wider than the {} bits a proxy cursor "
                    "keeps for a node",
                    step.address, node_cursor, ScanCursor::kNodeCursorBits));
  }
  SlotMoveLog::View view = log.Since(step.version);
  if (!view.table) return Status::Unavailable("SCAN: no routing table yet");
  Result<ScanStep> next =
      view.known ? Judge(Position{step.address, node_cursor, node_cursor == 0}, view, registry)
                 : FirstMaster(view, ScanReason::kUnknownCursor);
  if (!next.ok()) return next.status();
  if (next->done) return uint64_t{0};
  std::optional<uint16_t> id = registry.Find(next->address);
  if (!id) {
    return Status::Unavailable(fmt::format(
        "SCAN: master {} has no cursor id: all {} are taken by masters seen since the proxy "
        "started",
        next->address, AddressRegistry::kCapacity));
  }
  return ScanCursor{next->node_cursor, *id,
                    static_cast<uint16_t>(next->version & ScanCursor::kVersionMask)}
      .Encode();
}

}  // namespace rs::proxy
