// Layout: who is master of which slots and who replicates whom, as the planner reasons about it.
// Plans are built by applying each step to a copy of the observed layout, so the topology a plan
// commits is exactly what its steps produce.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/plan.h"
#include "model/types.h"

namespace rs::planner {

// `from` without the slots of `remove`; both canonical.
std::vector<model::SlotRange> SubtractRanges(const std::vector<model::SlotRange>& from,
                                                const std::vector<model::SlotRange>& remove);

struct LayoutNode {
  std::string id;
  std::string host;
  bool master = true;
  std::string master_address;              // Replicas: their master.
  std::vector<model::SlotRange> slots;  // Masters: canonical form.
  bool down = false;                       // Down nodes stay out of the topology unless owners.
};

struct Layout {
  std::map<std::string, LayoutNode> nodes;  // By address: the nodes of the managed cluster.

  model::NodeRef Ref(const std::string& address) const;
  // Addresses of the replicas of `master`, sorted.
  std::vector<std::string> ReplicasOf(const std::string& master) const;
  // Addresses of masters, sorted.
  std::vector<std::string> Masters() const;

  // Applies a step the way the executor's success leaves Redis. kMeet adds `joining`
  // (the node as the view knows it); other kinds ignore it.
  void Apply(const model::Step& step, const LayoutNode* joining = nullptr);

  // Shards sorted by master address, replicas sorted; down replicas and down masters without
  // slots are left out (the proxy must not be sent to them).
  model::Topology ToTopology(uint64_t epoch) const;
};

}  // namespace rs::planner
