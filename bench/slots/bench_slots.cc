// bench_slots: how fast KeySlot hashes keys, beside a naive bit-by-bit CRC16 as the baseline.
// Prints `name: value unit` lines (bench/run.sh slots). Usage: bench_slots [ms per measurement]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/slot.h"

namespace {

// The textbook CRC16-XMODEM, eight shift/xor rounds per byte: what one writes without a table.
uint16_t BitwiseCrc16(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char c : data) {
    crc ^= static_cast<uint16_t>(c << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

int BitwiseKeySlot(std::string_view key) {
  return BitwiseCrc16(rs::HashTagOf(key)) & (rs::kSlotCount - 1);
}

struct Rate {
  double keys_per_s;
  double mb_per_s;
};

volatile uint64_t g_sink;  // Keeps the compiler from dropping the work.

// Hashes `keys` round after round until `budget` has passed.
template <typename SlotFn>
Rate Measure(const std::vector<std::string>& keys, SlotFn slot_fn,
             std::chrono::milliseconds budget) {
  using Clock = std::chrono::steady_clock;
  uint64_t sum = 0;
  uint64_t hashed = 0;
  uint64_t bytes = 0;
  auto start = Clock::now();
  auto elapsed = Clock::duration::zero();
  while (elapsed < budget) {
    for (const auto& key : keys) sum += static_cast<uint64_t>(slot_fn(key));
    hashed += keys.size();
    for (const auto& key : keys) bytes += key.size();
    elapsed = Clock::now() - start;
  }
  g_sink = sum;
  double seconds = std::chrono::duration<double>(elapsed).count();
  return {static_cast<double>(hashed) / seconds, static_cast<double>(bytes) / seconds / 1e6};
}

void PrintRates(const char* suffix, Rate ours, Rate baseline) {
  std::printf("slot_hash_rate%s: %.0f keys/s\n", suffix, ours.keys_per_s);
  std::printf("slot_hash_throughput%s: %.1f MB/s\n", suffix, ours.mb_per_s);
  std::printf("baseline_bitwise_slot_hash_rate%s: %.0f keys/s\n", suffix, baseline.keys_per_s);
  std::printf("baseline_bitwise_slot_hash_throughput%s: %.1f MB/s\n", suffix, baseline.mb_per_s);
  std::printf("slot_hash_speedup_vs_bitwise%s: %.2f x\n", suffix,
              ours.keys_per_s / baseline.keys_per_s);
}

}  // namespace

int main(int argc, char** argv) {
  std::chrono::milliseconds budget(argc > 1 ? std::atoi(argv[1]) : 700);
  constexpr int kKeys = 100000;  // ~1.5 MB of keys: beyond L2, like a real key stream.
  std::vector<std::string> plain;
  std::vector<std::string> tagged;
  plain.reserve(kKeys);
  tagged.reserve(kKeys);
  char buf[64];
  for (int i = 0; i < kKeys; ++i) {
    std::snprintf(buf, sizeof(buf), "user:%08d", i);
    plain.emplace_back(buf);
    std::snprintf(buf, sizeof(buf), "{user%06d}:profile:%d", i / 4, i % 4);
    tagged.emplace_back(buf);
  }
  // Both implementations must agree before their speed means anything.
  for (int i = 0; i < kKeys; i += 97) {
    if (rs::KeySlot(plain[i]) != BitwiseKeySlot(plain[i]) ||
        rs::KeySlot(tagged[i]) != BitwiseKeySlot(tagged[i])) {
      std::fprintf(stderr, "bench_slots: KeySlot and the bitwise baseline disagree\n");
      return 1;
    }
  }
  auto ours = [](std::string_view k) { return rs::KeySlot(k); };
  std::printf("slot_key_bytes: %zu B\n", plain[0].size());
  PrintRates("", Measure(plain, ours, budget), Measure(plain, BitwiseKeySlot, budget));
  std::printf("slot_key_bytes_tagged: %zu B\n", tagged[0].size());
  PrintRates("_tagged", Measure(tagged, ours, budget), Measure(tagged, BitwiseKeySlot, budget));
  return 0;
}
