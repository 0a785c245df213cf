#include "common/resp_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "common/redis_errors.h"

namespace rs::resp {
namespace {

// Offset of the first `c` at or after `from`, or npos. memchr rather than Redis's strchr: a NUL
// byte must not hide the terminator (Redis would wait for more input instead).
size_t FindByte(std::string_view buf, size_t from, char c) {
  if (from >= buf.size()) return std::string_view::npos;
  // Length lines are short: a plain loop finds their CR before a memchr call would return.
  const size_t near = std::min(buf.size(), from + 8);
  for (size_t i = from; i < near; ++i) {
    if (buf[i] == c) return i;
  }
  if (near == buf.size()) return std::string_view::npos;
  const void* p = std::memchr(buf.data() + near, c, buf.size() - near);
  return p == nullptr ? std::string_view::npos : static_cast<const char*>(p) - buf.data();
}

std::string ExpectedDollarError(char got) {
  // addReplyErrorFormat maps CR and LF to spaces so the reply stays one line.
  if (got == '\r' || got == '\n') got = ' ';
  std::string message(redis_errors::kExpectedDollarPrefix);
  message.push_back(got);
  message.push_back('\'');
  return message;
}

// isspace() in the C locale, as sdssplitargs uses it to skip blanks between arguments.
bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

}  // namespace

bool ParseRedisInt(std::string_view text, int64_t* value) {
  // LONG_STR_SIZE is 21 in Redis: anything longer cannot be a valid long long.
  if (text.empty() || text.size() >= 21) return false;
  if (text.size() == 1 && text[0] == '0') {
    *value = 0;
    return true;
  }
  size_t i = 0;
  bool negative = false;
  if (text[0] == '-') {
    negative = true;
    if (++i == text.size()) return false;
  }
  if (text[i] < '1' || text[i] > '9') return false;
  uint64_t v = text[i++] - '0';
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    if (v > std::numeric_limits<uint64_t>::max() / 10) return false;
    v *= 10;
    if (v > std::numeric_limits<uint64_t>::max() - (c - '0')) return false;
    v += c - '0';
  }
  if (negative) {
    constexpr uint64_t kMaxNegative =
        static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1;
    if (v > kMaxNegative) return false;
    *value = v == kMaxNegative ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(v);
  } else {
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *value = static_cast<int64_t>(v);
  }
  return true;
}

bool SplitInlineArgs(std::string_view line, std::vector<std::string_view>* args,
                     std::vector<std::string>* storage) {
  args->clear();
  storage->clear();
  // sdssplitargs works on a C string: an embedded NUL ends the line.
  line = line.substr(0, std::min(line.size(), line.find('\0')));
  // Quoted arguments live in `storage`; reserving one slot per quote character up front means the
  // vector never reallocates, so views into its strings stay valid.
  storage->reserve(
      std::count_if(line.begin(), line.end(), [](char c) { return c == '"' || c == '\''; }));
  auto at = [&](size_t i) -> char { return i < line.size() ? line[i] : '\0'; };
  size_t p = 0;
  while (true) {
    while (p < line.size() && IsBlank(line[p])) ++p;
    if (p >= line.size()) return true;
    size_t start = p;
    // Unquoted prefix of the token: a view, unless a quote turns the token into a copy.
    while (p < line.size()) {
      char c = line[p];
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '"' || c == '\'') break;
      ++p;
    }
    if (p >= line.size() || (line[p] != '"' && line[p] != '\'')) {
      args->push_back(line.substr(start, p - start));
      if (p < line.size()) ++p;  // the terminating blank
      continue;
    }
    std::string current(line.substr(start, p - start));
    if (line[p] == '"') {
      ++p;
      while (true) {
        char c = at(p);
        if (c == '\\' && at(p + 1) == 'x' && IsHexDigit(at(p + 2)) && IsHexDigit(at(p + 3))) {
          current.push_back(static_cast<char>(HexValue(at(p + 2)) * 16 + HexValue(at(p + 3))));
          p += 4;
        } else if (c == '\\' && at(p + 1) != '\0') {
          char e = at(p + 1);
          switch (e) {
            case 'n':
              e = '\n';
              break;
            case 'r':
              e = '\r';
              break;
            case 't':
              e = '\t';
              break;
            case 'b':
              e = '\b';
              break;
            case 'a':
              e = '\a';
              break;
            default:
              break;
          }
          current.push_back(e);
          p += 2;
        } else if (c == '"') {
          // The closing quote must be followed by a blank or the end of the line.
          if (at(p + 1) != '\0' && !IsBlank(at(p + 1))) return false;
          p += at(p + 1) != '\0' ? 2 : 1;
          break;
        } else if (c == '\0') {
          return false;
        } else {
          current.push_back(c);
          ++p;
        }
      }
    } else {
      ++p;
      while (true) {
        char c = at(p);
        if (c == '\\' && at(p + 1) == '\'') {
          current.push_back('\'');
          p += 2;
        } else if (c == '\'') {
          if (at(p + 1) != '\0' && !IsBlank(at(p + 1))) return false;
          p += at(p + 1) != '\0' ? 2 : 1;
          break;
        } else if (c == '\0') {
          return false;
        } else {
          current.push_back(c);
          ++p;
        }
      }
    }
    storage->push_back(std::move(current));
    args->push_back(storage->back());
  }
}

void RequestParser::Reset() {
  state_ = State::kStart;
  pos_ = scan_ = 0;
  args_left_ = bulk_len_ = 0;
  arg_spans_.clear();
  error_.clear();
}

void RequestParser::StartNext() {
  state_ = State::kStart;
  pos_ = scan_ = 0;
  args_left_ = bulk_len_ = 0;
}

ParseStatus RequestParser::Fail(std::string message) {
  state_ = State::kError;
  error_ = std::move(message);
  return ParseStatus::kError;
}

ParseStatus RequestParser::Parse(std::string_view buf, size_t* consumed, Request* out) {
  *consumed = 0;
  if (state_ == State::kError) return ParseStatus::kError;
  while (true) {
    std::string_view rest = buf.substr(*consumed);
    if (state_ == State::kStart) {
      if (rest.empty()) return ParseStatus::kNeedMore;
      state_ = rest[0] == '*' ? State::kMultibulkCount : State::kInline;
    }
    size_t used = 0;
    ParseStatus status =
        state_ == State::kInline ? ParseInline(rest, &used, out) : ParseMultibulk(rest, &used, out);
    if (status != ParseStatus::kOk) return status;
    *consumed += used;
    StartNext();
    // Redis skips empty requests ("*0", "*-1", blank inline lines) without a reply.
    if (!out->args.empty()) return ParseStatus::kOk;
  }
}

ParseStatus RequestParser::ParseMultibulk(std::string_view buf, size_t* used, Request* out) {
  if (state_ == State::kMultibulkCount) {
    size_t cr = FindByte(buf, scan_, '\r');
    // Redis reports this once more than PROTO_INLINE_MAX_SIZE bytes arrived without a CR; judging
    // by the line length instead gives the same answer however the input was split.
    if (cr == std::string_view::npos ? buf.size() > limits_.max_inline_len
                                     : cr > limits_.max_inline_len) {
      return Fail(std::string(redis_errors::kTooBigMbulkCountString));
    }
    // Redis only needs one byte after the CR and skips it without looking at it.
    if (cr == std::string_view::npos || cr + 1 >= buf.size()) {
      scan_ = cr == std::string_view::npos ? buf.size() : cr;
      return ParseStatus::kNeedMore;
    }
    int64_t count = 0;
    if (!ParseRedisInt(buf.substr(1, cr - 1), &count) || count > limits_.max_multibulk_len) {
      return Fail(std::string(redis_errors::kInvalidMultibulkLength));
    }
    pos_ = cr + 2;
    arg_spans_.clear();
    if (count <= 0) {
      out->args.clear();
      out->unescaped_storage.clear();
      out->raw = buf.substr(0, pos_);
      out->is_inline = false;
      *used = pos_;
      return ParseStatus::kOk;
    }
    args_left_ = count;
    arg_spans_.reserve(static_cast<size_t>(std::min<int64_t>(count, 1024)));
    state_ = State::kBulkLen;
    scan_ = pos_;
  }

  while (args_left_ > 0) {
    if (state_ == State::kBulkLen) {
      size_t cr = FindByte(buf, scan_, '\r');
      if (cr == std::string_view::npos ? buf.size() - pos_ > limits_.max_inline_len
                                       : cr - pos_ > limits_.max_inline_len) {
        return Fail(std::string(redis_errors::kTooBigBulkCountString));
      }
      if (cr == std::string_view::npos || cr + 1 >= buf.size()) {
        scan_ = cr == std::string_view::npos ? buf.size() : cr;
        return ParseStatus::kNeedMore;
      }
      if (buf[pos_] != '$') return Fail(ExpectedDollarError(buf[pos_]));
      int64_t len = 0;
      if (!ParseRedisInt(buf.substr(pos_ + 1, cr - pos_ - 1), &len) || len < 0 ||
          len > limits_.max_bulk_len) {
        return Fail(std::string(redis_errors::kInvalidBulkLength));
      }
      pos_ = cr + 2;
      bulk_len_ = len;
      state_ = State::kBulkData;
    }
    // The payload and the two bytes after it (Redis skips them unchecked, as with the CR LF).
    if (buf.size() - pos_ < static_cast<uint64_t>(bulk_len_) + 2) return ParseStatus::kNeedMore;
    arg_spans_.emplace_back(pos_, static_cast<size_t>(bulk_len_));
    pos_ += static_cast<size_t>(bulk_len_) + 2;
    --args_left_;
    state_ = State::kBulkLen;
    scan_ = pos_;
  }

  out->args.clear();
  out->unescaped_storage.clear();
  out->args.reserve(arg_spans_.size());
  for (const auto& [offset, length] : arg_spans_) out->args.push_back(buf.substr(offset, length));
  out->raw = buf.substr(0, pos_);
  out->is_inline = false;
  *used = pos_;
  return ParseStatus::kOk;
}

ParseStatus RequestParser::ParseInline(std::string_view buf, size_t* used, Request* out) {
  size_t nl = FindByte(buf, scan_, '\n');
  // As with the count lines: the line length decides, so any split of the input agrees.
  if (nl == std::string_view::npos ? buf.size() > limits_.max_inline_len
                                   : nl > limits_.max_inline_len) {
    return Fail(std::string(redis_errors::kTooBigInlineRequest));
  }
  if (nl == std::string_view::npos) {
    scan_ = buf.size();
    return ParseStatus::kNeedMore;
  }
  std::string_view line = buf.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!SplitInlineArgs(line, &out->args, &out->unescaped_storage)) {
    return Fail(std::string(redis_errors::kUnbalancedQuotes));
  }
  out->raw = buf.substr(0, nl + 1);
  out->is_inline = true;
  *used = nl + 1;
  return ParseStatus::kOk;
}

}  // namespace rs::resp
