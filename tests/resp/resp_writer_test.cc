#include "common/resp_writer.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/redis_errors.h"
#include "common/resp_parser.h"
#include "common/resp_scanner.h"
#include "resp_feed.h"

namespace rs::resp {
namespace {

TEST(RespWriterTest, WritesEachReplyType) {
  std::string out;
  AppendSimpleString(&out, "OK");
  AppendError(&out, redis_errors::kCrossSlot);
  AppendInteger(&out, -9223372036854775807LL - 1);
  AppendBulk(&out, std::string("a\0\r\n", 4));
  AppendNullBulk(&out);
  AppendArrayHeader(&out, 2);
  AppendNullArray(&out);
  EXPECT_EQ(out, std::string("+OK\r\n"
                             "-CROSSSLOT Keys in request don't hash to the same slot\r\n"
                             ":-9223372036854775808\r\n"
                             "$4\r\na\0\r\n\r\n"
                             "$-1\r\n"
                             "*2\r\n"
                             "*-1\r\n",
                             5 + 56 + 23 + 10 + 5 + 4 + 5));
}

TEST(RespWriterTest, WritesResp3TypesTheScannerReads) {
  std::string out;
  AppendMapHeader(&out, 1);
  AppendBulk(&out, "k");
  AppendNull(&out);
  AppendSetHeader(&out, 0);
  AppendPushHeader(&out, 2);
  AppendBulk(&out, "message");
  AppendVerbatim(&out, "txt", "a:1\r\n");
  EXPECT_EQ(out, "%1\r\n$1\r\nk\r\n_\r\n~0\r\n>2\r\n$7\r\nmessage\r\n=9\r\ntxt:a:1\r\n\r\n");
  // Each top-level value scans as one reply of its type.
  std::string_view rest = out;
  std::vector<ReplyType> types;
  while (!rest.empty()) {
    size_t len = 0;
    ReplyInfo info;
    ASSERT_EQ(ScanReply(rest, &len, &info), ScanStatus::kOk) << rest;
    types.push_back(info.type);
    rest.remove_prefix(len);
  }
  EXPECT_EQ(types, (std::vector<ReplyType>{ReplyType::kMap, ReplyType::kSet, ReplyType::kPush}));
}

TEST(RespWriterTest, KeepsAnErrorOnOneLine) {
  std::string out;
  AppendError(&out, "ERR bad\r\nthing\n");
  EXPECT_EQ(out, "-ERR bad  thing \r\n");
}

TEST(RespWriterTest, WritesACommandAsMultibulk) {
  std::string out;
  AppendCommand(&out, {"GET", "k"});
  EXPECT_EQ(out, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
}

std::string RandomBytes(std::mt19937& rng, size_t max_len) {
  std::uniform_int_distribution<size_t> len(0, max_len);
  // Bias towards the bytes that matter to the protocol.
  static constexpr char kSpecial[] = {'\r', '\n', '*', '$', '"', '\'', ' ', '\0', '\\', '-'};
  std::string s(len(rng), '\0');
  for (char& c : s) {
    c = rng() % 4 == 0 ? kSpecial[rng() % sizeof(kSpecial)] : static_cast<char>(rng() % 256);
  }
  return s;
}

TEST(RespWriterTest, RandomCommandsRoundTripThroughTheParser) {
  std::mt19937 rng(20240601);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::vector<std::string>> commands;
    std::string wire;
    for (int i = 0, n = 1 + rng() % 20; i < n; ++i) {
      std::vector<std::string> args;
      std::vector<std::string_view> views;
      for (int a = 0, m = 1 + rng() % 6; a < m; ++a) args.push_back(RandomBytes(rng, 40));
      views.assign(args.begin(), args.end());
      AppendCommand(&wire, views);
      commands.push_back(std::move(args));
    }
    std::vector<size_t> cuts;
    for (size_t at = rng() % 30 + 1; at < wire.size(); at += rng() % 30 + 1) cuts.push_back(at);
    testing::ParseOutcome out = testing::ParseChunks(wire, cuts);
    ASSERT_EQ(out.error, "");
    ASSERT_EQ(out.leftover, 0u);
    ASSERT_EQ(out.requests.size(), commands.size());
    for (size_t i = 0; i < commands.size(); ++i) EXPECT_EQ(out.requests[i].args, commands[i]);
  }
}

// Appends a random reply tree of at most `depth` levels using the writer.
void AppendRandomReply(std::mt19937& rng, int depth, std::string* out) {
  switch (rng() % (depth > 0 ? 7 : 5)) {
    case 0:
      AppendSimpleString(out, "OK");
      break;
    case 1:
      AppendError(out, RandomBytes(rng, 20));
      break;
    case 2:
      AppendInteger(out, static_cast<int64_t>(rng()) - (1LL << 31));
      break;
    case 3:
      AppendBulk(out, RandomBytes(rng, 60));
      break;
    case 4:
      AppendNullBulk(out);
      break;
    case 5:
      AppendNullArray(out);
      break;
    default: {
      int n = rng() % 5;
      AppendArrayHeader(out, n);
      for (int i = 0; i < n; ++i) AppendRandomReply(rng, depth - 1, out);
    }
  }
}

TEST(RespWriterTest, RandomRepliesRoundTripThroughTheScanner) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::string wire;
    std::vector<size_t> lengths;
    for (int i = 0, n = 1 + rng() % 10; i < n; ++i) {
      size_t before = wire.size();
      AppendRandomReply(rng, 1 + rng() % 12, &wire);
      lengths.push_back(wire.size() - before);
    }
    std::vector<size_t> cuts;
    for (size_t at = rng() % 30 + 1; at < wire.size(); at += rng() % 30 + 1) cuts.push_back(at);
    testing::ScanOutcome out = testing::ScanChunks(wire, cuts);
    ASSERT_EQ(out.error, "");
    EXPECT_EQ(out.lengths, lengths);
    EXPECT_EQ(out.leftover, 0u);
  }
}

}  // namespace
}  // namespace rs::resp
