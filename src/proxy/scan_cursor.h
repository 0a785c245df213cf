// The SCAN cursor the proxy hands to clients: one unsigned 64-bit number (decimal on the wire)
// that packs which master the scan is on, that master's own SCAN cursor, and the slot-move-log
// version the scan was last checked against. 0 starts a scan; a returned 0 means it is done.
//
//   bit 63 ........ 50 | 49 ........ 36 | 35 .................... 0
//       version (14)   | address id (14) | node cursor (36)
//
// Address ids and versions mean something only inside one proxy process (AddressRegistry,
// SlotMoveLog), so cursors do not outlive it and this layout may change between releases.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace rs::proxy {

struct ScanCursor {
  // Redis 7.0 cursors index a hash table: 2^36 buckets would be a 512 GiB bucket array, far
  // beyond any node, so a node cursor that does not fit is an error, never truncated.
  static constexpr int kNodeCursorBits = 36;
  static constexpr int kAddressIdBits = 14;
  static constexpr int kVersionBits = 14;
  static constexpr uint64_t kMaxNodeCursor = (uint64_t{1} << kNodeCursorBits) - 1;
  static constexpr uint16_t kMaxAddressId = (1 << kAddressIdBits) - 1;
  static constexpr uint16_t kVersionMask = (1 << kVersionBits) - 1;
  static_assert(kNodeCursorBits + kAddressIdBits + kVersionBits == 64);

  uint64_t node_cursor = 0;  // the master's own SCAN cursor, at most kMaxNodeCursor
  uint16_t address_id = 0;   // AddressRegistry id of the master; 1..kMaxAddressId
  uint16_t version = 0;      // the low kVersionBits of a SlotMoveLog version

  // Address id 0 is never handed out, so a cursor of an unfinished scan never encodes as 0.
  // Requires address_id != 0 and every field within its bits.
  uint64_t Encode() const;
  // Total: any number decodes; address_id 0 then says it is not a cursor this proxy made.
  static ScanCursor Decode(uint64_t cursor);

  std::string DebugString() const;  // "version=3 address_id=7 node_cursor=1024"
  bool operator==(const ScanCursor&) const = default;
};

// Parses SCAN's cursor argument exactly as Redis 7.0 does (strtoul, base 10): leading '+' or '-'
// taken ("-1" is 2^64-1), "" is 0; leading space, trailing bytes or overflow fail with
// errors::kInvalidCursor as the message.
Result<uint64_t> ParseScanCursor(std::string_view text);

}  // namespace rs::proxy
