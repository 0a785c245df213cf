// CLUSTER NODES text (Redis 7 formats) → validated peer views. Pure: no sockets.
#pragma once

#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/node_view.h"

namespace rs::health {

struct ClusterNodes {
  model::PeerView myself;                   // The "myself" line.
  std::vector<model::OpenSlot> open_slots;  // MIGRATING/IMPORTING entries of the myself line.
  std::vector<model::PeerView> peers;       // Every other line, sorted by id.
};

// Accepts `ip:port@cport`, `ip:port@cport,hostname`, the pre-4.0 `ip:port`, the empty address of
// a fresh or noaddr node (`:7000@17000`, `:0@0`), flag lists such as `myself,master`, `fail?`,
// `handshake`, `noaddr`, slot ranges and open-slot entries `[5461->-id]` / `[5461-<-id]`.
// Errors name the line and the field.
Result<ClusterNodes> ParseClusterNodes(std::string_view text);

// Fills id, role, master_id, slots, open_slots, config_epoch and peers of `obs`.
void ApplyClusterNodes(const ClusterNodes& nodes, model::NodeObservation* obs);

}  // namespace rs::health
