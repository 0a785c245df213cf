#include "common/address.h"

#include <gtest/gtest.h>

namespace rs {
namespace {

TEST(AddressTest, ParsesHostPort) {
  auto a = Address::Parse("127.0.0.1:6379");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6379);
  EXPECT_EQ(a->ToString(), "127.0.0.1:6379");
}

TEST(AddressTest, ParsesHostname) {
  auto a = Address::Parse("redis-3.redis-service.lain:6379");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "redis-3.redis-service.lain");
}

TEST(AddressTest, ParsesBracketedIpv6) {
  auto a = Address::Parse("[::1]:7000");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 7000);
  EXPECT_EQ(a->ToString(), "[::1]:7000");
}

TEST(AddressTest, RejectsJunkWithClearErrors) {
  for (const char* bad : {"", "host", "host:", ":6379", "host:0", "host:65536", "host:12x",
                          "::1:6379", "[::1]", "[::1]6379", "[zz]:1", "ho st:1", "[::1:5"}) {
    auto a = Address::Parse(bad);
    EXPECT_FALSE(a.ok()) << "accepted '" << bad << "'";
    if (!a.ok()) {
      EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
      EXPECT_FALSE(a.status().message().empty());
    }
  }
}

TEST(AddressTest, ListenAddressMayHavePortZeroANodeAddressMayNot) {
  auto a = Address::ParseListen("127.0.0.1:0");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 0);
  EXPECT_TRUE(Address::ParseListen("[::1]:0").ok());
  EXPECT_EQ(Address::ParseListen("0.0.0.0:8080")->port, 8080);
  EXPECT_FALSE(Address::Parse("127.0.0.1:0").ok());
  for (const char* bad : {"", "host", "host:", ":0", "host:65536", "host:-1"}) {
    EXPECT_FALSE(Address::ParseListen(bad).ok()) << "accepted '" << bad << "'";
  }
}

}  // namespace
}  // namespace rs
