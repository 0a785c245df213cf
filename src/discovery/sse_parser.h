// Incremental parser for the lainlet watch stream (text/event-stream framing, lainlet-api.md 1.3).
// Pure: no sockets. Thread contract: one owner, not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rs::discovery {

struct SseEvent {
  std::string id;     // "" when the event had no id line.
  std::string event;  // "" when the event had no event line.
  std::string data;   // data lines joined by '\n'; "" when there was none.
  bool has_data = false;
  auto operator<=>(const SseEvent&) const = default;
};

// Follows the SSE rules rather than lainlet's Go client: fields are gathered and an event is
// dispatched on the blank line, events without data (heartbeat) are dispatched too, lines
// starting with ':' and unknown fields are ignored. Lines end with "\n", "\r\n" or "\r", and any
// of them may be split across Feed calls.
class SseParser {
 public:
  // A lainlet snapshot of a large app is a few hundred KB; anything far larger is a broken peer.
  static constexpr size_t kDefaultMaxLine = 16 << 20;

  explicit SseParser(size_t max_line = kDefaultMaxLine) : max_line_(max_line) {}

  // Consumes all of `bytes`, appending every completed event to `out`. After an error the parser
  // is poisoned: the connection it reads from must be dropped.
  Status Feed(std::string_view bytes, std::vector<SseEvent>* out);

  // Drops any partial line or event (a new connection starts clean).
  void Reset();

 private:
  void HandleLine(std::string_view line, std::vector<SseEvent>* out);

  size_t max_line_;
  std::string line_;
  bool skip_lf_ = false;  // The previous chunk ended in '\r': a leading '\n' belongs to it.
  bool in_event_ = false;
  bool poisoned_ = false;
  SseEvent pending_;
};

}  // namespace rs::discovery
