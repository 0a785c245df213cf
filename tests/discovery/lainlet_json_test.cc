#include "discovery/lainlet_json.h"

#include <gtest/gtest.h>

namespace rs::discovery {
namespace {

using model::Member;

TEST(LainletJsonTest, ParsesTheDocumentedExample) {
  auto pods = ParseProcwatcher(
      R"([{"proc":[{"InstanceNo":1,"IP":"172.20.0.11","Port":6379,"ProcName":"redis"},)"
      R"({"InstanceNo":2,"IP":"172.20.1.7","Port":6379,"ProcName":"redis"}]},)"
      R"({"proc":[{"InstanceNo":1,"IP":"172.20.0.12","Port":0,"ProcName":"redis-ctl"}]}])");
  ASSERT_TRUE(pods.ok()) << pods.status().ToString();
  ASSERT_EQ(pods->size(), 3u);
  EXPECT_EQ((*pods)[2], (Pod{1, "172.20.0.12", 0, "redis-ctl"}));
  auto sel = SelectMembers(*pods, "redis", {});
  EXPECT_EQ(sel.members, (std::vector<Member>{{1, "172.20.0.11:6379", "172.20.0.11"},
                                              {2, "172.20.1.7:6379", "172.20.1.7"}}));
}

TEST(LainletJsonTest, SkipsPodsWithoutIpPortOrProcName) {
  auto pods =
      ParseProcwatcher(R"([{"proc":[{"InstanceNo":1,"IP":"","Port":6379,"ProcName":"redis"},)"
                       R"({"InstanceNo":2,"IP":"172.20.1.7","Port":6379,"ProcName":""},)"
                       R"({"InstanceNo":3,"IP":"172.20.1.8","Port":0,"ProcName":"redis"},)"
                       R"({"InstanceNo":4,"IP":"172.20.1.9","Port":6379,"ProcName":"redis"}]}])");
  ASSERT_TRUE(pods.ok());
  auto sel = SelectMembers(*pods, "redis", {});
  EXPECT_EQ(sel.members, (std::vector<Member>{{4, "172.20.1.9:6379", "172.20.1.9"}}));
  EXPECT_EQ(sel.skipped.size(), 2u);  // The empty-ProcName pod is another proc, not "skipped".
}

TEST(LainletJsonTest, NullListsAreEmpty) {
  for (std::string_view body : {"null", "[]", R"([{"proc":null}])", R"([{}])"}) {
    auto pods = ParseProcwatcher(body);
    ASSERT_TRUE(pods.ok()) << body;
    EXPECT_TRUE(pods->empty()) << body;
  }
}

TEST(LainletJsonTest, MalformedBodiesAreErrorsNotEmptySnapshots) {
  for (std::string_view body :
       {"", "[", "{}", R"([1])", R"([{"proc":{}}])", R"([{"proc":[{"IP":"1.2.3.4"}]}])",
        R"([{"proc":[{"InstanceNo":"x"}]}])"}) {
    EXPECT_FALSE(ParseProcwatcher(body).ok()) << body;
  }
}

TEST(LainletJsonTest, MixedProcsKeepOnlyTheConfiguredOneAndFirstOfDuplicateInstance) {
  auto pods = ParseProcwatcher(
      R"([{"proc":[{"InstanceNo":1,"IP":"10.0.0.1","Port":7000,"ProcName":"cache"}]},)"
      R"({"proc":[{"InstanceNo":1,"IP":"10.0.0.2","Port":6379,"ProcName":"redis"},)"
      R"({"InstanceNo":1,"IP":"10.0.0.3","Port":6379,"ProcName":"redis"}]}])");
  ASSERT_TRUE(pods.ok());
  auto sel = SelectMembers(*pods, "cache", {});
  EXPECT_EQ(sel.members, (std::vector<Member>{{1, "10.0.0.1:7000", "10.0.0.1"}}));
  sel = SelectMembers(*pods, "redis", {});
  EXPECT_EQ(sel.members, (std::vector<Member>{{1, "10.0.0.2:6379", "10.0.0.2"}}));
}

TEST(LainletJsonTest, CoreinfoGivesTheRealHostForAntiAffinity) {
  auto hosts = ParseCoreinfo(
      R"({"redis-service.worker.redis":{"PodInfos":[{"Annotation":"{}","ContainerInfos":[)"
      R"({"Command":null,"ContainerId":"bb","ContainerIp":"172.20.0.11","Cpu":0,"Env":[],)"
      R"("Expose":6379,"Image":"x","Memory":1,"NodeIp":"192.168.77.21","NodeName":"node1",)"
      R"("Volumes":null}],"Dependencies":[],"InstanceNo":1}]},)"
      R"("redis-service.worker.redis-ctl":{"PodInfos":[{"ContainerInfos":[{"NodeName":"node9"}],)"
      R"("InstanceNo":1}]}})",
      "redis");
  ASSERT_TRUE(hosts.ok()) << hosts.status().ToString();
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ(hosts->at(1), (PodHost{"node1", "192.168.77.21"}));
  auto pods = ParseProcwatcher(
      R"([{"proc":[{"InstanceNo":1,"IP":"172.20.0.11","Port":6379,"ProcName":"redis"},)"
      R"({"InstanceNo":2,"IP":"172.20.0.12","Port":6379,"ProcName":"redis"}]}])");
  ASSERT_TRUE(pods.ok());
  auto sel = SelectMembers(*pods, "redis", *hosts);
  EXPECT_EQ(sel.members, (std::vector<Member>{{1, "172.20.0.11:6379", "node1"},
                                              {2, "172.20.0.12:6379", "172.20.0.12"}}));
}

TEST(LainletJsonTest, CoreinfoRejectsWrongShapes) {
  EXPECT_FALSE(ParseCoreinfo("[]", "redis").ok());
  EXPECT_FALSE(ParseCoreinfo(R"({"a.b.redis":{"PodInfos":{}}})", "redis").ok());
  EXPECT_TRUE(ParseCoreinfo("{}", "redis").ok());
}

}  // namespace
}  // namespace rs::discovery
