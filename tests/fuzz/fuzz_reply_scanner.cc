// libFuzzer target: the reply scanner never reads outside its input, reports lengths within it,
// agrees with itself however the input is split, and needs more for every strict prefix.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/resp_scanner.h"
#include "fuzz_check.h"
#include "resp_feed.h"

using rs::resp::ReplyInfo;
using rs::resp::ScanReply;
using rs::resp::ScanStatus;
using rs::resp::testing::ScanChunks;
using rs::resp::testing::ScanOutcome;

namespace {

bool Within(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  std::string_view rest = input;
  while (!rest.empty()) {
    size_t length = 0;
    ReplyInfo info;
    ScanStatus status = ScanReply(rest, &length, &info);
    if (status != ScanStatus::kOk) break;
    FUZZ_CHECK(length > 0 && length <= rest.size());
    std::string_view reply = rest.substr(0, length);
    FUZZ_CHECK(Within(info.line, reply));
    FUZZ_CHECK(Within(info.payload, reply));
    // The reply alone scans the same, and a byte less is never complete.
    size_t again = 0;
    FUZZ_CHECK(ScanReply(reply, &again) == ScanStatus::kOk && again == length);
    FUZZ_CHECK(ScanReply(reply.substr(0, length - 1), &again) == ScanStatus::kNeedMore);
    rest.remove_prefix(length);
  }

  ScanOutcome whole = ScanChunks(input, {});
  const size_t chunk = 1 + control % 29;
  std::vector<size_t> cuts;
  for (size_t at = chunk; at < input.size(); at += chunk) cuts.push_back(at);
  FUZZ_CHECK(ScanChunks(input, cuts) == whole);
  std::vector<size_t> bytes;
  for (size_t at = 1; at < input.size(); ++at) bytes.push_back(at);
  FUZZ_CHECK(ScanChunks(input, bytes) == whole);
  return 0;
}
