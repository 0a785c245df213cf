#include "discovery/lainlet_address.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace rs::discovery {
namespace {

TEST(LainletAddressTest, AcceptsHostPortWithOrWithoutScheme) {
  for (const char* text : {"lainlet.lain:9001", "http://lainlet.lain:9001",
                           "http://lainlet.lain:9001/"}) {
    auto a = ParseLainletAddress(text);
    ASSERT_TRUE(a.ok()) << text << ": " << a.status().ToString();
    EXPECT_EQ(a->host, "lainlet.lain");
    EXPECT_EQ(a->port, 9001);
  }
  auto spec = ParseLainletDiscovery("lainlet:127.0.0.1:19001");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->ToString(), "127.0.0.1:19001");
}

TEST(LainletAddressTest, EmptyMeansLainletAddrElseTheLainDefault) {
  ::unsetenv("LAINLET_ADDR");
  auto a = ParseLainletDiscovery("lainlet");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ToString(), "lainlet.lain:9001");
  ::setenv("LAINLET_ADDR", "10.0.0.5:9002", 1);
  a = ParseLainletDiscovery("lainlet:");
  ::unsetenv("LAINLET_ADDR");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ToString(), "10.0.0.5:9002");
}

TEST(LainletAddressTest, RefusesWhatIsNotHostPort) {
  for (const char* text : {"https://lainlet.lain:9001", "http://lainlet.lain:9001/v2/procwatcher",
                           "lainlet.lain", "lainlet.lain:0", "lainlet.lain:99999"}) {
    auto a = ParseLainletAddress(text);
    EXPECT_FALSE(a.ok()) << text;
    EXPECT_NE(a.status().ToString().find(text), std::string::npos) << a.status().ToString();
  }
  EXPECT_FALSE(ParseLainletDiscovery("static:127.0.0.1:7000").ok());
  EXPECT_FALSE(ParseLainletDiscovery("lainletx").ok());
}

}  // namespace
}  // namespace rs::discovery
