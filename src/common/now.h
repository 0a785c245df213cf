// The current time in milliseconds, read once here for every module.
#pragma once

#include <cstdint>

namespace rs {

// Wall clock: milliseconds since the Unix epoch (event times, health since, history ranges).
int64_t NowMs();
// Monotonic clock: milliseconds since an arbitrary start, for intervals only.
int64_t SteadyNowMs();

}  // namespace rs
