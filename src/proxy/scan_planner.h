// How SCAN walks a cluster through the proxy. The masters serving a slot are visited one after
// the other in address order, each with its own SCAN from 0 to 0; the client's cursor (ScanCursor)
// says which master, where in that master's SCAN, and up to which SlotMoveLog version slot moves
// have been checked. Nothing lives in a connection: any worker can take the next step.
//
// Redis promises that a key present for the whole scan is returned at least once. Keys travel
// with their slot, so before each step (PlanScan) and after each answer (NextScanCursor) the moves
// logged since the cursor's version are checked. A slot that arrived at a master the scan has
// already reached (its address sorts at or before the current one) may have brought keys that the
// scan saw nowhere, so the scan restarts at the first such master with node cursor 0 and scans
// the masters after it again: duplicates, never misses. Only the receiving master is judged, not
// the one the slot left: the proxy learns of moves late (keys migrate before the owner changes)
// and coalesced (one table diff can hide a hop through a master the scan has passed), so "from a
// master not yet scanned" cannot be told from "from a master scanned after the keys had left".
// A master that no longer serves a slot is left for the next one by address (its slots' moves
// are judged like any other). A cursor this process cannot read (another process's, or one whose
// moves fell out of the log) restarts the scan at the first master, never past one. Once slots
// stop moving, a scan restarts at most once more and then ends.
//
// Not covered: a move the proxy learns of only after the scan's last step (a migration still
// under way when the scan ends), and a slot that moves away and back between two tables the proxy
// sees.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "proxy/address_registry.h"
#include "proxy/routing_table.h"
#include "proxy/slot_move_log.h"

namespace rs::proxy {

// Why a step asks the master it asks.
enum class ScanReason {
  kNewScan,        // client cursor 0: the first master
  kContinue,       // the cursor's master, from the cursor's place in its SCAN
  kNextMaster,     // the cursor's master had answered its last page: the next one by address
  kMasterGone,     // the cursor's master serves no slot now: the next one by address
  kRestarted,      // slots arrived at a master the scan had reached: from the first such master
  kUnknownCursor,  // not a cursor of this process, or its moves were dropped: the first master
};
std::string_view ScanReasonName(ScanReason reason);

struct ScanStep {
  bool done = false;    // no master left: the client gets cursor 0 and no keys
  std::string address;  // the master to send SCAN <node_cursor> to, MATCH/COUNT/TYPE as given
  uint64_t node_cursor = 0;
  uint64_t version = 0;  // the SlotMoveLog version the step was checked at
  ScanReason reason = ScanReason::kNewScan;
};

// The masters a scan visits, in visiting order: those serving at least one slot, by address.
// The views point into `table`.
std::vector<std::string_view> ScanOrder(const RoutingTable& table);

// Thread contract for both functions: they only read `log` and `registry`, which are thread-safe;
// any worker may call them for any client's cursor.
//
// Where a client's cursor (already parsed, see ParseScanCursor) takes the scan now. Unavailable
// before the proxy has a table or while no master serves a slot.
Result<ScanStep> PlanScan(uint64_t client_cursor, const SlotMoveLog& log,
                          const AddressRegistry& registry);

// The cursor for the client once `step`'s master answered SCAN with `node_cursor`; 0 when the
// scan is done. Moves logged while the master was asked are checked here, so they are not lost
// between this step and the next. An error for a node cursor wider than
// ScanCursor::kNodeCursorBits, or a master without a cursor id (AddressRegistry full).
Result<uint64_t> NextScanCursor(const ScanStep& step, uint64_t node_cursor, const SlotMoveLog& log,
                                const AddressRegistry& registry);

}  // namespace rs::proxy
