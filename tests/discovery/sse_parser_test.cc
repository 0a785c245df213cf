#include "discovery/sse_parser.h"

#include <gtest/gtest.h>

namespace rs::discovery {
namespace {

// A lainlet stream as api/event.go writes it: init, heartbeat, update, error.
constexpr std::string_view kStream =
    "id: 1\nevent: init\ndata: [{\"proc\":[{\"InstanceNo\":1,\"IP\":\"172.20.0.11\",\"Port\":6379,"
    "\"ProcName\":\"redis\"}]}]\n\n"
    "id: 0\nevent: heartbeat\n\n"
    "id: 2\nevent: update\ndata: []\n\n"
    "id: 0\nevent: error\ndata: authorize failed, no permission\n\n";

std::vector<SseEvent> Expected() {
  return {
      {"1", "init",
       "[{\"proc\":[{\"InstanceNo\":1,\"IP\":\"172.20.0.11\",\"Port\":6379,\"ProcName\":\"redis\"}]"
       "}]",
       true},
      {"0", "heartbeat", "", false},
      {"2", "update", "[]", true},
      {"0", "error", "authorize failed, no permission", true},
  };
}

TEST(SseParserTest, ParsesLainletStreamInOneChunk) {
  SseParser p;
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.Feed(kStream, &out).ok());
  EXPECT_EQ(out, Expected());
}

TEST(SseParserTest, SameEventsAtEverySplitPoint) {
  for (size_t i = 0; i <= kStream.size(); ++i) {
    SseParser p;
    std::vector<SseEvent> out;
    ASSERT_TRUE(p.Feed(kStream.substr(0, i), &out).ok());
    ASSERT_TRUE(p.Feed(kStream.substr(i), &out).ok());
    EXPECT_EQ(out, Expected()) << "split at " << i;
  }
}

TEST(SseParserTest, SameEventsFedByteByByteWithCrLf) {
  std::string crlf;
  for (char c : kStream) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  for (size_t i = 0; i <= crlf.size(); ++i) {
    SseParser p;
    std::vector<SseEvent> out;
    ASSERT_TRUE(p.Feed(std::string_view(crlf).substr(0, i), &out).ok());
    for (size_t j = i; j < crlf.size(); ++j) ASSERT_TRUE(p.Feed(crlf.substr(j, 1), &out).ok());
    EXPECT_EQ(out, Expected()) << "split at " << i;
  }
}

TEST(SseParserTest, IncompleteEventIsNotDispatched) {
  SseParser p;
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.Feed("id: 3\nevent: update\ndata: [", &out).ok());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(p.Feed("]\n", &out).ok());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(p.Feed("\n", &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "[]");
}

TEST(SseParserTest, JoinsMultipleDataLinesAndIgnoresCommentsAndUnknownFields) {
  SseParser p;
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.Feed(": comment\nretry: 10\nfoo\n\nid:7\ndata: a\ndata:b\n\n", &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, "7");
  EXPECT_EQ(out[0].data, "a\nb");
}

TEST(SseParserTest, OverlongLineIsAnErrorAndPoisonsTheParser) {
  SseParser p(16);
  std::vector<SseEvent> out;
  EXPECT_FALSE(p.Feed("data: 0123456789abcdef", &out).ok());
  EXPECT_FALSE(p.Feed("\n\n", &out).ok());
  p.Reset();
  EXPECT_TRUE(p.Feed("id: 0\n\n", &out).ok());
  EXPECT_EQ(out.size(), 1u);
}

}  // namespace
}  // namespace rs::discovery
