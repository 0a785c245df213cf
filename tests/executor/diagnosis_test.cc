// The explanations of a node that cannot join, from CLUSTER NODES / INFO text and a connection's
// answer (the real-server cases are in join_diagnosis_test).
#include "executor/diagnosis.h"

#include <gtest/gtest.h>

namespace rs::executor {
namespace {

const char kJoiner[] = "2c2da39e7ac368c2f77ee27adc2f3f14e998d75a";
const char kPeer[] = "b6f404ff8b4624b1e329188a3f4b4b590e9c6604";

health::ClusterNodes View(const std::string& others) {
  std::string text =
      std::string(kPeer) + " 127.0.0.3:7001@17001 myself,master - 0 0 0 connected\n" + others;
  auto v = health::ParseClusterNodes(text);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : health::ClusterNodes{};
}

const model::NodeRef kNode{"127.0.0.2:7002", kJoiner};

TEST(ExplainUnknownPeerTest, HandshakeFromAnotherHostNamesBindSourceAddr) {
  auto view = View(
      "c1a5c1113e88196f2e6f978ce0256c696329e33c 127.0.0.1:7002@17002 handshake - 0 0 "
      "0 disconnected\n");
  SourceConfig none{true, "", ""};
  std::string why = ExplainUnknownPeer("127.0.0.3:7001", view, kNode, none);
  EXPECT_EQ(why,
            "127.0.0.3:7001 sees a handshake from 127.0.0.1:7002 instead of 127.0.0.2:7002: the "
            "cluster bus of 127.0.0.2:7002 connects from another source address (it sets neither "
            "bind-source-addr nor cluster-announce-ip); set bind-source-addr 127.0.0.2 on it (or "
            "cluster-announce-ip 127.0.0.2, or bind the right interface)");
}

TEST(ExplainUnknownPeerTest, NodeKnownByIdAtAnotherAddress) {
  auto view = View(std::string(kJoiner) + " 127.0.0.1:7002@17002 master - 0 0 1 connected\n");
  std::string why = ExplainUnknownPeer("127.0.0.3:7001", view, kNode, SourceConfig{});
  EXPECT_NE(why.find("127.0.0.3:7001 sees node " + std::string(kJoiner) +
                     " at 127.0.0.1:7002 instead of 127.0.0.2:7002"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("set bind-source-addr 127.0.0.2"), std::string::npos) << why;
}

TEST(ExplainUnknownPeerTest, WrongAnnouncedAddressIsNamed) {
  auto view = View(std::string(kJoiner) + " 10.1.1.1:7002@17002 master - 0 0 1 connected\n");
  SourceConfig wrong{true, "", "10.1.1.1"};
  std::string why = ExplainUnknownPeer("127.0.0.3:7001", view, kNode, wrong);
  EXPECT_NE(why.find("announces cluster-announce-ip 10.1.1.1; set it to 127.0.0.2"),
            std::string::npos)
      << why;
}

TEST(ExplainUnknownPeerTest, HandshakeAtTheNodesOwnAddressIsABusProblem) {
  auto view = View(
      "c1a5c1113e88196f2e6f978ce0256c696329e33c 127.0.0.2:7002@17002 handshake - 0 0 "
      "0 disconnected\n");
  std::string why = ExplainUnknownPeer("127.0.0.3:7001", view, kNode, SourceConfig{});
  EXPECT_NE(why.find("has not completed its handshake with 127.0.0.2:7002"), std::string::npos)
      << why;
}

TEST(ExplainUnknownPeerTest, AnotherNodesHandshakeIsNotBlamedOnANodeThatAnnouncesItself) {
  // On lain every node listens on 6379: a handshake from 10.0.0.6:6379 is not 10.0.0.5's when
  // 10.0.0.5 announces its address.
  auto view = View(
      "c1a5c1113e88196f2e6f978ce0256c696329e33c 10.0.0.6:6379@16379 handshake - 0 0 "
      "0 disconnected\n");
  const model::NodeRef node{"10.0.0.5:6379", kJoiner};
  EXPECT_EQ(ExplainUnknownPeer("10.0.0.7:6379", view, node, SourceConfig{true, "", "10.0.0.5"}),
            "");
  EXPECT_EQ(ExplainUnknownPeer("10.0.0.7:6379", view, node, SourceConfig{true, "10.0.0.5", ""}),
            "");
  EXPECT_NE(ExplainUnknownPeer("10.0.0.7:6379", view, node, SourceConfig{true, "", ""}), "");
}

TEST(SourceHintTest, OnlyWhenTheNodeSetsNeither) {
  EXPECT_NE(SourceHint(kNode, SourceConfig{true, "", ""}).find("sets neither"), std::string::npos);
  EXPECT_EQ(SourceHint(kNode, SourceConfig{true, "127.0.0.2", ""}), "");
  EXPECT_EQ(SourceHint(kNode, SourceConfig{}), "");  // CONFIG refused: nothing to say.
}

TEST(ExplainUnknownPeerTest, NothingAboutTheNodeExplainsNothing) {
  // Another node's handshake on another port is not this node's.
  auto view = View(
      "c1a5c1113e88196f2e6f978ce0256c696329e33c 127.0.0.1:7005@17005 handshake - 0 0 "
      "0 disconnected\n");
  EXPECT_EQ(ExplainUnknownPeer("127.0.0.3:7001", view, kNode, SourceConfig{}), "");
}

TEST(DescribeMasterLinkTest, DownForSecondsAndNeverUp) {
  auto down = health::InfoFields::Parse(
      "# Replication\r\nrole:slave\r\nmaster_link_status:down\r\n"
      "master_link_down_since_seconds:12\r\nmaster_sync_in_progress:0\r\n");
  EXPECT_EQ(DescribeMasterLink(down), "master_link_status:down for 12 s");
  auto never = health::InfoFields::Parse(
      "master_link_status:down\r\nmaster_link_down_since_seconds:-1\r\n"
      "master_sync_in_progress:1\r\n");
  EXPECT_EQ(DescribeMasterLink(never), "master_link_status:down, never up, a sync is in progress");
}

TEST(AdviceForAnswerTest, NamesWhatToSet) {
  Result<std::string> denied(std::string(
      "-DENIED Redis is running in protected mode because protected mode is enabled and no "
      "password is set for the default user. In this mode ..."));
  EXPECT_NE(AdviceForAnswer("127.0.0.1:7000", "127.0.0.2", denied).find("set protected-mode no"),
            std::string::npos);
  Result<std::string> noauth(std::string("-NOAUTH Authentication required."));
  EXPECT_NE(AdviceForAnswer("127.0.0.1:7000", "127.0.0.2", noauth).find("masterauth"),
            std::string::npos);
  Result<std::string> refused(
      Status::Unavailable("connect from 127.0.0.2 to 127.0.0.1:7000: "
                          "Connection refused"));
  EXPECT_NE(AdviceForAnswer("127.0.0.1:7000", "127.0.0.2", refused).find("bind"),
            std::string::npos);
  Result<std::string> pong(std::string("+PONG"));
  EXPECT_NE(AdviceForAnswer("127.0.0.1:7000", "127.0.0.2", pong).find("replica's log"),
            std::string::npos);
}

TEST(TryConnectionTest, ASourceThatIsNotLocalIsRefusedBeforeConnecting) {
  auto r = TryConnection("192.0.2.1", "127.0.0.1:1", ConnectOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
}

}  // namespace
}  // namespace rs::executor
