#include "proxy/address_registry.h"

#include <fmt/format.h>

namespace rs::proxy {

AddressRegistry::AddressRegistry(uint16_t first_id)
    : first_id_(first_id == kNoId || first_id > ScanCursor::kMaxAddressId ? 1 : first_id) {}

uint16_t AddressRegistry::IdAt(size_t index) const {
  return static_cast<uint16_t>((first_id_ - 1 + index) % kCapacity + 1);
}

Result<uint16_t> AddressRegistry::Intern(std::string_view address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = ids_.find(address); it != ids_.end()) return it->second;
  if (addresses_.size() == kCapacity) {
    return Status::Unavailable(fmt::format(
        "no SCAN cursor id for master {}: all {} ids are taken by the masters this proxy has seen "
        "since it started",
        address, kCapacity));
  }
  uint16_t id = IdAt(addresses_.size());
  addresses_.emplace_back(address);
  ids_.emplace(addresses_.back(), id);
  return id;
}

std::optional<uint16_t> AddressRegistry::Find(std::string_view address) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ids_.find(address);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string_view> AddressRegistry::Lookup(uint16_t id) const {
  if (id == kNoId || id > ScanCursor::kMaxAddressId) return std::nullopt;
  size_t index = (id - first_id_ + kCapacity) % kCapacity;
  std::lock_guard<std::mutex> lock(mu_);
  if (index >= addresses_.size()) return std::nullopt;
  return std::string_view(addresses_[index]);
}

size_t AddressRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return addresses_.size();
}

}  // namespace rs::proxy
