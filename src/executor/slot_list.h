// Small helpers the steps share: slot ranges to and from slot lists, and the parts of an address.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/types.h"

namespace rs::executor {

// Every slot of `ranges`, ascending when the ranges are canonical.
std::vector<uint16_t> ExpandSlots(const std::vector<model::SlotRange>& ranges);
// The canonical ranges covering `slots`.
std::vector<model::SlotRange> CompressSlots(const std::vector<uint16_t>& slots);
// "host" and "port" of "host:port".
std::string HostOf(const std::string& address);
std::string PortOf(const std::string& address);

}  // namespace rs::executor
