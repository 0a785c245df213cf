#include "admin/topology_poll.h"

namespace rs::admin {

bool TopologyAnswersAtOnce(const TopologyPoll& poll, uint64_t epoch, std::string_view generation) {
  if (!poll.after) return true;
  if (epoch == 0) return false;
  if (epoch != *poll.after) return true;
  return poll.generation && !poll.generation->empty() && *poll.generation != generation;
}

}  // namespace rs::admin
