#include "common/slot.h"

#include <gtest/gtest.h>

#include <string>

namespace rs {
namespace {

using namespace std::string_view_literals;

TEST(Crc16Test, MatchesXmodemCheckValue) {
  EXPECT_EQ(Crc16("123456789"), 0x31C3);
  EXPECT_EQ(Crc16(""), 0);
  EXPECT_EQ(Crc16("A"), 0x58E5);
}

TEST(Crc16Test, HashesEveryByteIncludingNulAndHighBytes) {
  EXPECT_NE(Crc16("a\0b"sv), Crc16("ab"));
  EXPECT_NE(Crc16("\xff"sv), Crc16("\x7f"sv));
  EXPECT_EQ(Crc16("\0"sv), 0);
}

TEST(KeySlotTest, MatchesValuesFromRedisDocumentation) {
  EXPECT_EQ(KeySlot("somekey"), 11058);
  EXPECT_EQ(KeySlot("foo{hash_tag}"), 2515);
  EXPECT_EQ(KeySlot("bar{hash_tag}"), 2515);
  EXPECT_EQ(KeySlot("123456789"), 0x31C3 & 0x3FFF);
  EXPECT_EQ(KeySlot(""), 0);
}

TEST(KeySlotTest, StaysWithinSlotRange) {
  std::string key;
  for (int i = 0; i < 100000; ++i) {
    key = "key:" + std::to_string(i);
    int slot = KeySlot(key);
    ASSERT_GE(slot, 0);
    ASSERT_LT(slot, kSlotCount);
  }
}

TEST(HashTagTest, KeyWithoutBracesHashesWhole) {
  EXPECT_EQ(HashTagOf("user1000"), "user1000");
  EXPECT_EQ(HashTagOf(""), "");
}

TEST(HashTagTest, TagBetweenFirstOpenAndNextCloseIsHashed) {
  EXPECT_EQ(HashTagOf("{user1000}.following"), "user1000");
  EXPECT_EQ(HashTagOf("x{user1000}y"), "user1000");
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("{user1000}.followers"));
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("user1000"));
}

TEST(HashTagTest, EmptyTagHashesWholeKey) {
  EXPECT_EQ(HashTagOf("{}"), "{}");
  EXPECT_EQ(HashTagOf("a{}b"), "a{}b");
  EXPECT_EQ(HashTagOf("{}{a}"), "{}{a}");  // Only the first '{' counts, and its tag is empty.
  EXPECT_EQ(KeySlot("{}"), Crc16("{}") & 0x3FFF);
}

TEST(HashTagTest, OnlyFirstTagCounts) {
  EXPECT_EQ(HashTagOf("{a}{b}"), "a");
  EXPECT_EQ(KeySlot("{a}{b}"), KeySlot("a"));
}

TEST(HashTagTest, NestedOpenBraceBelongsToTag) {
  // The first '{' opens, the first '}' after it closes: the tag of "{{a}}" is "{a".
  EXPECT_EQ(HashTagOf("{{a}}"), "{a");
  EXPECT_EQ(HashTagOf("{a{b}c}"), "a{b");
}

TEST(HashTagTest, CloseBeforeOpenIsIgnored) {
  EXPECT_EQ(HashTagOf("}{a}"), "a");
  EXPECT_EQ(HashTagOf("}a{"), "}a{");
}

TEST(HashTagTest, UnclosedOpenHashesWholeKey) {
  EXPECT_EQ(HashTagOf("{abc"), "{abc");
  EXPECT_EQ(HashTagOf("abc{"), "abc{");
  EXPECT_EQ(HashTagOf("{"), "{");
  EXPECT_EQ(HashTagOf("}"), "}");
}

TEST(HashTagTest, TagMayHoldBinaryBytes) { EXPECT_EQ(HashTagOf("x{\0\xff}y"sv), "\0\xff"sv); }

}  // namespace
}  // namespace rs
