#include "common/resp_parser.h"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/redis_errors.h"
#include "resp_feed.h"

namespace rs::resp {
namespace {

using testing::EverySplit;
using testing::ParseChunks;
using testing::ParsedRequest;
using testing::ParseOutcome;

// Longer inputs are split at evenly spaced points (and byte by byte) to keep the tests fast.
constexpr size_t kEverySplitUpTo = 4096;

// Parses `input` split in every way and checks they all agree; returns the one-shot outcome.
ParseOutcome ParseEverySplit(std::string_view input, RequestLimits limits = {}) {
  ParseOutcome whole = ParseChunks(input, {}, limits);
  for (const auto& cuts : EverySplit(input.size(), kEverySplitUpTo)) {
    ParseOutcome split = ParseChunks(input, cuts, limits);
    EXPECT_EQ(split, whole) << "input split at " << (cuts.empty() ? 0 : cuts[0]) << " ("
                            << cuts.size() << " cuts)";
    if (split != whole) break;
  }
  return whole;
}

std::vector<std::string> Args(std::initializer_list<std::string> args) { return args; }

TEST(RequestParserTest, ParsesMultibulkCommandWithExactExtent) {
  const std::string input = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n";
  ParseOutcome out = ParseEverySplit(input);
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(out.requests[0].args, Args({"SET", "key", "va\r\nl"}));
  EXPECT_EQ(out.requests[0].raw, input);
  EXPECT_FALSE(out.requests[0].is_inline);
  EXPECT_EQ(out.error, "");
  EXPECT_EQ(out.leftover, 0u);
}

TEST(RequestParserTest, ArgsPointIntoTheCallersBuffer) {
  const std::string input = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
  RequestParser parser;
  Request request;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(input, &consumed, &request), ParseStatus::kOk);
  EXPECT_EQ(consumed, input.size());
  ASSERT_EQ(request.args.size(), 2u);
  EXPECT_EQ(request.args[0].data(), input.data() + 8);
  EXPECT_EQ(request.raw.data(), input.data());
}

TEST(RequestParserTest, ParsesEmptyAndBinaryBulkArguments) {
  std::string input = "*3\r\n$0\r\n\r\n$4\r\n";
  input += std::string("\0\r\n\xff", 4);
  input += "\r\n$1\r\n*\r\n";
  ParseOutcome out = ParseEverySplit(input);
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(out.requests[0].args, Args({"", std::string("\0\r\n\xff", 4), "*"}));
}

TEST(RequestParserTest, ParsesAPipelineOfMixedRequestsInOrder) {
  const std::string input =
      "*1\r\n$4\r\nPING\r\n"
      "GET a\r\n"
      "*2\r\n$3\r\nGET\r\n$1\r\nb\r\n"
      "SET k \"v w\"\n"
      "*3\r\n$4\r\nMGET\r\n$1\r\nx\r\n$1\r\ny\r\n";
  ParseOutcome out = ParseEverySplit(input);
  ASSERT_EQ(out.requests.size(), 5u);
  EXPECT_EQ(out.requests[0].args, Args({"PING"}));
  EXPECT_EQ(out.requests[1].args, Args({"GET", "a"}));
  EXPECT_TRUE(out.requests[1].is_inline);
  EXPECT_EQ(out.requests[1].raw, "GET a\r\n");
  EXPECT_EQ(out.requests[2].args, Args({"GET", "b"}));
  EXPECT_EQ(out.requests[3].args, Args({"SET", "k", "v w"}));
  EXPECT_EQ(out.requests[3].raw, "SET k \"v w\"\n");
  EXPECT_EQ(out.requests[4].args, Args({"MGET", "x", "y"}));
  std::string joined;
  for (const auto& r : out.requests) joined += r.raw;
  EXPECT_EQ(joined, input);
}

TEST(RequestParserTest, LeavesAPartialRequestUnconsumed) {
  const std::string input = "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r";
  ParseOutcome out = ParseEverySplit(input);
  EXPECT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(out.leftover, input.size() - 14);
  EXPECT_EQ(out.error, "");
}

TEST(RequestParserTest, SkipsEmptyRequestsLikeRedis) {
  const std::string input = "*0\r\n*-1\r\n\r\n\n   \t\r\n*-5\r\n*1\r\n$4\r\nPING\r\n";
  ParseOutcome out = ParseEverySplit(input);
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(out.requests[0].args, Args({"PING"}));
  EXPECT_EQ(out.requests[0].raw, "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(out.leftover, 0u);
}

TEST(RequestParserTest, ConsumesSkippedEmptyRequestsEvenWithoutAFollowingRequest) {
  RequestParser parser;
  Request request;
  size_t consumed = 0;
  EXPECT_EQ(parser.Parse("*0\r\n\r\n*1\r\n$4\r\nPI", &consumed, &request), ParseStatus::kNeedMore);
  EXPECT_EQ(consumed, 6u);
  EXPECT_EQ(parser.Parse("*1\r\n$4\r\nPING\r\n", &consumed, &request), ParseStatus::kOk);
  EXPECT_EQ(consumed, 14u);
}

TEST(RequestParserTest, ParsesInlineCommandsWithCrLfOrLoneLf) {
  ParseOutcome out = ParseEverySplit("PING\r\nECHO  hello\t world \nGET x\r\n");
  ASSERT_EQ(out.requests.size(), 3u);
  EXPECT_EQ(out.requests[0].args, Args({"PING"}));
  EXPECT_EQ(out.requests[1].args, Args({"ECHO", "hello", "world"}));
  EXPECT_EQ(out.requests[1].raw, "ECHO  hello\t world \n");
  EXPECT_EQ(out.requests[2].args, Args({"GET", "x"}));
}

TEST(RequestParserTest, SplitsInlineQuotesAndEscapesLikeSdssplitargs) {
  ParseOutcome out = ParseEverySplit(
      "SET \"a\\x41\\n\\r\\t\\b\\a\\\\\\\"q\" 'it\\'s \"x\"'\r\n"
      "ECHO \"\" '' ab\"cd\"\r\n"
      "ECHO \"\\x4\" \"\\xZZ\" \"\\q\"\r\n");
  ASSERT_EQ(out.requests.size(), 3u);
  EXPECT_EQ(out.requests[0].args, Args({"SET", "aA\n\r\t\b\a\\\"q", "it's \"x\""}));
  EXPECT_EQ(out.requests[1].args, Args({"ECHO", "", "", "abcd"}));
  // An incomplete \x escape keeps the x; any other escaped character stands for itself.
  EXPECT_EQ(out.requests[2].args, Args({"ECHO", "x4", "xZZ", "q"}));
}

TEST(RequestParserTest, BlanksAroundInlineArgumentsAreSkipped) {
  ParseOutcome out = ParseEverySplit(" \v\f GET\vk  \r\n");
  ASSERT_EQ(out.requests.size(), 1u);
  // \v and \f are skipped between arguments but do not end one (sdssplitargs).
  EXPECT_EQ(out.requests[0].args, Args({"GET\vk"}));
}

TEST(RequestParserTest, NulEndsAnInlineLineLikeACString) {
  ParseOutcome out = ParseEverySplit(std::string("GET a\0b c\r\nPING\r\n", 17));
  ASSERT_EQ(out.requests.size(), 2u);
  EXPECT_EQ(out.requests[0].args, Args({"GET", "a"}));
  EXPECT_EQ(out.requests[1].args, Args({"PING"}));
}

TEST(RequestParserTest, SkipsTheByteAfterCrUncheckedLikeRedis) {
  // Redis only requires some byte after each CR, and two bytes after each payload.
  ParseOutcome out = ParseEverySplit("*1\rX$4\rYPINGZZ");
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(out.requests[0].args, Args({"PING"}));
}

TEST(RequestParserTest, QuotedArgumentsSurviveMovingTheRequest) {
  RequestParser parser;
  Request request;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse("SET \"k1\" \"v1\" 'a' \"b\" c\r\n", &consumed, &request),
            ParseStatus::kOk);
  Request moved = std::move(request);
  EXPECT_EQ(moved.args, (std::vector<std::string_view>{"SET", "k1", "v1", "a", "b", "c"}));
}

struct ErrorCase {
  std::string name;
  std::string input;
  std::string error;
  RequestLimits limits;
};

class RequestParserErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(RequestParserErrorTest, ReportsRedisWordedErrorForEverySplit) {
  const ErrorCase& c = GetParam();
  // A good request first: the error must not lose it, and must leave the bad request unconsumed.
  const std::string good = "*1\r\n$4\r\nPING\r\n";
  ParseOutcome out = ParseEverySplit(good + c.input, c.limits);
  EXPECT_EQ(out.error, c.error);
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(out.leftover, c.input.size());
}

RequestLimits Small() {
  RequestLimits limits;
  limits.max_bulk_len = 10;
  limits.max_multibulk_len = 3;
  limits.max_inline_len = 16;
  return limits;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, RequestParserErrorTest,
    ::testing::Values(
        ErrorCase{"MbulkNotANumber", "*x\r\n", "ERR Protocol error: invalid multibulk length", {}},
        ErrorCase{"MbulkPlusSign", "*+1\r\n", "ERR Protocol error: invalid multibulk length", {}},
        ErrorCase{
            "MbulkLeadingZero", "*01\r\n", "ERR Protocol error: invalid multibulk length", {}},
        ErrorCase{"MbulkEmpty", "*\r\n", "ERR Protocol error: invalid multibulk length", {}},
        ErrorCase{"MbulkOverDefaultLimit",
                  "*1048577\r\n",
                  "ERR Protocol error: invalid multibulk length",
                  {}},
        ErrorCase{"MbulkOverflow",
                  "*99999999999999999999\r\n",
                  "ERR Protocol error: invalid multibulk length",
                  {}},
        ErrorCase{"MbulkOverSmallLimit", "*4\r\n", "ERR Protocol error: invalid multibulk length",
                  Small()},
        ErrorCase{"BulkNegative", "*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length", {}},
        ErrorCase{"BulkNotANumber", "*1\r\n$1x\r\n", "ERR Protocol error: invalid bulk length", {}},
        ErrorCase{"BulkOverDefaultLimit",
                  "*1\r\n$536870913\r\n",
                  "ERR Protocol error: invalid bulk length",
                  {}},
        ErrorCase{"BulkOverSmallLimit", "*1\r\n$11\r\n", "ERR Protocol error: invalid bulk length",
                  Small()},
        ErrorCase{"ExpectedDollar",
                  "*2\r\n$1\r\na\r\n:1\r\n",
                  "ERR Protocol error: expected '$', got ':'",
                  {}},
        ErrorCase{
            "ExpectedDollarGotCr", "*1\r\n\r\n", "ERR Protocol error: expected '$', got ' '", {}},
        ErrorCase{"TooBigMbulkCount", "*" + std::string(17, '1'),
                  "ERR Protocol error: too big mbulk count string", Small()},
        ErrorCase{"TooBigMbulkCountDefault",
                  "*" + std::string(65 * 1024, '1'),
                  "ERR Protocol error: too big mbulk count string",
                  {}},
        ErrorCase{"TooBigBulkCount", "*1\r\n$" + std::string(16, '1'),
                  "ERR Protocol error: too big bulk count string", Small()},
        ErrorCase{"TooBigInline", "GET " + std::string(13, 'k'),
                  "ERR Protocol error: too big inline request", Small()},
        ErrorCase{"TooBigInlineEvenWithNewline", "GET " + std::string(13, 'k') + "\r\n",
                  "ERR Protocol error: too big inline request", Small()},
        ErrorCase{"UnbalancedDoubleQuote",
                  "SET \"a b\r\n",
                  "ERR Protocol error: unbalanced quotes in request",
                  {}},
        ErrorCase{"UnbalancedSingleQuote",
                  "SET 'a b\n",
                  "ERR Protocol error: unbalanced quotes in request",
                  {}},
        ErrorCase{"TextAfterClosingQuote",
                  "SET \"a\"b c\r\n",
                  "ERR Protocol error: unbalanced quotes in request",
                  {}},
        ErrorCase{"BackslashEndsQuotedLine",
                  "SET \"a\\\r\n",
                  "ERR Protocol error: unbalanced quotes in request",
                  {}}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

TEST(RequestParserTest, AcceptsLimitsExactly) {
  RequestLimits limits = Small();
  ParseOutcome out = ParseEverySplit("*3\r\n$10\r\n0123456789\r\n$0\r\n\r\n$1\r\nx\r\n" +
                                         std::string("GET ") + std::string(11, 'k') + "\r\n",
                                     limits);
  EXPECT_EQ(out.error, "");
  ASSERT_EQ(out.requests.size(), 2u);
  EXPECT_EQ(out.requests[1].args[1], std::string(11, 'k'));
}

TEST(RequestParserTest, ErrorIsStickyUntilReset) {
  RequestParser parser;
  Request request;
  size_t consumed = 99;
  ASSERT_EQ(parser.Parse("*x\r\n", &consumed, &request), ParseStatus::kError);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(parser.error(), redis_errors::kInvalidMultibulkLength);
  EXPECT_EQ(parser.Parse("PING\r\n", &consumed, &request), ParseStatus::kError);
  parser.Reset();
  EXPECT_EQ(parser.Parse("PING\r\n", &consumed, &request), ParseStatus::kOk);
  EXPECT_EQ(parser.error(), "");
}

TEST(RequestParserTest, ParsesALongPipelineFedInRandomChunks) {
  std::string input;
  size_t expected = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string key = "key:" + std::to_string(i);
    if (i % 3 == 0) {
      input += "*3\r\n$3\r\nSET\r\n$" + std::to_string(key.size()) + "\r\n" + key +
               "\r\n$5\r\nvalue\r\n";
    } else if (i % 3 == 1) {
      input += "GET " + key + "\r\n";
    } else {
      input += "*0\r\n";  // skipped
      continue;
    }
    ++expected;
  }
  ParseOutcome whole = ParseChunks(input, {});
  EXPECT_EQ(whole.requests.size(), expected);
  uint32_t seed = 12345;
  std::vector<size_t> cuts;
  for (size_t at = 0;;) {
    seed = seed * 1103515245 + 12345;
    at += 1 + (seed >> 16) % 40;
    if (at >= input.size()) break;
    cuts.push_back(at);
  }
  EXPECT_EQ(ParseChunks(input, cuts), whole);
  std::vector<size_t> bytes;
  for (size_t k = 1; k < input.size(); ++k) bytes.push_back(k);
  EXPECT_EQ(ParseChunks(input, bytes), whole);
}

TEST(RequestParserTest, ResumesWithoutRescanningWhenFedByteByByte) {
  // A 32 MB argument in 64-byte chunks and a 60 KB inline line byte by byte: quadratic rescanning
  // would take minutes; resuming takes milliseconds.
  const size_t kBig = 32 << 20;
  std::string input = "*2\r\n$3\r\nSET\r\n$" + std::to_string(kBig) + "\r\n";
  input += std::string(kBig, 'v') + "\r\n";
  std::string line = "ECHO " + std::string(60 * 1024, 'x') + "\r\n";
  auto start = std::chrono::steady_clock::now();
  RequestParser parser;
  Request request;
  std::string pending;
  size_t consumed = 0;
  ParseStatus status = ParseStatus::kNeedMore;
  for (size_t at = 0; at < input.size(); at += 64) {
    pending.append(input, at, 64);
    status = parser.Parse(pending, &consumed, &request);
  }
  ASSERT_EQ(status, ParseStatus::kOk);
  EXPECT_EQ(request.args[1].size(), kBig);
  pending.clear();
  for (char c : line) {
    pending.push_back(c);
    status = parser.Parse(pending, &consumed, &request);
  }
  ASSERT_EQ(status, ParseStatus::kOk);
  EXPECT_EQ(request.args[1].size(), 60u * 1024);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ParseRedisIntTest, FollowsString2ll) {
  int64_t v = 0;
  EXPECT_TRUE(ParseRedisInt("0", &v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(ParseRedisInt("-1", &v));
  EXPECT_EQ(v, -1);
  EXPECT_TRUE(ParseRedisInt("9223372036854775807", &v));
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_TRUE(ParseRedisInt("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  for (const char* bad : {"", "-", "+1", "01", "-0", " 1", "1 ", "9223372036854775808",
                          "-9223372036854775809", "1a", "18446744073709551616"}) {
    EXPECT_FALSE(ParseRedisInt(bad, &v)) << bad;
  }
}

}  // namespace
}  // namespace rs::resp
