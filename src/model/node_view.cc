#include "model/node_view.h"

#include <algorithm>

namespace rs::model {

std::string_view HealthName(Health h) {
  switch (h) {
    case Health::kUnknown:
      return "unknown";
    case Health::kUp:
      return "up";
    case Health::kSuspect:
      return "suspect";
    case Health::kDown:
      return "down";
  }
  return "?";
}

bool SameLayoutView(const NodeObservation& a, const NodeObservation& b) {
  auto same_peer = [](const PeerView& x, const PeerView& y) {
    return x.id == y.id && x.address == y.address && x.role == y.role &&
           x.master_id == y.master_id && x.handshake == y.handshake && x.fail == y.fail &&
           x.slots == y.slots;
  };
  return a.id == b.id && a.role == b.role && a.master_id == b.master_id && a.slots == b.slots &&
         a.open_slots == b.open_slots &&
         std::equal(a.peers.begin(), a.peers.end(), b.peers.begin(), b.peers.end(), same_peer);
}

}  // namespace rs::model
