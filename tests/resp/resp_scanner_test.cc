#include "common/resp_scanner.h"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "resp_feed.h"

namespace rs::resp {
namespace {

using testing::EverySplit;
using testing::ScanChunks;
using testing::ScanOutcome;

ScanOutcome ScanEverySplit(std::string_view input) {
  ScanOutcome whole = ScanChunks(input, {});
  for (const auto& cuts : EverySplit(input.size())) {
    ScanOutcome split = ScanChunks(input, cuts);
    EXPECT_EQ(split, whole) << "input split at " << (cuts.empty() ? 0 : cuts[0]) << " ("
                            << cuts.size() << " cuts)";
    if (split != whole) break;
  }
  return whole;
}

// Checks that `reply` scans as exactly one reply however it is split, also when another reply
// follows it, and that any strict prefix needs more.
void ExpectOneReply(const std::string& reply) {
  SCOPED_TRACE(reply.substr(0, 60));
  ScanOutcome out = ScanEverySplit(reply + "+NEXT\r\n");
  EXPECT_EQ(out.error, "");
  EXPECT_EQ(out.lengths, (std::vector<size_t>{reply.size(), 7}));
  EXPECT_EQ(out.leftover, 0u);
  for (size_t k = 0; k < reply.size(); ++k) {
    size_t length = 0;
    ASSERT_EQ(ScanReply(std::string_view(reply).substr(0, k), &length), ScanStatus::kNeedMore)
        << "prefix of " << k << " bytes";
  }
}

TEST(ReplyScannerTest, FindsTheEndOfEveryResp2Type) {
  for (std::string reply :
       {"+OK\r\n", "-ERR bad thing\r\n", ":-42\r\n", "$5\r\nhe\r\no\r\n", "$0\r\n\r\n", "$-1\r\n",
        "*-1\r\n", "*0\r\n", "*3\r\n:1\r\n$1\r\na\r\n+b\r\n",
        "*2\r\n*2\r\n:1\r\n:2\r\n*1\r\n$3\r\nabc\r\n"}) {
    ExpectOneReply(reply);
  }
}

TEST(ReplyScannerTest, FindsTheEndOfEveryResp3Type) {
  for (std::string reply :
       {"_\r\n", ",3.14\r\n", ",inf\r\n", "#t\r\n",
        "(3492890328409238509324850943850943825024385\r\n", "!21\r\nSYNTAX invalid syntax\r\n",
        "=15\r\ntxt:Some string\r\n", "%2\r\n+first\r\n:1\r\n+second\r\n*2\r\n:2\r\n:3\r\n",
        "~3\r\n+a\r\n+b\r\n_\r\n", ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n"
        "*2\r\n:2039123\r\n:9543892\r\n",
        "*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n"}) {
    ExpectOneReply(reply);
  }
}

TEST(ReplyScannerTest, FindsTheEndOfStreamedStringsAndAggregates) {
  for (std::string reply :
       {"$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n", "*?\r\n:1\r\n:2\r\n.\r\n",
        "*?\r\n.\r\n", "%?\r\n+a\r\n:1\r\n+b\r\n*?\r\n:2\r\n.\r\n.\r\n",
        "*2\r\n*?\r\n*?\r\n$?\r\n;1\r\nx\r\n;0\r\n.\r\n.\r\n:5\r\n",
        "~?\r\n|1\r\n+a\r\n+b\r\n:1\r\n.\r\n"}) {
    ExpectOneReply(reply);
  }
}

TEST(ReplyScannerTest, HandlesNestingFarDeeperThanSeven) {
  std::string reply;
  for (int i = 0; i < 1000; ++i) reply += "*2\r\n:" + std::to_string(i) + "\r\n";
  reply += "$3\r\nend\r\n";
  ExpectOneReply(reply);
  size_t length = 0;
  ReplyInfo info;
  ASSERT_EQ(ScanReply(reply, &length, &info), ScanStatus::kOk);
  EXPECT_EQ(info.type, ReplyType::kArray);
  EXPECT_EQ(info.line, "2");
}

TEST(ReplyScannerTest, HandlesStreamedAggregatesNestedToTheLimit) {
  std::string reply;
  for (int i = 0; i < 64; ++i) reply += "*?\r\n";
  for (int i = 0; i < 64; ++i) reply += ".\r\n";
  ExpectOneReply(reply);
  size_t length = 0;
  EXPECT_EQ(ScanReply("*?\r\n" + reply, &length), ScanStatus::kError);
}

// Shaped like redis-cli 7's COMMAND DOCS reply: maps of arrays of maps, nested past depth 7.
std::string CommandDocsLike() {
  std::string arg_leaf =
      "*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n"
      "$14\r\nkey_spec_index\r\n:0\r\n";
  std::string nested = arg_leaf;
  for (int depth = 0; depth < 6; ++depth) {
    nested = "*4\r\n$4\r\nname\r\n$5\r\nblock\r\n$9\r\narguments\r\n*2\r\n" + nested + arg_leaf;
  }
  std::string doc =
      "*10\r\n$7\r\nsummary\r\n$29\r\nSet the string value of a key\r\n"
      "$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n"
      "$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n" +
      nested;
  return "*4\r\n$3\r\nset\r\n" + doc + "$3\r\nget\r\n" + doc;
}

TEST(ReplyScannerTest, FindsTheEndOfACommandDocsLikeReply) { ExpectOneReply(CommandDocsLike()); }

TEST(ReplyScannerTest, ReportsTypeAndFirstLineForRedirects) {
  const std::string input = "-MOVED 3999 127.0.0.1:6381\r\n-ASK 3999 127.0.0.1:6382\r\n";
  size_t length = 0;
  ReplyInfo info;
  ASSERT_EQ(ScanReply(input, &length, &info), ScanStatus::kOk);
  EXPECT_EQ(length, 28u);
  EXPECT_EQ(info.type, ReplyType::kError);
  EXPECT_EQ(info.line, "MOVED 3999 127.0.0.1:6381");
  ASSERT_EQ(ScanReply(std::string_view(input).substr(length), &length, &info), ScanStatus::kOk);
  EXPECT_EQ(info.line, "ASK 3999 127.0.0.1:6382");
}

TEST(ReplyScannerTest, ReportsPayloadNullsAndSkipsAttributes) {
  size_t length = 0;
  ReplyInfo info;
  ASSERT_EQ(ScanReply("$5\r\nhello\r\n", &length, &info), ScanStatus::kOk);
  EXPECT_EQ(info.type, ReplyType::kBulkString);
  EXPECT_EQ(info.payload, "hello");
  EXPECT_FALSE(info.is_null);
  ASSERT_EQ(ScanReply("$-1\r\n", &length, &info), ScanStatus::kOk);
  EXPECT_TRUE(info.is_null);
  EXPECT_EQ(info.payload, "");
  ASSERT_EQ(ScanReply("*-1\r\n", &length, &info), ScanStatus::kOk);
  EXPECT_EQ(info.type, ReplyType::kArray);
  EXPECT_TRUE(info.is_null);
  ASSERT_EQ(ScanReply("|1\r\n+a\r\n*1\r\n:1\r\n-TRYAGAIN later\r\n", &length, &info),
            ScanStatus::kOk);
  EXPECT_EQ(info.type, ReplyType::kError);
  EXPECT_EQ(info.line, "TRYAGAIN later");
  EXPECT_EQ(length, 33u);
  ASSERT_EQ(ScanReply("$?\r\n;2\r\nab\r\n;0\r\n", &length, &info), ScanStatus::kOk);
  EXPECT_EQ(info.type, ReplyType::kBulkString);
  EXPECT_TRUE(info.is_streamed);
}

TEST(ReplyScannerTest, IncrementalScanReportsInfoFromTheFinalCall) {
  const std::string reply = "*2\r\n$3\r\nfoo\r\n-ERR inner\r\n";
  ReplyScanner scanner;
  size_t length = 0;
  ReplyInfo info;
  std::string pending;
  for (char c : reply) {
    pending.push_back(c);
    ScanStatus status = scanner.Scan(pending, &length, &info);
    ASSERT_EQ(status, pending.size() == reply.size() ? ScanStatus::kOk : ScanStatus::kNeedMore);
  }
  EXPECT_EQ(length, reply.size());
  EXPECT_EQ(info.type, ReplyType::kArray);
  EXPECT_EQ(info.line, "2");
}

TEST(ReplyScannerTest, RejectsMalformedReplies) {
  for (std::string bad :
       {"?x\r\n", "$x\r\n", "$-2\r\n", "!-1\r\n", "*-2\r\n", "%-1\r\n", "+OK\rX", "$3\r\nabcXY",
        "*1\r\n.\r\n", ";3\r\n", "$?\r\n+a\r\n", "$?\r\n;2\r\nabXY", "*?\r\n.x\r\n",
        "*9223372036854775807\r\n", "%4611686018427387904\r\n", "|?\r\n", "*01\r\n"}) {
    SCOPED_TRACE(bad);
    ScanOutcome out = ScanEverySplit(bad);
    EXPECT_NE(out.error, "");
    EXPECT_TRUE(out.lengths.empty());
  }
}

TEST(ReplyScannerTest, ErrorIsStickyUntilReset) {
  ReplyScanner scanner;
  size_t length = 0;
  ASSERT_EQ(scanner.Scan("?\r\n", &length), ScanStatus::kError);
  EXPECT_NE(scanner.error(), nullptr);
  EXPECT_EQ(scanner.Scan("+OK\r\n", &length), ScanStatus::kError);
  scanner.Reset();
  EXPECT_EQ(scanner.Scan("+OK\r\n", &length), ScanStatus::kOk);
}

TEST(ReplyScannerTest, ScansAPipelineOfRepliesInOrder) {
  std::string input;
  std::vector<size_t> expected;
  for (int i = 0; i < 500; ++i) {
    std::string reply;
    switch (i % 4) {
      case 0:
        reply = "+OK\r\n";
        break;
      case 1:
        reply = "$10\r\n0123456789\r\n";
        break;
      case 2:
        reply = "*3\r\n$1\r\na\r\n$-1\r\n:7\r\n";
        break;
      default:
        reply = "-MOVED 1 127.0.0.1:7000\r\n";
        break;
    }
    input += reply;
    expected.push_back(reply.size());
  }
  ScanOutcome out = ScanEverySplit(input);
  EXPECT_EQ(out.lengths, expected);
}

TEST(ReplyScannerTest, ResumesWithoutRescanningAHugeArray) {
  // 200k elements arriving 16 bytes at a time: rescanning from the start would be quadratic.
  std::string reply = "*200000\r\n";
  for (int i = 0; i < 200000; ++i) reply += "$3\r\nabc\r\n";
  ReplyScanner scanner;
  std::string pending;
  size_t length = 0;
  ScanStatus status = ScanStatus::kNeedMore;
  auto start = std::chrono::steady_clock::now();
  for (size_t at = 0; at < reply.size(); at += 16) {
    pending.append(reply, at, 16);
    status = scanner.Scan(pending, &length);
  }
  EXPECT_EQ(status, ScanStatus::kOk);
  EXPECT_EQ(length, reply.size());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace rs::resp
