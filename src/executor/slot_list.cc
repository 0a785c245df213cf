#include "executor/slot_list.h"

namespace rs::executor {

std::vector<uint16_t> ExpandSlots(const std::vector<model::SlotRange>& ranges) {
  std::vector<uint16_t> out;
  for (const model::SlotRange& r : ranges) {
    for (uint32_t s = r.first; s <= r.last; ++s) out.push_back(static_cast<uint16_t>(s));
  }
  return out;
}

std::vector<model::SlotRange> CompressSlots(const std::vector<uint16_t>& slots) {
  std::vector<model::SlotRange> out;
  for (uint16_t s : slots) out.push_back({s, s});
  return model::NormalizeRanges(std::move(out));
}

std::string HostOf(const std::string& address) { return address.substr(0, address.rfind(':')); }

std::string PortOf(const std::string& address) { return address.substr(address.rfind(':') + 1); }

}  // namespace rs::executor
