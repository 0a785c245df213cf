#include "proxy/scan_cursor.h"

#include <gtest/gtest.h>

#include <string>

#include "proxy/proxy_errors.h"

namespace rs::proxy {
namespace {

TEST(ScanCursorTest, EncodingRoundTripsEveryField) {
  for (ScanCursor c :
       {ScanCursor{0, 1, 0}, ScanCursor{1, 1, 1},
        ScanCursor{ScanCursor::kMaxNodeCursor, ScanCursor::kMaxAddressId, ScanCursor::kVersionMask},
        ScanCursor{123456789, 4242, 9999}}) {
    EXPECT_EQ(ScanCursor::Decode(c.Encode()), c) << c.DebugString();
  }
}

TEST(ScanCursorTest, FieldsDoNotOverlap) {
  EXPECT_EQ((ScanCursor{ScanCursor::kMaxNodeCursor, 0x3fff, 0}.Encode()), ~uint64_t{0} >> 14);
  EXPECT_EQ((ScanCursor{0, 1, 0}.Encode()), uint64_t{1} << 36);
  EXPECT_EQ((ScanCursor{0, 1, 1}.Encode()), uint64_t{1} << 50 | uint64_t{1} << 36);
  EXPECT_EQ((ScanCursor{0, 1, ScanCursor::kVersionMask}.Encode()) >> 50, 0x3fffu);
}

// 0 means "start" from the client and "done" from the proxy, so an unfinished scan must never
// produce it, not even at node cursor 0 with version 0.
TEST(ScanCursorTest, UnfinishedCursorIsNeverZero) {
  for (uint16_t id = 1; id <= ScanCursor::kMaxAddressId; ++id) {
    ASSERT_NE((ScanCursor{0, id, 0}.Encode()), 0u) << id;
  }
}

TEST(ScanCursorTest, AnyNumberDecodesAndForeignOnesHaveNoAddress) {
  EXPECT_EQ(ScanCursor::Decode(0).address_id, 0);
  EXPECT_EQ(ScanCursor::Decode(12345).address_id, 0);  // a cursor a plain Redis node would give
  ScanCursor all = ScanCursor::Decode(~uint64_t{0});
  EXPECT_EQ(all.node_cursor, ScanCursor::kMaxNodeCursor);
  EXPECT_EQ(all.address_id, ScanCursor::kMaxAddressId);
  EXPECT_EQ(all.version, ScanCursor::kVersionMask);
}

// What redis-server 7.0.15 answers to SCAN <text>: accepted values and "ERR invalid cursor".
TEST(ScanCursorTest, ParsesTheCursorArgumentLikeRedis70) {
  struct Case {
    std::string text;
    uint64_t value;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"0", 0},
           {"", 0},
           {"007", 7},
           {"+5", 5},
           {"-1", ~uint64_t{0}},
           {"-18446744073709551615", 1},
           {"18446744073709551615", ~uint64_t{0}},
           {"1152991873351024640", 1152991873351024640u},
           {std::string("5\0junk", 6), 5},
       }) {
    auto r = ParseScanCursor(c.text);
    ASSERT_TRUE(r.ok()) << "'" << c.text << "': " << r.status().ToString();
    EXPECT_EQ(*r, c.value) << c.text;
  }
}

TEST(ScanCursorTest, RejectsGarbageWithRedisText) {
  for (std::string_view bad : {" 1", "1 ", "\t1", "abc", "1a", "0x10", "-", "+", "1.5",
                               "18446744073709551616", "-18446744073709551616"}) {
    auto r = ParseScanCursor(bad);
    ASSERT_FALSE(r.ok()) << "'" << bad << "'";
    EXPECT_EQ(r.status().message(), errors::kInvalidCursor) << bad;
  }
}

}  // namespace
}  // namespace rs::proxy
