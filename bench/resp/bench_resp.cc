// Parse and scan rates of the RESP layer on a realistic pipeline: SET and GET with 16-byte keys and
// 64-byte values, and MGET of 10 keys. Prints `name: value unit` lines.
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/resp_parser.h"
#include "common/resp_scanner.h"
#include "common/resp_writer.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kMeasureTime = std::chrono::milliseconds(1500);

std::string Key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key:%012d", i);  // 16 bytes
  return buf;
}

struct Workload {
  std::string requests;
  size_t request_count = 0;
  std::string replies;
  size_t reply_count = 0;
};

Workload MakeWorkload() {
  Workload w;
  const std::string value(64, 'v');
  for (int i = 0; i < 30000; ++i) {
    std::string key = Key(i);
    switch (i % 3) {
      case 0:
        rs::resp::AppendCommand(&w.requests, {"SET", key, value});
        rs::resp::AppendSimpleString(&w.replies, "OK");
        break;
      case 1:
        rs::resp::AppendCommand(&w.requests, {"GET", key});
        rs::resp::AppendBulk(&w.replies, value);
        break;
      default: {
        std::vector<std::string> keys;
        std::vector<std::string_view> args{"MGET"};
        for (int k = 0; k < 10; ++k) keys.push_back(Key(i + k));
        args.insert(args.end(), keys.begin(), keys.end());
        rs::resp::AppendCommand(&w.requests, args);
        rs::resp::AppendArrayHeader(&w.replies, 10);
        for (int k = 0; k < 10; ++k) {
          if (k % 5 == 4) {
            rs::resp::AppendNullBulk(&w.replies);
          } else {
            rs::resp::AppendBulk(&w.replies, value);
          }
        }
      }
    }
    ++w.request_count;
    ++w.reply_count;
  }
  return w;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

int main() {
  const Workload w = MakeWorkload();

  // Requests: one parser over the whole pipeline, as a proxy connection would see it.
  size_t passes = 0, args_seen = 0;
  auto start = Clock::now();
  while (Clock::now() - start < kMeasureTime) {
    rs::resp::RequestParser parser;
    rs::resp::Request request;
    std::string_view rest = w.requests;
    size_t parsed = 0, consumed = 0;
    while (parser.Parse(rest, &consumed, &request) == rs::resp::ParseStatus::kOk) {
      args_seen += request.args.size();
      rest.remove_prefix(consumed);
      ++parsed;
    }
    if (parsed != w.request_count || !rest.empty()) {
      std::fprintf(stderr, "bench_resp: parsed %zu of %zu requests\n", parsed, w.request_count);
      return 1;
    }
    ++passes;
  }
  double parse_seconds = Seconds(Clock::now() - start);

  size_t scan_passes = 0, replies_seen = 0;
  start = Clock::now();
  while (Clock::now() - start < kMeasureTime) {
    rs::resp::ReplyScanner scanner;
    std::string_view rest = w.replies;
    size_t length = 0;
    while (!rest.empty() && scanner.Scan(rest, &length) == rs::resp::ScanStatus::kOk) {
      rest.remove_prefix(length);
      ++replies_seen;
    }
    if (!rest.empty()) {
      std::fprintf(stderr, "bench_resp: reply scan stopped early\n");
      return 1;
    }
    ++scan_passes;
  }
  double scan_seconds = Seconds(Clock::now() - start);
  if (replies_seen != scan_passes * w.reply_count || args_seen == 0) return 1;

  const double mb = 1024.0 * 1024.0;
  std::printf("resp_parse_rate: %.0f MB/s\n", passes * w.requests.size() / mb / parse_seconds);
  std::printf("resp_parse_rate_requests: %.0f req/s\n", passes * w.request_count / parse_seconds);
  std::printf("resp_scan_rate: %.0f MB/s\n", scan_passes * w.replies.size() / mb / scan_seconds);
  std::printf("resp_scan_rate_replies: %.0f replies/s\n",
              scan_passes * w.reply_count / scan_seconds);
  return 0;
}
