#include "discovery/member_file.h"

#include <gtest/gtest.h>

namespace rs::discovery {
namespace {

using model::Member;

TEST(MemberFileTest, ParsesLinesWithLabelsCommentsAndBlanks) {
  auto m = ParseMemberFile(
      "# redis nodes\n127.0.0.1:7001 hostA\n\n  127.0.0.1:7000  # no label\n"
      "[::1]:7002 hostB\r\n");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(*m, (std::vector<Member>{{4, "127.0.0.1:7000", "127.0.0.1"},
                                     {2, "127.0.0.1:7001", "hostA"},
                                     {5, "[::1]:7002", "hostB"}}));
}

TEST(MemberFileTest, ErrorsNameTheLine) {
  auto m = ParseMemberFile("127.0.0.1:7000\n127.0.0.1:x\n");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("line 2"), std::string::npos) << m.status().ToString();
  m = ParseMemberFile("127.0.0.1:7000\n\n127.0.0.1:7000 b\n");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("line 3"), std::string::npos);
  EXPECT_NE(m.status().message().find("line 1"), std::string::npos);
  m = ParseMemberFile("127.0.0.1:7000 a b\n");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("line 1"), std::string::npos);
}

TEST(MemberFileTest, EmptyFileIsAnEmptySet) {
  auto m = ParseMemberFile("# nothing yet\n");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->empty());
}

TEST(MemberFileTest, StaticListUsesPositionAndHostPart) {
  auto m = ParseStaticMembers("10.0.0.2:6379,10.0.0.1:6379");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, (std::vector<Member>{{2, "10.0.0.1:6379", "10.0.0.1"},
                                     {1, "10.0.0.2:6379", "10.0.0.2"}}));
  EXPECT_FALSE(ParseStaticMembers("").ok());
  EXPECT_FALSE(ParseStaticMembers("10.0.0.1:6379,").ok());
  EXPECT_FALSE(ParseStaticMembers("10.0.0.1:6379,10.0.0.1:6379").ok());
}

TEST(MemberFileTest, DiscoverySpecSelectsTheSource) {
  auto s = ParseDiscoverySpec("static:127.0.0.1:7000,127.0.0.1:7001");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, DiscoverySpec::Kind::kStatic);
  EXPECT_EQ(s->members.size(), 2u);
  s = ParseDiscoverySpec("file:members.txt");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, DiscoverySpec::Kind::kFile);
  EXPECT_EQ(s->path, "members.txt");
  s = ParseDiscoverySpec("lainlet");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, DiscoverySpec::Kind::kLainlet);
  EXPECT_FALSE(ParseDiscoverySpec("etcd:x").ok());
  EXPECT_FALSE(ParseDiscoverySpec("file:").ok());
}

}  // namespace
}  // namespace rs::discovery
