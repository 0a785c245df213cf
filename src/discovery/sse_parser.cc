#include "discovery/sse_parser.h"

#include <fmt/format.h>

namespace rs::discovery {

Status SseParser::Feed(std::string_view bytes, std::vector<SseEvent>* out) {
  if (poisoned_) return Status::FailedPrecondition("sse parser used after an error");
  size_t i = 0;
  while (i < bytes.size()) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (bytes[i] == '\n') {
        ++i;
        continue;
      }
    }
    size_t end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(i));
      if (line_.size() > max_line_) {
        poisoned_ = true;
        return Status::Corruption(fmt::format("event-stream line longer than {} bytes", max_line_));
      }
      return Status::Ok();
    }
    line_.append(bytes.substr(i, end - i));
    if (line_.size() > max_line_) {
      poisoned_ = true;
      return Status::Corruption(fmt::format("event-stream line longer than {} bytes", max_line_));
    }
    if (bytes[end] == '\r') skip_lf_ = true;
    HandleLine(line_, out);
    line_.clear();
    i = end + 1;
  }
  return Status::Ok();
}

void SseParser::HandleLine(std::string_view line, std::vector<SseEvent>* out) {
  if (line.empty()) {
    if (in_event_) {
      if (pending_.has_data && !pending_.data.empty() && pending_.data.back() == '\n') {
        pending_.data.pop_back();
      }
      out->push_back(std::move(pending_));
    }
    pending_ = SseEvent{};
    in_event_ = false;
    return;
  }
  if (line.front() == ':') return;  // Comment.
  std::string_view name = line;
  std::string_view value;
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    name = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (name == "id") {
    pending_.id = std::string(value);
  } else if (name == "event") {
    pending_.event = std::string(value);
  } else if (name == "data") {
    pending_.data.append(value);
    pending_.data.push_back('\n');
    pending_.has_data = true;
  } else {
    return;  // Unknown field ("retry" or garbage): ignored, and does not start an event.
  }
  in_event_ = true;
}

void SseParser::Reset() {
  line_.clear();
  skip_lf_ = false;
  in_event_ = false;
  poisoned_ = false;
  pending_ = SseEvent{};
}

}  // namespace rs::discovery
