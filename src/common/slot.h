// Redis Cluster key slots: CRC16-XMODEM of the key (or of its {hash tag}) modulo 16384.
#pragma once

#include <cstdint>
#include <string_view>

namespace rs {

// Number of hash slots in a Redis Cluster; slots are 0..kSlotCount-1.
inline constexpr int kSlotCount = 16384;

// CRC16-XMODEM (poly 0x1021, init 0, no reflection): the checksum Redis Cluster hashes keys with.
// Crc16("123456789") == 0x31C3.
uint16_t Crc16(std::string_view data);

// The bytes of `key` that decide its slot, as the cluster spec defines: if the key has a '{'
// followed later by a '}' with at least one byte between the first '{' and the first '}' after
// it, only those bytes; otherwise the whole key ("{}" and "a{}b" hash whole).
std::string_view HashTagOf(std::string_view key);

// The slot `key` maps to; identical to `CLUSTER KEYSLOT key`.
inline int KeySlot(std::string_view key) { return Crc16(HashTagOf(key)) & (kSlotCount - 1); }

}  // namespace rs
