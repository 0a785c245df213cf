// Small ids for master addresses, so a SCAN cursor can name a master in ScanCursor::kAddressIdBits
// bits. Append-only: an id means the same address for the life of the process, which is what lets
// a cursor handed out long ago still be read (or be known as not ours).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"
#include "proxy/scan_cursor.h"

namespace rs::proxy {

// Thread contract: thread-safe (one mutex); shared by all workers of a proxy.
class AddressRegistry {
 public:
  static constexpr uint16_t kNoId = 0;  // never handed out: keeps unfinished cursors non-zero
  static constexpr size_t kCapacity = ScanCursor::kMaxAddressId;  // ids 1..16383

  // Ids are handed out from `first_id` on, wrapping from kMaxAddressId to 1. The proxy starts at a
  // random id, so a cursor from an earlier process or another proxy seldom names a known address
  // and restarts its scan instead of resuming at a wrong master.
  explicit AddressRegistry(uint16_t first_id = 1);
  AddressRegistry(const AddressRegistry&) = delete;
  AddressRegistry& operator=(const AddressRegistry&) = delete;

  // The id of `address`, handing out the next one the first time; an error once all are taken.
  Result<uint16_t> Intern(std::string_view address);
  std::optional<uint16_t> Find(std::string_view address) const;
  // The address with `id`; the view stays valid as long as the registry.
  std::optional<std::string_view> Lookup(uint16_t id) const;
  size_t size() const;

 private:
  uint16_t IdAt(size_t index) const;

  const uint16_t first_id_;
  mutable std::mutex mu_;
  std::deque<std::string> addresses_;  // guarded by mu_; by index; a deque keeps views valid
  std::unordered_map<std::string_view, uint16_t> ids_;  // guarded by mu_; views into addresses_
};

}  // namespace rs::proxy
