#include "common/resp_scanner.h"

#include <cstring>

#include "common/resp_parser.h"

namespace rs::resp {
namespace {

// Far above any real reply, far below overflow of the owed-element counter.
constexpr uint64_t kMaxOwed = uint64_t{1} << 62;

bool IsAggregate(char type) {
  return type == '*' || type == '%' || type == '~' || type == '>' || type == '|';
}

}  // namespace

void ReplyScanner::ResetProgress() {
  pos_ = 0;
  line_scan_ = 0;
  owed_ = 1;
  in_streamed_string_ = false;
  stream_depth_ = 0;
  have_top_ = false;
  top_type_ = ReplyType::kNull;
  top_line_begin_ = top_line_end_ = top_payload_begin_ = top_payload_end_ = 0;
  top_null_ = top_streamed_ = false;
}

void ReplyScanner::Reset() {
  ResetProgress();
  error_ = nullptr;
}

ScanStatus ReplyScanner::Fail(const char* message) {
  error_ = message;
  return ScanStatus::kError;
}

ScanStatus ReplyScanner::Scan(std::string_view buf, size_t* length, ReplyInfo* info) {
  *length = 0;
  if (error_ != nullptr) return ScanStatus::kError;
  while (true) {
    if (!in_streamed_string_ && owed_ == 0) {
      if (stream_depth_ == 0) break;
    }
    // Every element starts with a header line "<type><text>\r\n".
    if (pos_ >= buf.size()) return ScanStatus::kNeedMore;
    size_t from = line_scan_ > pos_ + 1 ? line_scan_ : pos_ + 1;
    const void* found =
        from < buf.size() ? std::memchr(buf.data() + from, '\r', buf.size() - from) : nullptr;
    if (found == nullptr) {
      line_scan_ = buf.size();
      return ScanStatus::kNeedMore;
    }
    size_t cr = static_cast<const char*>(found) - buf.data();
    if (cr + 1 >= buf.size()) {
      line_scan_ = cr;
      return ScanStatus::kNeedMore;
    }
    if (buf[cr + 1] != '\n') return Fail("Protocol error: CR not followed by LF");
    const char type = buf[pos_];
    const std::string_view line = buf.substr(pos_ + 1, cr - pos_ - 1);
    size_t next = cr + 2;

    if (in_streamed_string_) {
      int64_t chunk = 0;
      if (type != ';' || !ParseRedisInt(line, &chunk) || chunk < 0) {
        return Fail("Protocol error: bad chunk of a streamed string");
      }
      if (chunk == 0) {
        in_streamed_string_ = false;
      } else {
        if (buf.size() - next < static_cast<uint64_t>(chunk) + 2) return ScanStatus::kNeedMore;
        next += static_cast<size_t>(chunk);
        if (buf[next] != '\r' || buf[next + 1] != '\n') {
          return Fail("Protocol error: chunk not followed by CR LF");
        }
        next += 2;
      }
      pos_ = line_scan_ = next;
      continue;
    }

    if (owed_ == 0) {
      // Inside a streamed aggregate: either its end marker or one more element.
      if (type == '.') {
        if (!line.empty()) return Fail("Protocol error: bad end of a streamed aggregate");
        owed_ = stream_owed_[--stream_depth_];
        pos_ = line_scan_ = next;
        continue;
      }
      owed_ = 1;
    }

    const bool is_top = !have_top_ && type != '|' && owed_ == 1 && stream_depth_ == 0;
    bool is_null = false, is_streamed = false;
    size_t payload_begin = 0, payload_end = 0;

    switch (type) {
      case '+':
      case '-':
      case ':':
      case '_':
      case ',':
      case '#':
      case '(':
        --owed_;
        is_null = type == '_';
        break;
      case '$':
      case '!':
      case '=': {
        int64_t len = 0;
        if (type == '$' && line == "?") {
          --owed_;
          in_streamed_string_ = true;
          is_streamed = true;
          break;
        }
        if (!ParseRedisInt(line, &len) || len < -1 || (len == -1 && type != '$')) {
          return Fail("Protocol error: invalid bulk length");
        }
        --owed_;
        if (len == -1) {
          is_null = true;
          break;
        }
        if (buf.size() - next < static_cast<uint64_t>(len) + 2) {
          ++owed_;  // not taken yet: the whole element is read again next time
          line_scan_ = cr;
          return ScanStatus::kNeedMore;
        }
        payload_begin = next;
        payload_end = next + static_cast<size_t>(len);
        if (buf[payload_end] != '\r' || buf[payload_end + 1] != '\n') {
          return Fail("Protocol error: bulk payload not followed by CR LF");
        }
        next = payload_end + 2;
        break;
      }
      default: {
        if (!IsAggregate(type)) return Fail("Protocol error: unknown reply type byte");
        if (type != '|') --owed_;
        if (line == "?" && type != '|') {
          if (stream_depth_ == kMaxStreamDepth) {
            return Fail("Protocol error: streamed aggregates nested too deep");
          }
          stream_owed_[stream_depth_++] = owed_;
          owed_ = 0;
          is_streamed = true;
          break;
        }
        int64_t count = 0;
        if (!ParseRedisInt(line, &count) || count < -1 || (count == -1 && type != '*')) {
          return Fail("Protocol error: invalid aggregate length");
        }
        if (count == -1) {
          is_null = true;
          break;
        }
        const uint64_t per_entry = (type == '%' || type == '|') ? 2 : 1;
        if (static_cast<uint64_t>(count) > (kMaxOwed - owed_) / per_entry) {
          return Fail("Protocol error: aggregate too large");
        }
        owed_ += static_cast<uint64_t>(count) * per_entry;
        break;
      }
    }

    if (is_top) {
      have_top_ = true;
      top_type_ = static_cast<ReplyType>(type);
      top_line_begin_ = pos_ + 1;
      top_line_end_ = cr;
      top_payload_begin_ = payload_begin;
      top_payload_end_ = payload_end;
      top_null_ = is_null;
      top_streamed_ = is_streamed;
    }
    pos_ = line_scan_ = next;
  }

  *length = pos_;
  if (info != nullptr) {
    info->type = top_type_;
    info->line = buf.substr(top_line_begin_, top_line_end_ - top_line_begin_);
    info->payload = buf.substr(top_payload_begin_, top_payload_end_ - top_payload_begin_);
    info->is_null = top_null_;
    info->is_streamed = top_streamed_;
  }
  ResetProgress();
  return ScanStatus::kOk;
}

ScanStatus ScanReply(std::string_view buf, size_t* length, ReplyInfo* info) {
  ReplyScanner scanner;
  return scanner.Scan(buf, length, info);
}

}  // namespace rs::resp
