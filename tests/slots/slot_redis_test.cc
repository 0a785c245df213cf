// KeySlot against the real thing: CLUSTER KEYSLOT of a redis-server started by LocalRedis.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/slot.h"
#include "support/local_redis.h"
#include "support/test_status.h"

namespace rs {
namespace {

using test::LocalRedis;
using test::Reply;

// Random keys that exercise the hash-tag rules: braces are over-represented, and some keys are
// fully binary (NUL and high bytes included).
std::vector<std::string> RandomKeys(int count, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::string alphabet = "ab{}{}{}xyz:0123";
  std::vector<std::string> keys = {"",     "{",    "}",      "{}",        "}{",
                                   "{}}",  "{{}}", "{a}{b}", "a{}b",      "{{a}}",
                                   "}{a}", "{a",   "a}",     "123456789", "{user1000}.x"};
  while (static_cast<int>(keys.size()) < count) {
    int len = std::uniform_int_distribution<int>(0, 24)(rng);
    bool binary = std::uniform_int_distribution<int>(0, 3)(rng) == 0;
    std::string key;
    for (int i = 0; i < len; ++i) {
      if (binary) {
        key.push_back(static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng)));
      } else {
        key.push_back(alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)]);
      }
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

std::string Printable(const std::string& key) {
  std::string out;
  for (unsigned char c : key) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

TEST(SlotRedisTest, KeySlotMatchesClusterKeyslotForRandomKeys) {
  LocalRedis redis;
  RS_ASSERT_OK(redis.Start());
  RS_ASSERT_OK_AND_ASSIGN(auto client, redis.Connect());

  std::vector<std::string> keys = RandomKeys(5000, 20261124);
  for (const auto& key : keys) client.Append({"CLUSTER", "KEYSLOT", key});
  int mismatches = 0;
  int tagged = 0;
  for (const auto& key : keys) {
    RS_ASSERT_OK_AND_ASSIGN(Reply reply, client.GetReply());
    ASSERT_EQ(reply.type, Reply::Type::kInteger) << reply.ToString();
    if (HashTagOf(key).size() != key.size()) ++tagged;
    if (reply.integer != KeySlot(key) && ++mismatches <= 10) {
      ADD_FAILURE() << "key \"" << Printable(key) << "\": redis says " << reply.integer
                    << ", KeySlot says " << KeySlot(key);
    }
  }
  EXPECT_EQ(mismatches, 0);
  // The generator must really produce hash-tagged keys, or the test proves less than it claims.
  EXPECT_GT(tagged, 500);
}

}  // namespace
}  // namespace rs
