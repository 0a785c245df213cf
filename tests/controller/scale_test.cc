// 30 nodes (15 masters + 15 replicas) formed by a real redis-ctl. While gossip settles across
// them, no committed topology may be partial, and a proxy that follows the controller from its
// first commit serves a verifying load without one error.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <numeric>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "proxy/proxy.h"
#include "support/controller_fixture.h"
#include "support/redis_client.h"

namespace rs::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr int kNodes = 30;
constexpr int kMasters = kNodes / 2;

class ScaleTest : public ControllerFixture {};

uint64_t Epoch(const std::string& body) {
  if (body.empty()) return 0;
  json t = json::parse(body, nullptr, false);
  return t.is_object() && t.contains("epoch") ? t["epoch"].get<uint64_t>() : 0;
}

TEST_F(ScaleTest, ThirtyNodesFormWithNoPartialCommitAndAFollowingProxySeesNoError) {
  StartNodes(kNodes);
  std::vector<size_t> all(kNodes);
  std::iota(all.begin(), all.end(), 0);
  SetMembers(all);
  auto start = std::chrono::steady_clock::now();
  StartController({"--min-masters", std::to_string(kMasters)});
  ASSERT_TRUE(WaitFor(90s, [&] { return Epoch(HttpGet("/v1/topology")) >= 1; }))
      << ControllerLog();
  RecordProperty("formed_ms", static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   std::chrono::steady_clock::now() - start)
                                                   .count()));

  // A proxy that learns the cluster only from the controller, started at the first commit.
  proxy::ProxyConfig cfg;
  cfg.listen = "127.0.0.1:0";
  cfg.controller = fmt::format("http://127.0.0.1:{}", admin_port_);
  cfg.topology_wait_seconds = 5;
  proxy::Proxy proxy(cfg);
  ASSERT_TRUE(proxy.Start().ok());
  ASSERT_TRUE(WaitFor(10s, [&] {
    auto t = proxy.latest_table();
    return t && t->AssignedSlots() == 16384;
  }));

  // A verifying load while gossip settles: every SET is read back at once.
  auto client = RedisClient::Connect("127.0.0.1", proxy.port(), 5s);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  int ops = 0, errors = 0;
  std::string first_error;
  auto until = std::chrono::steady_clock::now() + 20s;
  for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
    std::string key = fmt::format("settle:{}", i);
    std::string value = fmt::format("v{}", i);
    auto set = client->Command({"SET", key, value});
    auto get = client->Command({"GET", key});
    ++ops;
    bool ok = set.ok() && !set->is_error() && get.ok() && !get->is_error() && get->str == value;
    if (!ok) {
      ++errors;
      if (first_error.empty()) {
        first_error = !set.ok()          ? set.status().ToString()
                      : set->is_error()  ? "SET: " + set->str
                      : !get.ok()        ? get.status().ToString()
                                         : fmt::format("GET {} gave '{}'", key, get->str);
      }
    }
  }
  proxy.Stop();
  RecordProperty("verified_ops", ops);
  EXPECT_GT(ops, 100);
  EXPECT_EQ(errors, 0) << "first: " << first_error;

  // Every topology ever committed holds all 16384 slots on 15 masters with their 15 replicas,
  // and the bootstrap's is the only one: settling commits nothing.
  json page = json::parse(HttpGet("/v1/events?kind=topology-committed&limit=1000"), nullptr, false);
  ASSERT_TRUE(page.is_object()) << ControllerLog();
  ASSERT_FALSE(page["events"].empty());
  for (const json& e : page["events"]) {
    const json& t = e["data"];
    int slots = 0, replicas = 0;
    for (const json& sh : t["shards"]) {
      slots += sh["slot_count"].get<int>();
      replicas += static_cast<int>(sh["replicas"].size());
    }
    EXPECT_EQ(slots, 16384) << "epoch " << t["epoch"];
    EXPECT_EQ(t["shards"].size(), static_cast<size_t>(kMasters)) << "epoch " << t["epoch"];
    EXPECT_EQ(replicas, kMasters) << "epoch " << t["epoch"];
  }
  EXPECT_EQ(page["events"].size(), 1u) << "topologies committed after the bootstrap";
  json plans = json::parse(HttpGet("/v1/plans"), nullptr, false);
  ASSERT_TRUE(plans.is_object());
  EXPECT_EQ(plans["history"].size(), 1u) << plans.dump(1);
  EXPECT_TRUE(plans["current"].is_null()) << plans.dump(1);
}

}  // namespace
}  // namespace rs::test
