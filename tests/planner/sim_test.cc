// Randomized simulation: thousands of random sequences of joins, leaves, crashes, restarts,
// partitions, controller disk loss and operator requests against the simulated cluster, most of
// them with gossip lag (nodes learn of each other over rounds), with the invariants checked after
// every plan and at the end. A failure prints its seed; replay it with PLANNER_SIM_SEED=<seed>.
// PLANNER_SIM_RUNS=<n> runs n seeds (2000; 500 in sanitizer builds).
#include <cmath>
#include <cstdlib>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "planner/planner.h"
#include "planner/sim_cluster.h"

namespace rs::planner {
namespace {

using model::OperatorKind;
using model::OperatorRequest;
using model::StepKind;
using sim::SimCluster;
using sim::SimNode;

class SimRun {
 public:
  explicit SimRun(uint64_t seed) : seed_(seed), rng_(seed), sim_(seed) {
    hosts_ = 2 + static_cast<int>(rng_() % 4);
    operator_skew_allowed_ = rng_() % 2 == 0;
    // Two runs in three have gossip lag: nodes learn of each other over several rounds.
    static constexpr double kLearn[] = {1.0, 0.2, 0.5};
    sim_.SetGossip(kLearn[rng_() % 3]);
    // One run in ten starts big, where gossip takes longest to settle.
    big_ = rng_() % 10 == 0;
    trace_ = std::getenv("PLANNER_SIM_TRACE") != nullptr;
  }

  // Returns the first violated invariant, or "".
  std::string Go() {
    int initial = big_ ? 20 + static_cast<int>(rng_() % 11) : 6 + static_cast<int>(rng_() % 5);
    for (int i = 0; i < initial; ++i) Add();
    if (std::string e = Settle(); !e.empty()) return e;
    const int actions = 10 + static_cast<int>(rng_() % 6);
    for (int i = 0; i < actions; ++i) {
      if (std::string e = Act(); !e.empty()) return e;
      if (std::string e = Settle(); !e.empty()) return e;
    }
    // The end: heal everything, then the cluster must reach policy.
    for (auto& [addr, n] : sim_.nodes()) {
      if (!n.alive) sim_.Restart(addr);
      if (n.partitioned) sim_.Partition(addr, false);
    }
    if (std::string e = Settle(); !e.empty()) return e;
    return CheckQuiet(/*final=*/true);
  }

 private:
  std::string Host() { return fmt::format("10.0.{}.1", rng_() % hosts_); }
  void Add() { sim_.AddNode(Host()); }

  template <typename Pred>
  std::string Pick(Pred pred) {
    std::vector<std::string> c;
    for (const auto& [addr, n] : sim_.nodes()) {
      if (pred(n)) c.push_back(addr);
    }
    return c.empty() ? "" : c[rng_() % c.size()];
  }

  int Dead() const {
    int d = 0;
    for (const auto& [a, n] : sim_.nodes()) d += (!n.alive || n.partitioned) ? 1 : 0;
    return d;
  }

  std::string Act() {
    int action = static_cast<int>(rng_() % 12);
    if (trace_) fmt::print("action {}\n", action);
    switch (action) {
      case 0:
      case 1:
        Add();
        if (rng_() % 2) Add();
        return "";
      case 2: {  // A member leaves (discovery's grace already passed).
        int wanted = 0;
        for (const auto& [a, n] : sim_.nodes()) wanted += n.wanted && n.in_cluster ? 1 : 0;
        if (wanted <= 4) return "";
        std::string a = Pick([](const SimNode& n) { return n.wanted && n.in_cluster; });
        if (!a.empty()) sim_.SetWanted(a, false);
        return "";
      }
      case 3:
      case 4: {  // A crash; the planner must not act before the grace, then must.
        if (Dead() > 0) return "";
        std::string a = Pick([](const SimNode& n) { return n.alive && n.in_cluster; });
        if (a.empty()) return "";
        bool had_replica = false;
        for (const auto& [x, n] : sim_.nodes()) {
          had_replica = had_replica || (!n.master && n.master_address == a && n.alive);
        }
        bool master_with_slots = sim_.node(a).master && !sim_.node(a).slots.empty();
        int masters = 0;
        for (const auto& [x, n] : sim_.nodes())
          masters += n.in_cluster && n.master && !n.slots.empty();
        // Without a majority of masters left to vote, no failover can succeed (TAKEOVER is off).
        bool majority_left = masters - 1 >= masters / 2 + 1;
        // A dead host times out rather than refusing: only the cluster's own verdict counts.
        bool host_down = rng_() % 3 == 0;
        sim_.Crash(a, host_down);
        sim_.Sync();
        Decision early = Make(sim_.state(), policy_);
        if (early.kind == DecisionKind::kPlan) {
          for (const auto& s : early.plan.steps) {
            if (s.kind == StepKind::kFailover && s.peer.address == a) {
              return "failover before the refused grace";
            }
          }
        }
        if (std::string e = Settle(); !e.empty()) return e;
        sim_.Advance(policy_.refused_grace_ms);
        if (std::string e = Settle(); !e.empty()) return e;
        if (host_down) {
          sim_.Advance(SimCluster::kNodeTimeoutMs);
          if (std::string e = Settle(); !e.empty()) return e;
          // With gossip lag the masters learn of the failure over a few rounds.
          for (int round = 0; round < 40 && !sim_.node(a).slots.empty(); ++round) {
            sim_.Advance(500);
            if (std::string e = Settle(); !e.empty()) return e;
          }
        }
        if (master_with_slots && had_replica && majority_left && !sim_.node(a).slots.empty()) {
          return fmt::format("dead master {} with a live replica was not failed over", a);
        }
        return "";
      }
      case 5: {
        std::string a = Pick([](const SimNode& n) { return !n.alive; });
        if (!a.empty()) sim_.Restart(a);
        return "";
      }
      case 6: {  // A partition between controller and a live master: never a FORCE failover.
        if (Dead() > 0) return "";
        std::string a = Pick([](const SimNode& n) { return n.alive && n.master && n.in_cluster; });
        if (a.empty()) return "";
        sim_.Partition(a, true);
        sim_.Advance(30'000);
        if (std::string e = Settle(); !e.empty()) return e;
        sim_.Partition(a, false);
        return "";
      }
      case 7: {  // The controller loses its disk: adoption, with no slot moved when balanced.
        if (Dead() > 0) return "";
        sim_.LoseControllerDisk();
        // A layout an operator skewed is not balanced: the new controller, which no longer
        // knows an operator chose it, may bring it back to policy.
        no_moves_expected_ = !skewed_;
        std::string e = Settle();
        no_moves_expected_ = false;
        return e;
      }
      case 8: {
        OperatorRequest r;
        r.who = "sim";
        r.kind = OperatorKind::kFailover;
        r.node =
            Pick([](const SimNode& n) { return n.in_cluster && n.master && !n.slots.empty(); });
        if (!r.node.empty()) sim_.Request(r);
        return "";
      }
      case 9: {
        if (!operator_skew_allowed_) return "";
        OperatorRequest r;
        r.who = "sim";
        r.kind = OperatorKind::kMigrate;
        r.from =
            Pick([](const SimNode& n) { return n.in_cluster && n.master && !n.slots.empty(); });
        r.to = Pick([](const SimNode& n) { return n.in_cluster && n.master; });
        r.count = 1 + rng_() % 300;
        if (!r.from.empty()) sim_.Request(r);
        skewed_ = true;
        return "";
      }
      case 11: {  // Someone else's migration was interrupted: a consistent or one-sided slot.
        if (Dead() > 0) return "";
        std::string a =
            Pick([](const SimNode& n) { return n.in_cluster && n.master && !n.slots.empty(); });
        std::string b = Pick([](const SimNode& n) { return n.in_cluster && n.master; });
        if (a.empty() || b.empty() || a == b) return "";
        SimNode& na = sim_.node(a);
        SimNode& nb = sim_.node(b);
        uint16_t slot = na.slots.front().first;
        int shape = static_cast<int>(rng_() % 3);
        if (shape != 2) na.open_slots.push_back({slot, true, nb.id});
        if (shape != 1) nb.open_slots.push_back({slot, false, na.id});
        skewed_ = true;  // Rolling forward moves a slot.
        return "";
      }
      default: {
        OperatorRequest r;
        r.who = "sim";
        r.kind = OperatorKind::kRebalance;
        sim_.Request(r);
        return "";
      }
    }
  }

  // Lower bound of slots to move so the masters of `topology` hold equal shares.
  uint32_t MinimumToBalance(const model::Topology& after) const {
    std::set<std::string> stay;
    for (const auto& sh : after.shards) stay.insert(sh.master.address);
    double exact = model::kSlotCount / static_cast<double>(stay.size());
    uint64_t over = 0, under = 0;
    for (const auto& [addr, n] : sim_.nodes()) {
      if (!n.master || !n.in_cluster) continue;
      double held = model::CountSlots(n.slots);
      double share = stay.contains(addr) ? exact : 0;
      over += static_cast<uint64_t>(std::max(0.0, held - std::ceil(share)));
      under += static_cast<uint64_t>(std::max(0.0, std::floor(share) - held));
    }
    for (const std::string& a : stay) {
      if (!sim_.nodes().contains(a) || sim_.nodes().at(a).master) continue;
      under += static_cast<uint64_t>(std::floor(exact));  // Became a master in the plan.
    }
    return static_cast<uint32_t>(std::max(over, under));
  }

  std::string Settle() {
    int waits = 0;
    for (int i = 0; i < 25; ++i) {
      sim_.Sync();
      Decision d = Make(sim_.state(), policy_);
      // The planner waits for gossip to settle: another probe round, half a second later.
      if (d.kind == DecisionKind::kNothing && d.reason.rfind("waiting for the", 0) == 0) {
        if (++waits > 400) return "the cluster's views never settle: " + d.reason;
        sim_.Advance(500);
        --i;
        continue;
      }
      if (d.kind == DecisionKind::kReject) {
        sim_.Emit(model::OperatorRejected{d.request_id, d.reason});
        continue;
      }
      if (trace_) fmt::print("{}\n", DecisionToString(d));
      if (d.kind != DecisionKind::kPlan) return "";
      if (Make(sim_.state(), policy_) != d) return "the same state gave a different decision";
      const model::Plan& p = d.plan;
      if (p.steps.empty() || p.steps.back().kind != StepKind::kCommitTopology) {
        return "plan does not end with a topology commit";
      }
      uint32_t moved = 0;
      bool meets = false;
      for (const auto& s : p.steps) {
        if (s.kind == StepKind::kMigrate) moved += model::CountSlots(s.slots);
        meets = meets || s.kind == StepKind::kMeet;
      }
      if (no_moves_expected_ && moved > 0) {
        return "adoption of a settled cluster moved slots:\n" + DecisionToString(d);
      }
      // Scale out: a minimal-movement rebalance.
      if (d.request_id == 0 && meets && moved > 0 && Dead() == 0) {
        uint32_t minimum = MinimumToBalance(p.steps.back().topology);
        if (moved > minimum * 105 / 100) {
          return fmt::format("scale out moved {} slots, minimum {}\n{}", moved, minimum,
                             DecisionToString(d));
        }
      }
      // Automatic full rebalances (scale out, drains) leave the masters balanced again.
      if (d.request_id == 0 && moved > 0 &&
          (p.reason.find("rebalance moves") != std::string::npos ||
           p.reason.rfind("scale in", 0) == 0)) {
        skewed_ = false;
      }
      Status s = sim_.Execute(p, d.request_id);
      if (!s.ok()) return s.ToString() + "\n" + DecisionToString(d);
      if (Status c = sim_.CheckSlotOwners(); !c.ok())
        return c.ToString() + "\n" + DecisionToString(d);
      if (Status c = sim_.CheckCommittedCoversServed(); !c.ok())
        return c.ToString() + "\n" + DecisionToString(d);
    }
    return "the planner does not settle (still planning after 25 plans)";
  }

  std::string CheckQuiet(bool final) {
    if (trace_) {
      for (const auto& [a, n] : sim_.nodes()) {
        fmt::print("{} host={} alive={} part={} in={} wanted={} master={} of={} slots={}\n", a,
                   n.host, n.alive, n.partitioned, n.in_cluster, n.wanted, n.master,
                   n.master_address, model::CountSlots(n.slots));
      }
    }
    if (Status c = sim_.CheckSlotOwners(); !c.ok()) return c.ToString();
    std::vector<const SimNode*> masters, replicas;
    for (const auto& [a, n] : sim_.nodes()) {
      if (!n.in_cluster) {
        if (n.wanted && n.alive && !final) continue;
        if (n.wanted) return fmt::format("wanted member {} left out of the cluster", a);
        continue;
      }
      if (!n.wanted) return fmt::format("unwanted {} still in the cluster", a);
      (n.master ? masters : replicas).push_back(&n);
    }
    for (const auto& [a, n] : sim_.nodes()) {
      if (n.alive && !n.open_slots.empty()) return fmt::format("{} still has open slots", a);
    }
    // Replicas avoid their master's host when a swap could fix it.
    for (const SimNode* r : replicas) {
      const SimNode& m = sim_.node(r->master_address);
      if (m.host != r->host) continue;
      for (const SimNode* r2 : replicas) {
        const SimNode& m2 = sim_.node(r2->master_address);
        if (r2 != r && &m2 != &m && m2.host != r->host && r2->host != m.host) {
          return fmt::format(
              "replica {} shares a host with its master though a swap with {} exists", r->address,
              r2->address);
        }
      }
    }
    // Every master with at least one replica when there are enough nodes.
    if (replicas.size() >= masters.size()) {
      for (const SimNode* m : masters) {
        bool has = false;
        for (const SimNode* r : replicas) has = has || r->master_address == m->address;
        if (!has) return fmt::format("master {} has no replica", m->address);
      }
    }
    if (!skewed_ && !masters.empty()) {
      double exact = model::kSlotCount / static_cast<double>(masters.size());
      for (const SimNode* m : masters) {
        double held = model::CountSlots(m->slots);
        if (std::abs(held - exact) > std::max(1.0, policy_.rebalance_threshold_pct / 100 * exact)) {
          return fmt::format("master {} holds {} slots, share {:.1f}", m->address, held, exact);
        }
      }
    }
    return "";
  }

  uint64_t seed_;
  std::mt19937_64 rng_;
  SimCluster sim_;
  Policy policy_;
  int hosts_ = 3;
  bool operator_skew_allowed_ = false;
  bool skewed_ = false;
  bool no_moves_expected_ = false;
  bool trace_ = false;
  bool big_ = false;
};

#ifndef RS_PLANNER_SIM_RUNS
#define RS_PLANNER_SIM_RUNS 2000
#endif

TEST(PlannerSimulationTest, RandomSequencesKeepEveryInvariant) {
  uint64_t first = 1, count = RS_PLANNER_SIM_RUNS;
  if (const char* s = std::getenv("PLANNER_SIM_RUNS")) count = std::strtoull(s, nullptr, 10);
  if (const char* s = std::getenv("PLANNER_SIM_SEED")) {
    first = std::strtoull(s, nullptr, 10);
    count = 1;
  }
  int failures = 0;
  for (uint64_t seed = first; seed < first + count && failures < 5; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed));
    std::string e = SimRun(seed).Go();
    if (!e.empty()) {
      ++failures;
      ADD_FAILURE() << "seed=" << seed << " (replay: PLANNER_SIM_SEED=" << seed << "): " << e;
    }
  }
}

}  // namespace
}  // namespace rs::planner
