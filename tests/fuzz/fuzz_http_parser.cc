// libFuzzer target: the admin server's HTTP request parser never reads outside its input, never
// consumes more than it was given, keeps its limits, and gives the same answer however the input
// arrives (one buffer, or grown a few bytes at a time as a slow client sends it).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "admin/http_parser.h"
#include "fuzz_check.h"

using rs::admin::HttpLimits;
using rs::admin::HttpRequest;
using rs::admin::HttpRequestParser;

namespace {

struct Outcome {
  HttpRequestParser::Result result;
  size_t consumed = 0;
  int status = 0;
  HttpRequest request;
};

bool Same(const Outcome& a, const Outcome& b) {
  if (a.result != b.result) return false;
  if (a.result == HttpRequestParser::Result::kError) return a.status == b.status;
  if (a.result != HttpRequestParser::Result::kDone) return true;
  return a.consumed == b.consumed && a.request.method == b.request.method &&
         a.request.target == b.request.target && a.request.path == b.request.path &&
         a.request.params == b.request.params && a.request.headers == b.request.headers &&
         a.request.body == b.request.body && a.request.keep_alive == b.request.keep_alive;
}

// Parses every request in `input`, handing the parser a prefix that grows by `step` bytes (0: all
// at once), as the connection does.
std::vector<Outcome> ParseAll(std::string_view input, size_t step, const HttpLimits& limits) {
  std::vector<Outcome> out;
  HttpRequestParser parser(limits);
  size_t start = 0;
  size_t have = step == 0 ? input.size() : std::min(step, input.size());
  while (start < input.size()) {
    Outcome o;
    std::string_view window = input.substr(start, have - start);
    o.result = parser.Parse(window, &o.consumed, &o.request);
    if (o.result == HttpRequestParser::Result::kNeedMore) {
      if (have == input.size()) {
        out.push_back(std::move(o));
        break;
      }
      have = std::min(input.size(), have + step);
      continue;
    }
    if (o.result == HttpRequestParser::Result::kError) {
      o.status = parser.error_status();
      FUZZ_CHECK(o.status >= 400 && o.status <= 505);
      FUZZ_CHECK(!parser.error_message().empty());
      out.push_back(std::move(o));
      break;
    }
    FUZZ_CHECK(o.consumed > 0 && o.consumed <= window.size());
    FUZZ_CHECK(o.request.body.size() <= limits.max_body_bytes);
    FUZZ_CHECK(!o.request.path.empty() || o.request.target.size() >= 1);
    FUZZ_CHECK(o.request.target.size() > 0 && o.request.target[0] == '/');
    start += o.consumed;
    have = std::max(have, start);
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // Small limits so the fuzzer reaches them.
  HttpLimits limits;
  limits.max_header_bytes = 512;
  limits.max_body_bytes = 256;
  auto whole = ParseAll(input, 0, limits);
  for (size_t step : {1, 7, 64}) {
    auto grown = ParseAll(input, step, limits);
    // Grown piecemeal, a request can fail its header limit earlier (the parser sees a prefix
    // with no end of headers beyond the limit) only where the whole input fails too.
    FUZZ_CHECK(grown.size() == whole.size());
    for (size_t i = 0; i < whole.size(); ++i) FUZZ_CHECK(Same(whole[i], grown[i]));
  }
  return 0;
}
