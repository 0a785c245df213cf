#include "health/cluster_nodes_parser.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace rs::health {
namespace {

using model::OpenSlot;
using model::Role;
using model::SlotRange;

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(RS_HEALTH_TESTDATA) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ClusterNodes MustParse(const std::string& fixture) {
  auto r = ParseClusterNodes(Fixture(fixture));
  EXPECT_TRUE(r.ok()) << fixture << ": " << r.status().ToString();
  return r.ok() ? *r : ClusterNodes{};
}

const model::PeerView* Peer(const ClusterNodes& n, std::string_view address) {
  for (const auto& p : n.peers) {
    if (p.address == address) return &p;
  }
  return nullptr;
}

TEST(ClusterNodesParserTest, FreshNodeHasNoAddressNoSlotsAndNoPeers) {
  auto n = MustParse("fresh_node.txt");
  EXPECT_EQ(n.myself.id.size(), 40u);
  EXPECT_EQ(n.myself.address, "");
  EXPECT_EQ(n.myself.role, Role::kMaster);
  EXPECT_TRUE(n.myself.slots.empty());
  EXPECT_TRUE(n.peers.empty());
  EXPECT_EQ(n.myself.config_epoch, 0u);
}

TEST(ClusterNodesParserTest, FormedClusterSeenFromAMaster) {
  auto n = MustParse("formed_myself_master.txt");
  EXPECT_EQ(n.myself.role, Role::kMaster);
  EXPECT_EQ(n.myself.slots, (std::vector<SlotRange>{{0, 5460}}));
  EXPECT_TRUE(n.myself.master_id.empty());
  ASSERT_EQ(n.peers.size(), 5u);
  EXPECT_TRUE(
      std::is_sorted(n.peers.begin(), n.peers.end(), [](auto& a, auto& b) { return a.id < b.id; }));
  int masters = 0;
  uint32_t slots = model::CountSlots(n.myself.slots);
  for (const auto& p : n.peers) {
    EXPECT_TRUE(p.connected);
    EXPECT_FALSE(p.pfail || p.fail || p.handshake);
    if (p.role == Role::kMaster) {
      ++masters;
      slots += model::CountSlots(p.slots);
    } else {
      EXPECT_EQ(p.role, Role::kReplica);
      EXPECT_EQ(p.master_id.size(), 40u);
    }
  }
  EXPECT_EQ(masters, 2);
  EXPECT_EQ(slots, 16384u);
}

TEST(ClusterNodesParserTest, FormedClusterSeenFromAReplica) {
  auto n = MustParse("formed_myself_replica.txt");
  EXPECT_EQ(n.myself.role, Role::kReplica);
  EXPECT_EQ(n.myself.master_id.size(), 40u);
  EXPECT_TRUE(n.myself.slots.empty());
  model::NodeObservation obs;
  ApplyClusterNodes(n, &obs);
  EXPECT_EQ(obs.role, Role::kReplica);
  EXPECT_EQ(obs.master_id, n.myself.master_id);
  EXPECT_EQ(obs.peers.size(), 5u);
}

TEST(ClusterNodesParserTest, HostnameAfterTheBusPortIsDropped) {
  auto n = MustParse("formed_with_hostnames.txt");
  EXPECT_NE(n.myself.address.find("127.0.0.1:"), std::string::npos);
  EXPECT_EQ(n.myself.address.find(','), std::string::npos);
  EXPECT_EQ(n.myself.address.find('@'), std::string::npos);
  EXPECT_EQ(n.peers.size(), 5u);
}

TEST(ClusterNodesParserTest, OpenSlotsOnBothSidesOfAMigration) {
  auto src = MustParse("migrating_source.txt");
  auto dst = MustParse("importing_target.txt");
  ASSERT_EQ(src.open_slots.size(), 1u);
  ASSERT_EQ(dst.open_slots.size(), 1u);
  EXPECT_EQ(src.open_slots[0], (OpenSlot{0, true, dst.myself.id}));
  EXPECT_EQ(dst.open_slots[0], (OpenSlot{0, false, src.myself.id}));
  // The open-slot entry is not an owned slot.
  EXPECT_EQ(src.myself.slots, (std::vector<SlotRange>{{0, 5460}}));
  EXPECT_EQ(dst.myself.slots, (std::vector<SlotRange>{{5461, 10922}}));
}

TEST(ClusterNodesParserTest, HandshakeLineIsAPeerWithoutRole) {
  auto n = MustParse("handshake.txt");
  ASSERT_EQ(n.peers.size(), 6u);
  int handshakes = 0;
  for (const auto& p : n.peers) {
    if (!p.handshake) continue;
    ++handshakes;
    EXPECT_EQ(p.role, Role::kUnknown);
    EXPECT_FALSE(p.connected);
    EXPECT_FALSE(p.address.empty());
  }
  EXPECT_EQ(handshakes, 1);
}

TEST(ClusterNodesParserTest, FailedMasterFirstPfailThenFail) {
  auto pf = MustParse("pfail.txt");
  auto f = MustParse("fail.txt");
  int pfails = 0, fails = 0;
  for (const auto& p : pf.peers) pfails += p.pfail;
  for (const auto& p : f.peers) {
    fails += p.fail;
    if (p.fail) {
      EXPECT_FALSE(p.connected);
      EXPECT_EQ(p.role, Role::kMaster);
      EXPECT_EQ(model::CountSlots(p.slots), 5461u);
    }
  }
  EXPECT_EQ(pfails, 1);
  EXPECT_EQ(fails, 1);
}

TEST(ClusterNodesParserTest, NoaddrNodeHasAnEmptyAddress) {
  auto n = MustParse("noaddr.txt");
  int noaddr = 0;
  for (const auto& p : n.peers) {
    if (p.address.empty()) {
      ++noaddr;
      EXPECT_EQ(p.role, Role::kReplica);
    }
  }
  EXPECT_EQ(noaddr, 1);
  EXPECT_EQ(Peer(n, ""), &*std::find_if(n.peers.begin(), n.peers.end(),
                                        [](auto& p) { return p.address.empty(); }));
}

TEST(ClusterNodesParserTest, AcceptsOldFormatsIpv6AndSingleSlots) {
  auto r = ParseClusterNodes(
      "07c37dfeb235213a872192d90877d0cd55635b91 ::1:30004@31004 myself,master - 0 0 7 connected "
      "5 7-9 10\n"
      "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002 slave,nofailover "
      "07c37dfeb235213a872192d90877d0cd55635b91 0 1426238316232 2 connected\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->myself.address, "[::1]:30004");
  EXPECT_EQ(r->myself.slots, (std::vector<SlotRange>{{5, 5}, {7, 10}}));
  EXPECT_EQ(r->myself.config_epoch, 7u);
  ASSERT_EQ(r->peers.size(), 1u);
  EXPECT_EQ(r->peers[0].address, "127.0.0.1:30002");
}

TEST(ClusterNodesParserTest, RejectsMalformedLinesNamingTheLine) {
  constexpr std::string_view kId = "07c37dfeb235213a872192d90877d0cd55635b91";
  struct Case {
    std::string text;
    std::string want;
  } cases[] = {
      {"", "no myself line"},
      {std::string(kId) + " :1@2 myself,master - 0 0 0", "line 1"},
      {"xyz :1@2 myself,master - 0 0 0 connected", "bad node id"},
      {std::string(kId) + " :1@2 myself,master - 0 0 0 connected 16384", "bad slot"},
      {std::string(kId) + " :1@2 myself,master - 0 0 0 connected 9-3", "bad slot range"},
      {std::string(kId) + " :1@2 myself,master - 0 0 0 connected [3->-zz]", "bad node id"},
      {std::string(kId) + " :1@2 myself,master - 0 0 0 maybe", "bad link state"},
      {std::string(kId) + " :1@2 myself,master - 0 0 0 connected\n" + std::string(kId) +
           " :1@2 myself,master - 0 0 0 connected",
       "line 2: second myself"},
  };
  for (const auto& c : cases) {
    auto r = ParseClusterNodes(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().ToString();
  }
}

}  // namespace
}  // namespace rs::health
