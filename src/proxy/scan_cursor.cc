#include "proxy/scan_cursor.h"

#include <fmt/format.h>

#include <cassert>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "proxy/proxy_errors.h"

namespace rs::proxy {

namespace {
constexpr int kAddressIdShift = ScanCursor::kNodeCursorBits;
constexpr int kVersionShift = ScanCursor::kNodeCursorBits + ScanCursor::kAddressIdBits;
}  // namespace

uint64_t ScanCursor::Encode() const {
  assert(address_id != 0 && address_id <= kMaxAddressId);
  assert(node_cursor <= kMaxNodeCursor && version <= kVersionMask);
  return uint64_t{version} << kVersionShift | uint64_t{address_id} << kAddressIdShift | node_cursor;
}

ScanCursor ScanCursor::Decode(uint64_t cursor) {
  ScanCursor c;
  c.node_cursor = cursor & kMaxNodeCursor;
  c.address_id = static_cast<uint16_t>((cursor >> kAddressIdShift) & kMaxAddressId);
  c.version = static_cast<uint16_t>((cursor >> kVersionShift) & kVersionMask);
  return c;
}

std::string ScanCursor::DebugString() const {
  return fmt::format("version={} address_id={} node_cursor={}", version, address_id, node_cursor);
}

Result<uint64_t> ParseScanCursor(std::string_view text) {
  // strtoul needs a terminated string; like Redis's sds, bytes after an embedded NUL are unseen.
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  unsigned long long value = std::strtoull(copy.c_str(), &end, 10);
  if (std::isspace(static_cast<unsigned char>(copy.c_str()[0])) || *end != '\0' ||
      errno == ERANGE) {
    return Status::InvalidArgument(std::string(errors::kInvalidCursor));
  }
  return static_cast<uint64_t>(value);
}

}  // namespace rs::proxy
