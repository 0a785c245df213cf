// Event <-> bytes and ClusterState <-> bytes: the packed Cap'n Proto form of events.capnp.
// Thread contract: free functions, no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "model/cluster_state.h"
#include "model/event.h"

namespace rs::eventlog {

// The log stores the model's events and states (src/model); its interfaces speak of them by these
// names.
using model::ClusterState;
using model::Event;
using model::EventPayload;
using model::Seq;

// What a stored record turned out to be. Unknown and compacted records keep their header
// (seq, time, cause, source) and are skipped by the fold.
enum class RecordKind : uint8_t {
  kEvent = 0,      // A kind this binary knows; `event.payload` is valid.
  kUnknown = 1,    // Written by a newer binary: union tag `tag` is not known here.
  kCompacted = 2,  // Replaced by retention; `tag` is the original kind's tag.
};

struct DecodedEvent {
  Event event;
  RecordKind kind = RecordKind::kEvent;
  uint16_t tag = 0;     // The persisted union tag (see events.capnp).
  std::string address;  // kCompacted: the node the compacted event was about.
};

// The persisted union tag of a payload (its ordinal in events.capnp's `payload` union).
uint16_t EventTag(const EventPayload& payload);
// The name of a tag ("node-health", ...); "unknown-<tag>" for tags this binary does not know.
std::string TagName(uint16_t tag);
// The tag for a kind name as EventKindName prints it; 0xffff when there is none.
uint16_t TagForName(std::string_view name);

std::string EncodeEvent(const Event& event);
// A tombstone for `event` (a health or observation event) that keeps its header.
std::string EncodeCompacted(const Event& event);
// Corruption when the bytes are not a valid packed message.
Result<DecodedEvent> DecodeEvent(std::string_view bytes);

// Deterministic: the same state always gives the same bytes.
std::string EncodeState(const ClusterState& state);
Result<ClusterState> DecodeState(std::string_view bytes);

}  // namespace rs::eventlog
