// Finds the exact end of one reply (RESP2 or RESP3, any nesting depth) without allocating and
// without recursion, so the proxy can forward replies as bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rs::resp {

// The first byte of each reply type on the wire.
enum class ReplyType : char {
  kSimpleString = '+',
  kError = '-',
  kInteger = ':',
  kBulkString = '$',
  kArray = '*',
  // RESP3
  kNull = '_',
  kDouble = ',',
  kBoolean = '#',
  kBigNumber = '(',
  kBlobError = '!',
  kVerbatimString = '=',
  kMap = '%',
  kSet = '~',
  kPush = '>',
};

// What a reply is, for the proxy's decisions (MOVED / ASK / TRYAGAIN errors, null replies).
// Attributes ('|') that precede the reply are skipped: they are not the reply. Views point into the
// scanned buffer and are valid while it is unchanged.
struct ReplyInfo {
  ReplyType type = ReplyType::kNull;
  // The header line after the type byte: the text of simple strings and errors ("MOVED 3999
  // 127.0.0.1:6381"), the digits of integers, the length of bulk types, the count of aggregates.
  std::string_view line;
  // The payload of bulk strings, blob errors and verbatim strings; empty otherwise.
  std::string_view payload;
  bool is_null = false;      // $-1, *-1 or _
  bool is_streamed = false;  // RESP3 "$?" or "*?" style: the length was not announced
};

enum class ScanStatus { kOk, kNeedMore, kError };

// Thread contract: one scanner per backend connection, used by one thread.
class ReplyScanner {
 public:
  // Scans the reply at the start of `buf`. kOk: the reply is the first `*length` bytes (and `info`,
  // when not null, describes it); the scanner is then ready for the next reply, which the caller
  // passes starting at buf[*length]. kNeedMore: call again with the same start and more bytes
  // appended; the scanner resumes where it stopped, so the total cost stays O(reply size).
  // kError is sticky until Reset(); error() says what was wrong.
  ScanStatus Scan(std::string_view buf, size_t* length, ReplyInfo* info = nullptr);

  const char* error() const { return error_; }
  void Reset();

 private:
  // RESP3 streamed aggregates ("*?" ... ".") cannot be counted ahead; each open one saves the
  // count owed outside it. Redis never sends them, so a small fixed bound is plenty.
  static constexpr int kMaxStreamDepth = 64;

  ScanStatus Fail(const char* message);
  void ResetProgress();

  size_t pos_ = 0;        // start of the next element header
  size_t line_scan_ = 0;  // where the search for that header's CR resumes
  uint64_t owed_ = 1;     // elements still needed to finish the current (streamed) level
  bool in_streamed_string_ = false;
  int stream_depth_ = 0;
  uint64_t stream_owed_[kMaxStreamDepth] = {};

  bool have_top_ = false;
  ReplyType top_type_ = ReplyType::kNull;
  size_t top_line_begin_ = 0, top_line_end_ = 0;
  size_t top_payload_begin_ = 0, top_payload_end_ = 0;
  bool top_null_ = false, top_streamed_ = false;

  const char* error_ = nullptr;
};

// One-shot form: scans the reply at the start of `buf` from scratch.
ScanStatus ScanReply(std::string_view buf, size_t* length, ReplyInfo* info = nullptr);

}  // namespace rs::resp
