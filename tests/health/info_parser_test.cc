#include "health/info_parser.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace rs::health {
namespace {

TEST(InfoParserTest, ReadsFieldsKeyspaceAndClusterInfo) {
  auto info = InfoFields::Parse(
      "# Replication\r\nrole:slave\r\nmaster_link_status:up\r\nslave_repl_offset:1234\r\n"
      "# Stats\r\ninstantaneous_ops_per_sec:17\r\n# Keyspace\r\n"
      "db0:keys=42,expires=1,avg_ttl=0\r\n");
  std::ifstream in(std::string(RS_HEALTH_TESTDATA) + "/cluster_info_fail.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  info.Merge(InfoFields::Parse(ss.str()));
  EXPECT_EQ(info.Get("role"), "slave");
  EXPECT_EQ(info.GetUint("slave_repl_offset"), 1234u);
  EXPECT_EQ(info.GetDouble("instantaneous_ops_per_sec"), 17.0);
  EXPECT_EQ(info.Db0Keys(), 42u);
  EXPECT_EQ(info.Get("cluster_state"), "fail");
  EXPECT_EQ(info.GetUint("cluster_slots_assigned"), 16384u);
  EXPECT_FALSE(info.Get("missing"));
  EXPECT_FALSE(info.GetUint("role"));
  EXPECT_EQ(InfoFields::Parse("").Db0Keys(), 0u);
}

}  // namespace
}  // namespace rs::health
