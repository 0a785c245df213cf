#include "model/types.h"

#include <algorithm>

#include <fmt/format.h>

namespace rs::model {

std::vector<SlotRange> NormalizeRanges(std::vector<SlotRange> ranges) {
  std::sort(ranges.begin(), ranges.end());
  std::vector<SlotRange> out;
  for (const SlotRange& r : ranges) {
    if (!out.empty() && static_cast<uint32_t>(out.back().last) + 1 >= r.first) {
      out.back().last = std::max(out.back().last, r.last);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

uint32_t CountSlots(const std::vector<SlotRange>& ranges) {
  uint32_t n = 0;
  for (const SlotRange& r : ranges) n += r.size();
  return n;
}

std::string RangesToString(const std::vector<SlotRange>& ranges) {
  std::string out;
  for (const SlotRange& r : ranges) {
    if (!out.empty()) out += ',';
    if (r.first == r.last) {
      out += fmt::format("{}", r.first);
    } else {
      out += fmt::format("{}-{}", r.first, r.last);
    }
  }
  return out.empty() ? "-" : out;
}

}  // namespace rs::model
