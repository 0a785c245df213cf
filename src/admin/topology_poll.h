// When GET /v1/topology answers: the long-poll rule the proxies rely on, pure so it is tested
// without a server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rs::admin {

// What the caller says it has seen: ?after=EPOCH[&generation=G].
struct TopologyPoll {
  std::optional<uint64_t> after;          // Absent: a plain read.
  std::optional<std::string> generation;  // Absent (or empty): the caller knows none.
};

// True when the current topology is answered at once (200); false: wait for a commit, 304 when
// the wait ends. At once: a plain read; an epoch newer than `after`; an epoch *older* than
// `after` or another generation (the caller followed a log this controller no longer has: its
// data dir was lost, so epochs started over). A controller with nothing committed yet (epoch 0)
// only answers plain reads at once: an empty topology would route nothing.
bool TopologyAnswersAtOnce(const TopologyPoll& poll, uint64_t epoch, std::string_view generation);

}  // namespace rs::admin
