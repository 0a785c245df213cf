// Incremental, zero-copy parser for client requests: RESP multibulk and inline commands, framed
// exactly as Redis 7.0 frames them (processMultibulkBuffer / processInlineBuffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rs::resp {

// Redis's defaults. Redis 7.0 itself caps the multibulk count at INT_MAX; 1024*1024 is the
// historical Redis limit and bounds what one request can make the proxy allocate.
struct RequestLimits {
  int64_t max_bulk_len = 512LL * 1024 * 1024;  // proto-max-bulk-len
  int64_t max_multibulk_len = 1024 * 1024;
  // PROTO_INLINE_MAX_SIZE: bounds an inline line and a "*<n>" / "$<n>" count line.
  size_t max_inline_len = 64 * 1024;
};

// One parsed request. `args` and `raw` point into the buffer passed to Parse() (or, for inline
// arguments that had quotes or escapes, into this object): they are valid until that buffer is
// modified or moved, and until this Request is passed to Parse() again.
struct Request {
  std::vector<std::string_view> args;
  // The exact bytes of this request in the caller's buffer, for forwarding as-is.
  std::string_view raw;
  bool is_inline = false;

  size_t size() const { return raw.size(); }

  // Backing store for inline arguments that differ from their bytes on the wire.
  std::vector<std::string> unescaped_storage;
};

enum class ParseStatus { kOk, kNeedMore, kError };

// Thread contract: one parser per client connection, used by one thread.
class RequestParser {
 public:
  explicit RequestParser(RequestLimits limits = {}) : limits_(limits) {}

  // Parses the first request in `buf`. On every return, `*consumed` is the number of leading
  // bytes of `buf` that are finished with (the returned request, plus any empty requests skipped
  // before it, as Redis skips "*0\r\n" and blank inline lines); the caller drops them and passes
  // the rest, with any newly received bytes appended, to the next call. After kNeedMore the parser
  // remembers its progress so the next call costs O(new bytes).
  // kError is sticky: error() holds the Redis reply text, and Redis closes such a connection.
  ParseStatus Parse(std::string_view buf, size_t* consumed, Request* out);

  // The error reply text (without the leading '-') after kError.
  const std::string& error() const { return error_; }

  // Forgets any partial request and error.
  void Reset();

 private:
  enum class State { kStart, kMultibulkCount, kBulkLen, kBulkData, kInline, kError };

  ParseStatus ParseMultibulk(std::string_view buf, size_t* consumed, Request* out);
  ParseStatus ParseInline(std::string_view buf, size_t* consumed, Request* out);
  ParseStatus Fail(std::string message);
  void StartNext();

  RequestLimits limits_;
  State state_ = State::kStart;
  // Bytes of the current request already framed, and how far the search for the current line's
  // terminator has got; both relative to the start of the current request.
  size_t pos_ = 0;
  size_t scan_ = 0;
  int64_t args_left_ = 0;
  int64_t bulk_len_ = 0;
  // (offset, length) of each argument so far; offsets survive the caller reallocating its buffer.
  std::vector<std::pair<size_t, size_t>> arg_spans_;
  std::string error_;
};

// Splits an inline command line like Redis's sdssplitargs: blanks separate arguments, "double
// quotes" take \n \r \t \b \a \xHH and \<c> escapes, 'single quotes' take \'. Returns false on
// unbalanced quotes (or a closing quote not followed by a blank). Arguments without quotes are
// views into `line`; others are stored in `storage`.
bool SplitInlineArgs(std::string_view line, std::vector<std::string_view>* args,
                     std::vector<std::string>* storage);

// Redis's string2ll: optional '-', no '+', no leading zeros or spaces, fits in int64.
bool ParseRedisInt(std::string_view text, int64_t* value);

}  // namespace rs::resp
