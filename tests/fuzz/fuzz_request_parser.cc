// libFuzzer target: the request parser never reads outside its input, never consumes more than it
// was given, frames each request exactly, and gives the same answer however the input is split.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/resp_parser.h"
#include "common/resp_writer.h"
#include "fuzz_check.h"
#include "resp_feed.h"

using rs::resp::ParseStatus;
using rs::resp::Request;
using rs::resp::RequestLimits;
using rs::resp::RequestParser;
using rs::resp::testing::ParseChunks;
using rs::resp::testing::ParseOutcome;

namespace {

// Parses `input` in one buffer, checking the framing of every request.
void CheckOneShot(std::string_view input, const RequestLimits& limits) {
  RequestParser parser(limits);
  Request request;
  std::string_view rest = input;
  while (true) {
    size_t consumed = 0;
    ParseStatus status = parser.Parse(rest, &consumed, &request);
    FUZZ_CHECK(consumed <= rest.size());
    if (status != ParseStatus::kOk) {
      FUZZ_CHECK(status == ParseStatus::kNeedMore || !parser.error().empty());
      return;
    }
    FUZZ_CHECK(!request.args.empty());
    FUZZ_CHECK(!request.raw.empty());
    // The request is the last bytes of what was consumed (empty requests may precede it).
    FUZZ_CHECK(request.raw.data() + request.raw.size() == rest.data() + consumed);
    FUZZ_CHECK(request.raw.data() >= rest.data());
    if (!request.is_inline) {
      FUZZ_CHECK(request.raw[0] == '*');
      FUZZ_CHECK(static_cast<int64_t>(request.args.size()) <= limits.max_multibulk_len);
      for (std::string_view arg : request.args) {
        FUZZ_CHECK(arg.data() >= request.raw.data());
        FUZZ_CHECK(arg.data() + arg.size() <= request.raw.data() + request.raw.size());
        FUZZ_CHECK(static_cast<int64_t>(arg.size()) <= limits.max_bulk_len);
      }
      // Writing the arguments back as a command and parsing that gives the same arguments.
      std::string wire;
      rs::resp::AppendCommand(&wire, request.args);
      RequestParser again;
      Request copy;
      size_t used = 0;
      FUZZ_CHECK(again.Parse(wire, &used, &copy) == ParseStatus::kOk);
      FUZZ_CHECK(used == wire.size());
      FUZZ_CHECK(copy.args == request.args);
    } else {
      FUZZ_CHECK(request.raw.back() == '\n');
      FUZZ_CHECK(request.raw.size() <= limits.max_inline_len + 1);
    }
    rest.remove_prefix(consumed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte chooses the limits and the chunk size; the rest is the client's input.
  const uint8_t control = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  RequestLimits limits;
  if (control & 1) {
    limits.max_bulk_len = 16;
    limits.max_multibulk_len = 4;
    limits.max_inline_len = 24;
  }
  CheckOneShot(input, limits);

  ParseOutcome whole = ParseChunks(input, {}, limits);
  const size_t chunk = 1 + (control >> 1) % 23;
  std::vector<size_t> cuts;
  for (size_t at = chunk; at < input.size(); at += chunk) cuts.push_back(at);
  FUZZ_CHECK(ParseChunks(input, cuts, limits) == whole);
  std::vector<size_t> bytes;
  for (size_t at = 1; at < input.size(); ++at) bytes.push_back(at);
  FUZZ_CHECK(ParseChunks(input, bytes, limits) == whole);
  return 0;
}
