#include "common/slot.h"

#include <array>

namespace rs {
namespace {

// Tables for "slicing by 4": kCrc16Tables[k][v] is the CRC (from 0) of the byte v followed by k
// zero bytes, so four bytes cost four independent lookups instead of a chain of four. Built at
// compile time, so there is no initialisation order to worry about.
using Crc16Tables = std::array<std::array<uint16_t, 256>, 4>;

constexpr Crc16Tables MakeCrc16Tables() {
  Crc16Tables t{};
  for (int byte = 0; byte < 256; ++byte) {
    uint16_t crc = static_cast<uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
    t[0][byte] = crc;
  }
  for (int k = 1; k < 4; ++k) {
    for (int byte = 0; byte < 256; ++byte) {
      uint16_t prev = t[k - 1][byte];
      t[k][byte] = static_cast<uint16_t>((prev << 8) ^ t[0][prev >> 8]);
    }
  }
  return t;
}

constexpr Crc16Tables kCrc16Tables = MakeCrc16Tables();
static_assert(kCrc16Tables[0][1] == 0x1021 && kCrc16Tables[0][255] == 0x1EF0);

}  // namespace

uint16_t Crc16(std::string_view data) {
  const auto& t = kCrc16Tables;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  uint16_t crc = 0;
  // The state's two bytes fold into the next two message bytes (the CRC is linear).
  for (; n >= 4; p += 4, n -= 4) {
    crc = static_cast<uint16_t>(t[3][(crc >> 8) ^ p[0]] ^ t[2][(crc & 0xFF) ^ p[1]] ^
                                t[1][p[2]] ^ t[0][p[3]]);
  }
  for (; n > 0; ++p, --n) {
    crc = static_cast<uint16_t>((crc << 8) ^ t[0][((crc >> 8) ^ *p) & 0xFF]);
  }
  return crc;
}

std::string_view HashTagOf(std::string_view key) {
  size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  size_t close = key.find('}', open + 1);
  // No closing brace, or "{}" right after the first '{': Redis hashes the whole key.
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

}  // namespace rs
