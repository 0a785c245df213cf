// Feeds RESP input to the request parser and the reply scanner in chunks, the way a socket would,
// and records what came out, so tests can compare every way of splitting the same bytes.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/resp_parser.h"
#include "common/resp_scanner.h"

namespace rs::resp::testing {

struct ParsedRequest {
  std::vector<std::string> args;
  std::string raw;
  bool is_inline = false;
  bool operator==(const ParsedRequest&) const = default;
};

struct ParseOutcome {
  std::vector<ParsedRequest> requests;
  std::string error;    // the parser's error text, empty if none
  size_t leftover = 0;  // bytes still unconsumed when the input ran out
  bool operator==(const ParseOutcome&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const ParseOutcome& o) {
  os << "{" << o.requests.size() << " requests, error='" << o.error << "', leftover=" << o.leftover
     << "}";
  return os;
}

// `cuts` are increasing offsets where the input is split into chunks.
inline ParseOutcome ParseChunks(std::string_view input, const std::vector<size_t>& cuts,
                                RequestLimits limits = {}) {
  RequestParser parser(limits);
  ParseOutcome outcome;
  std::string pending;
  Request request;
  size_t from = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    size_t to = i < cuts.size() ? cuts[i] : input.size();
    pending.append(input.substr(from, to - from));
    from = to;
    while (true) {
      size_t consumed = 0;
      ParseStatus status = parser.Parse(pending, &consumed, &request);
      if (consumed > pending.size()) {
        outcome.error = "consumed more than the buffer";
        return outcome;
      }
      if (status == ParseStatus::kOk) {
        ParsedRequest r;
        r.args.assign(request.args.begin(), request.args.end());
        r.raw = request.raw;
        r.is_inline = request.is_inline;
        outcome.requests.push_back(std::move(r));
      }
      pending.erase(0, consumed);
      if (status == ParseStatus::kError) {
        outcome.error = parser.error();
        outcome.leftover = pending.size() + (input.size() - from);
        return outcome;
      }
      if (status == ParseStatus::kNeedMore) break;
    }
  }
  outcome.leftover = pending.size();
  return outcome;
}

struct ScanOutcome {
  std::vector<size_t> lengths;
  std::string error;
  size_t leftover = 0;
  bool operator==(const ScanOutcome&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const ScanOutcome& o) {
  os << "{" << o.lengths.size() << " replies, error='" << o.error << "', leftover=" << o.leftover
     << "}";
  return os;
}

inline ScanOutcome ScanChunks(std::string_view input, const std::vector<size_t>& cuts) {
  ReplyScanner scanner;
  ScanOutcome outcome;
  std::string pending;
  size_t from = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    size_t to = i < cuts.size() ? cuts[i] : input.size();
    pending.append(input.substr(from, to - from));
    from = to;
    while (true) {
      size_t length = 0;
      ScanStatus status = scanner.Scan(pending, &length);
      if (status == ScanStatus::kOk) {
        if (length == 0 || length > pending.size()) {
          outcome.error = "bad length";
          return outcome;
        }
        outcome.lengths.push_back(length);
        pending.erase(0, length);
        continue;
      }
      if (status == ScanStatus::kError) {
        outcome.error = scanner.error();
        outcome.leftover = pending.size() + (input.size() - from);
        return outcome;
      }
      break;
    }
  }
  outcome.leftover = pending.size();
  return outcome;
}

// Every way the tests split an input: whole, at each single point, and byte by byte. Inputs longer
// than `dense_up_to` get about that many single split points, evenly spaced.
inline std::vector<std::vector<size_t>> EverySplit(size_t size, size_t dense_up_to = 4096) {
  std::vector<std::vector<size_t>> splits{{}};
  const size_t stride = size > dense_up_to ? size / dense_up_to + 1 : 1;
  for (size_t k = 1; k < size; k += stride) splits.push_back({k});
  std::vector<size_t> bytes;
  for (size_t k = 1; k < size; ++k) bytes.push_back(k);
  splits.push_back(bytes);
  return splits;
}

}  // namespace rs::resp::testing
