// What a Redis node reports about itself and the cluster (from CLUSTER NODES, ROLE and INFO),
// and how healthy the prober finds it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/types.h"

namespace rs::model {

// kUnknown is also what a value written by a newer binary reads as (Role likewise).
enum class Health : uint8_t { kUnknown = 0, kUp = 1, kSuspect = 2, kDown = 3 };
enum class HealthReason : uint8_t {
  kNone = 0,
  kRefused = 1,      // Connection refused: the process is gone, the host answers.
  kTimeout = 2,      // No answer in time: dead host, stopped process or a partition.
  kLoading = 3,      // Redis is loading its dataset.
  kAuth = 4,         // Authentication failed.
  kClusterDown = 5,  // cluster_state:fail for longer than Redis's own failover window.
  kError = 6,        // Any other error reply or protocol failure.
  kUnknown = 255,    // Read from the log, written by a newer binary.
};

// "unknown", "up", "suspect", "down": how logs, redis-svc, the console and metrics name it.
std::string_view HealthName(Health h);

struct NodeHealth {
  Health health = Health::kUnknown;
  HealthReason reason = HealthReason::kNone;
  std::string detail;     // Human-readable, e.g. "connect: Connection refused".
  int64_t since_ms = 0;   // When this health state began (wall clock of the prober).
  auto operator<=>(const NodeHealth&) const = default;
};

enum class Role : uint8_t { kUnknown = 0, kMaster = 1, kReplica = 2 };

// A slot in MIGRATING or IMPORTING state on the observed node.
struct OpenSlot {
  uint16_t slot = 0;
  bool migrating = false;  // true: MIGRATING to peer_id; false: IMPORTING from peer_id.
  std::string peer_id;
  auto operator<=>(const OpenSlot&) const = default;
};

// One other node as the observed node sees it (a line of its CLUSTER NODES).
struct PeerView {
  std::string id;
  std::string address;  // "ip:port" without the cluster bus port; empty for noaddr.
  Role role = Role::kUnknown;
  std::string master_id;  // For replicas.
  bool pfail = false;     // "fail?"
  bool fail = false;      // "fail"
  bool handshake = false;
  bool connected = true;  // link-state
  uint64_t config_epoch = 0;
  std::vector<SlotRange> slots;
  auto operator<=>(const PeerView&) const = default;
};

// A node's own view: what the prober learned from it in one round.
struct NodeObservation {
  std::string id;  // The node's own cluster node id.
  Role role = Role::kUnknown;
  std::string master_id;  // For a replica: its master's id.
  std::vector<SlotRange> slots;
  std::vector<OpenSlot> open_slots;
  uint64_t config_epoch = 0;
  uint64_t current_epoch = 0;
  uint64_t repl_offset = 0;    // master_repl_offset / slave_repl_offset.
  bool master_link_up = false; // For a replica: master_link_status:up.
  bool cluster_ok = false;     // cluster_state:ok
  uint64_t keys = 0;           // Keys in db0.
  std::vector<PeerView> peers; // Every other node it knows, sorted by id.
  auto operator<=>(const NodeObservation&) const = default;
};

// True when two observations of a node say the same about the cluster's layout: the node's own
// role, master, slots and open slots, and for every peer it knows its address, role, master,
// slots, handshake and fail flags. Offsets, key counts, pfail and link states are left out: they
// change all the time without the layout changing.
bool SameLayoutView(const NodeObservation& a, const NodeObservation& b);

}  // namespace rs::model
