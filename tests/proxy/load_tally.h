// What each client thread of a load test saw, and figures drawn from it (the session load
// tests: tx_load.h, pop_load.h).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace rs::test {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// After an error reply a client waits this long before its next request, as real ones do.
constexpr std::chrono::milliseconds kBackoff{5};

// What one client saw. Written by its own thread only, read after the threads are joined.
struct Tally {
  uint64_t ops = 0;
  uint64_t failures = 0;  // error replies
  Clock::time_point last_failure{};
  std::string first_failure;
  Status transport;  // the connection to the proxy broke: the proxy must answer, not hang up

  void Fail(const std::string& what) {
    ++failures;
    last_failure = Clock::now();
    if (first_failure.empty()) first_failure = what;
  }
};

// `T`: a client's record with its `tally`.
// Errors of the clients after `since` ended this long after it (0 when there were none).
template <typename T>
double OutageAfter(const std::vector<T>& tallies, Clock::time_point since) {
  Clock::time_point last = since;
  for (const T& t : tallies) last = std::max(last, t.tally.last_failure);
  return Seconds(last - since);
}

// The first error any client saw, or "none".
template <typename T>
std::string FirstFailure(const std::vector<T>& tallies) {
  for (const T& t : tallies) {
    if (!t.tally.first_failure.empty()) return t.tally.first_failure;
  }
  return "none";
}

}  // namespace rs::test
