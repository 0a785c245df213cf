// How long the planner's decisions take, for /metrics: the controller adds one per
// planner::Make, the metrics page reads the totals. Process-wide, like the planner loop it counts.
// Thread contract: Add and Read from any thread (relaxed atomics: two independent counters).
#pragma once

#include <atomic>
#include <cstdint>

namespace rs::admin {

struct DecisionTotals {
  uint64_t decisions = 0;
  uint64_t nanos = 0;
};

class DecisionTiming {
 public:
  static DecisionTiming& Planner();

  void Add(uint64_t nanos) {
    decisions_.fetch_add(1, std::memory_order_relaxed);
    nanos_.fetch_add(nanos, std::memory_order_relaxed);
  }
  DecisionTotals Read() const {
    return {decisions_.load(std::memory_order_relaxed), nanos_.load(std::memory_order_relaxed)};
  }

 private:
  std::atomic<uint64_t> decisions_{0};
  std::atomic<uint64_t> nanos_{0};
};

inline DecisionTiming& DecisionTiming::Planner() {
  static DecisionTiming timing;
  return timing;
}

}  // namespace rs::admin
