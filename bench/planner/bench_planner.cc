// Planning time for 500 masters + 500 replicas (every node observed, with its full peer list)
// after a membership change: two members added, and one master removed. Prints
// `name: value unit` lines; the value is the median over the repetitions.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "model/cluster_state.h"
#include "planner/planner.h"

namespace {

using rs::model::ClusterState;
using rs::model::Health;
using rs::model::NodeObservation;
using rs::model::PeerView;
using rs::model::Role;

constexpr int kMasters = 500;
constexpr int kHosts = 50;

// Replicas sit on the host after their master's, so the layout already meets policy.
int HostIndex(int i) {
  return i >= kMasters && i < 2 * kMasters ? (i - kMasters + 1) % kHosts : i % kHosts;
}
std::string Host(int i) { return fmt::format("10.1.{}.1", HostIndex(i)); }
std::string Address(int i) { return fmt::format("{}:{}", Host(i), 7000 + i / kHosts); }
std::string Id(int i) { return fmt::format("{:040x}", static_cast<uint64_t>(i) * 2654435761u + 1); }

// Node i < kMasters is a master; kMasters + j replicates master j (on the next host).
ClusterState Formed() {
  ClusterState s;
  s.last_time_ms = 1'000'000;
  const int n = 2 * kMasters;
  std::vector<PeerView> all(n);
  for (int i = 0; i < n; ++i) {
    all[i].id = Id(i);
    all[i].address = Address(i);
    all[i].role = i < kMasters ? Role::kMaster : Role::kReplica;
    if (i >= kMasters) all[i].master_id = Id(i - kMasters);
  }
  std::vector<int> by_id(n);
  for (int i = 0; i < n; ++i) by_id[i] = i;
  std::sort(by_id.begin(), by_id.end(), [&](int a, int b) { return all[a].id < all[b].id; });
  rs::model::Topology t;
  t.epoch = 7;
  for (int i = 0; i < n; ++i) {
    NodeObservation o;
    o.id = Id(i);
    o.role = i < kMasters ? Role::kMaster : Role::kReplica;
    if (i < kMasters) {
      uint16_t first = static_cast<uint16_t>(i * 16384 / kMasters);
      uint16_t last = static_cast<uint16_t>((i + 1) * 16384 / kMasters - 1);
      o.slots = {{first, last}};
      o.config_epoch = i + 1;
    } else {
      o.master_id = Id(i - kMasters);
    }
    o.peers.reserve(n - 1);
    for (int j : by_id) {
      if (j != i) o.peers.push_back(all[j]);
    }
    s.observed[Address(i)] = std::move(o);
    s.health[Address(i)] = {Health::kUp, rs::model::HealthReason::kNone, "", 0};
    s.members[Address(i)] = {static_cast<uint32_t>(i + 1), Address(i), Host(i)};
  }
  for (int i = 0; i < kMasters; ++i) {
    rs::model::Shard sh;
    sh.master = {Address(i), Id(i)};
    sh.slots = s.observed[Address(i)].slots;
    sh.replicas = {{Address(kMasters + i), Id(kMasters + i)}};
    t.shards.push_back(std::move(sh));
  }
  std::sort(t.shards.begin(), t.shards.end(),
            [](const auto& a, const auto& b) { return a.master.address < b.master.address; });
  s.topology = std::move(t);
  s.membership_seq = 1;
  s.last_seq = 2;
  s.next_plan_id = 8;
  return s;
}

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct Timing {
  double wall_ms = 0;  // Median wall-clock time.
  double cpu_ms = 0;   // Median thread CPU time: what the planner costs on a loaded machine.
  size_t steps = 0;
};

Timing Median(const ClusterState& s, const rs::planner::Policy& p, int reps) {
  std::vector<double> wall, cpu;
  Timing t;
  for (int r = 0; r < reps; ++r) {
    double cpu_start = ThreadCpuMs();
    auto start = std::chrono::steady_clock::now();
    rs::planner::Decision d = rs::planner::Make(s, p);
    auto end = std::chrono::steady_clock::now();
    cpu.push_back(ThreadCpuMs() - cpu_start);
    t.steps = d.plan.steps.size();
    wall.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  t.wall_ms = wall[wall.size() / 2];
  t.cpu_ms = cpu[cpu.size() / 2];
  return t;
}

}  // namespace

int main() {
  const rs::planner::Policy policy;
  const int reps = 21;

  ClusterState add = Formed();
  for (int k = 0; k < 2; ++k) {
    int i = 2 * kMasters + k;
    NodeObservation o;
    o.id = Id(i);
    o.role = Role::kMaster;
    add.observed[Address(i)] = o;
    add.health[Address(i)] = {Health::kUp, rs::model::HealthReason::kNone, "", 0};
    add.members[Address(i)] = {static_cast<uint32_t>(i + 1), Address(i), Host(i)};
  }
  Timing add_t = Median(add, policy, reps);

  ClusterState remove = Formed();
  remove.members.erase(Address(17));
  Timing remove_t = Median(remove, policy, reps);

  Timing steady_t = Median(Formed(), policy, reps);

  if (add_t.steps == 0 || remove_t.steps == 0) {
    std::fprintf(stderr, "bench_planner: a scenario proposed no plan\n");
    return 1;
  }
  fmt::print("planner_plan_time_1000_nodes: {:.2f} ms\n",
             std::max(add_t.wall_ms, remove_t.wall_ms));
  fmt::print("planner_plan_time_add_2_members_1000_nodes: {:.2f} ms\n", add_t.wall_ms);
  fmt::print("planner_plan_time_remove_master_1000_nodes: {:.2f} ms\n", remove_t.wall_ms);
  fmt::print("planner_plan_time_steady_1000_nodes: {:.2f} ms\n", steady_t.wall_ms);
  fmt::print("planner_plan_cpu_time_1000_nodes: {:.2f} ms\n",
             std::max(add_t.cpu_ms, remove_t.cpu_ms));
  fmt::print("planner_plan_steps_add_2_members: {} steps\n", add_t.steps);
  fmt::print("planner_plan_steps_remove_master: {} steps\n", remove_t.steps);
  fmt::print("planner_plan_time_target: 10 ms\n");
  return 0;
}
