// A small, realistic history: bootstrap of 8 nodes, lainlet dropping instance 4, the drain plan
// that follows, an operator's migration, a node going down and a controller restart. Used by
// the redis-svc tests and by make_demo_eventlog (the examples in docs/eventlog.md).
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "eventlog/state_store.h"

namespace rs::eventlog::testing {

inline constexpr int64_t kDemoStartMs = 1'795'024'800'000;  // 2026-11-18T18:00:00Z

class DemoWriter {
 public:
  explicit DemoWriter(StateStore& store) : store_(store) {}

  model::Seq Add(std::string source, model::Seq cause, model::EventPayload payload,
                 int64_t after_ms, Durability d = Durability::kSync) {
    now_ += after_ms;
    model::Event e;
    e.time_ms = now_;
    e.cause = cause;
    e.source = std::move(source);
    e.payload = std::move(payload);
    auto r = store_.Append(std::move(e), d);
    if (!r.ok()) {
      status_ = r.status();
      return 0;
    }
    return *r;
  }
  const Status& status() const { return status_; }

 private:
  StateStore& store_;
  int64_t now_ = kDemoStartMs;
  Status status_;
};

inline std::string DemoAddr(int i) { return "127.0.0.1:" + std::to_string(7000 + i); }
inline model::NodeRef DemoRef(int i) {
  return model::NodeRef{DemoAddr(i), std::string(39, "abcdefgh"[i % 8]) + std::to_string(i)};
}

inline model::Topology DemoTopology(
    uint64_t epoch, const std::vector<std::pair<int, std::vector<model::SlotRange>>>& masters,
    const std::map<int, int>& replica_of) {
  model::Topology t;
  t.epoch = epoch;
  for (const auto& [m, slots] : masters) {
    model::Shard s;
    s.master = DemoRef(m);
    s.slots = slots;
    for (const auto& [r, of] : replica_of) {
      if (of == m) s.replicas.push_back(DemoRef(r));
    }
    t.shards.push_back(std::move(s));
  }
  return t;
}

inline model::Step DemoStep(model::StepKind kind, model::NodeRef target = {},
                            model::NodeRef peer = {}, std::vector<model::SlotRange> slots = {},
                            std::vector<model::NodeRef> nodes = {}, model::Topology topology = {}) {
  model::Step s;
  s.kind = kind;
  s.target = std::move(target);
  s.peer = std::move(peer);
  s.slots = std::move(slots);
  s.nodes = std::move(nodes);
  s.topology = std::move(topology);
  return s;
}

inline Status WriteDemoHistory(StateStore& store) {
  DemoWriter w(store);
  constexpr int64_t kSec = 1000;
  w.Add("controller", 0, model::ControllerStarted{"0.1.0", "3f9a1c"}, 0);
  model::MembershipChanged all;
  all.source = "lainlet:http://lainlet.lain:9001";
  for (int i = 0; i < 8; ++i) {
    all.members.push_back(model::Member{static_cast<uint32_t>(i + 1), DemoAddr(i),
                                        "host-" + std::string(1, "abcd"[i % 4])});
  }
  model::Seq joined = w.Add("discovery", 0, all, 2 * kSec);
  for (int i = 0; i < 8; ++i) {
    w.Add("prober", joined,
          model::NodeHealthChanged{
              DemoAddr(i),
              model::NodeHealth{model::Health::kUp, model::HealthReason::kNone, "", kDemoStartMs}},
          300, Durability::kGroup);
  }
  // Bootstrap: 4 masters, 4 replicas.
  std::vector<std::pair<int, std::vector<model::SlotRange>>> masters{
      {0, {{0, 4095}}}, {1, {{4096, 8191}}}, {2, {{8192, 12287}}}, {3, {{12288, 16383}}}};
  std::map<int, int> replicas{{4, 0}, {5, 1}, {6, 2}, {7, 3}};
  model::Topology t1 = DemoTopology(1, masters, replicas);
  model::Plan boot{1, "bootstrap: 8 members up", {joined}, {}};
  for (int i = 1; i < 8; ++i)
    boot.steps.push_back(DemoStep(model::StepKind::kMeet, DemoRef(i), DemoRef(0)));
  for (const auto& [m, slots] : masters)
    boot.steps.push_back(DemoStep(model::StepKind::kAssignSlots, DemoRef(m), {}, slots));
  for (const auto& [r, m] : replicas)
    boot.steps.push_back(DemoStep(model::StepKind::kReplicate, DemoRef(r), DemoRef(m)));
  boot.steps.push_back(DemoStep(model::StepKind::kCommitTopology, {}, {}, {}, {}, t1));
  model::Seq p1 = w.Add("planner", joined, model::PlanProposed{boot, 0}, 1 * kSec);
  model::Seq last = p1;
  for (uint32_t s = 0; s < boot.steps.size(); ++s) {
    w.Add("executor", p1, model::StepStarted{1, s}, 50);
    last = w.Add("executor", p1, model::StepCompleted{1, s}, 200);
  }
  model::Seq e1 = w.Add("executor", last, model::TopologyCommitted{t1}, 100);
  w.Add("executor", p1, model::PlanFinished{1, model::PlanOutcome::kCompleted, ""}, 10);
  for (const auto& [m, slots] : masters) {
    model::NodeObservation o;
    o.id = DemoRef(m).id;
    o.role = model::Role::kMaster;
    o.slots = slots;
    o.config_epoch = static_cast<uint64_t>(m + 1);
    o.current_epoch = 4;
    o.cluster_ok = true;
    w.Add("prober", e1, model::NodeObserved{DemoAddr(m), o}, 500, Durability::kGroup);
  }
  // A flap on a replica.
  model::Seq flap = w.Add(
      "prober", 0,
      model::NodeHealthChanged{
          DemoAddr(5), model::NodeHealth{model::Health::kSuspect, model::HealthReason::kTimeout,
                                         "no reply in 1000 ms", kDemoStartMs + 600 * kSec}},
      600 * kSec, Durability::kGroup);
  w.Add("prober", flap,
        model::NodeHealthChanged{
            DemoAddr(5), model::NodeHealth{model::Health::kUp, model::HealthReason::kNone, "",
                                           kDemoStartMs + 603 * kSec}},
        3 * kSec, Durability::kGroup);

  // lainlet drops instance 4 (127.0.0.1:7003): a drain plan moves its slots away.
  model::MembershipChanged shrunk = all;
  shrunk.members.erase(shrunk.members.begin() + 3);
  model::Seq dropped = w.Add("discovery", 0, shrunk, 3600 * kSec);
  std::vector<std::pair<int, std::vector<model::SlotRange>>> masters2{
      {0, {{0, 4095}, {12288, 14335}}}, {1, {{4096, 8191}, {14336, 16383}}}, {2, {{8192, 12287}}}};
  std::map<int, int> replicas2{{4, 0}, {5, 1}, {6, 2}, {7, 2}};
  model::Topology t2 = DemoTopology(2, masters2, replicas2);
  model::Plan drain{2, "drain 127.0.0.1:7003: lainlet no longer lists instance 4", {dropped}, {}};
  drain.steps.push_back(
      DemoStep(model::StepKind::kMigrate, DemoRef(3), DemoRef(0), {{12288, 14335}}));
  drain.steps.push_back(
      DemoStep(model::StepKind::kMigrate, DemoRef(3), DemoRef(1), {{14336, 16383}}));
  drain.steps.push_back(DemoStep(model::StepKind::kReplicate, DemoRef(7), DemoRef(2)));
  drain.steps.push_back(DemoStep(model::StepKind::kCommitTopology, {}, {}, {}, {}, t2));
  drain.steps.push_back(
      DemoStep(model::StepKind::kForget, DemoRef(3), {}, {}, {DemoRef(0), DemoRef(1), DemoRef(2)}));
  drain.steps.push_back(DemoStep(model::StepKind::kReset, DemoRef(3)));
  model::Seq p2 = w.Add("planner", dropped, model::PlanProposed{drain, 0}, 30 * kSec);
  model::Seq s1 = w.Add("executor", p2, model::StepStarted{2, 0}, 100);
  w.Add("executor", s1, model::StepProgress{2, 0, {{12288, 13311}}, 52113}, 4 * kSec);
  w.Add("executor", s1, model::StepProgress{2, 0, {{13312, 14335}}, 51877}, 4 * kSec);
  w.Add("executor", s1, model::StepCompleted{2, 0}, 100);
  model::Seq s2 = w.Add("executor", p2, model::StepStarted{2, 1}, 100);
  w.Add("executor", s2, model::StepProgress{2, 1, {{14336, 16383}}, 103990}, 8 * kSec);
  w.Add("executor", s2, model::StepCompleted{2, 1}, 100);
  model::Seq s3 = w.Add("executor", p2, model::StepStarted{2, 2}, 100);
  w.Add("executor", s3, model::StepCompleted{2, 2}, 2 * kSec);
  model::Seq s4 = w.Add("executor", p2, model::StepStarted{2, 3}, 100);
  model::Seq c4 = w.Add("executor", s4, model::StepCompleted{2, 3}, 500);
  model::Seq e2 = w.Add("executor", c4, model::TopologyCommitted{t2}, 10);
  w.Add("executor", p2, model::StepStarted{2, 4}, 100);
  w.Add("executor", p2, model::StepCompleted{2, 4}, 300);
  w.Add("executor", p2, model::StepStarted{2, 5}, 100);
  w.Add("executor", p2, model::StepCompleted{2, 5}, 300);
  w.Add("executor", p2, model::PlanFinished{2, model::PlanOutcome::kCompleted, ""}, 10);
  (void)e2;

  // An operator moves slots 100-199 by hand.
  model::OperatorRequest q;
  q.who = "alice";
  q.kind = model::OperatorKind::kMigrate;
  q.from = DemoAddr(0);
  q.to = DemoAddr(2);
  q.slots = {{100, 199}};
  model::Seq asked = w.Add("operator:alice", 0, model::OperatorRequested{q}, 1800 * kSec);
  std::vector<std::pair<int, std::vector<model::SlotRange>>> masters3{
      {0, {{0, 99}, {200, 4095}, {12288, 14335}}},
      {1, {{4096, 8191}, {14336, 16383}}},
      {2, {{100, 199}, {8192, 12287}}}};
  model::Topology t3 = DemoTopology(3, masters3, replicas2);
  model::Plan manual{
      3, "operator alice: migrate 100-199 from 127.0.0.1:7000 to 127.0.0.1:7002", {asked}, {}};
  manual.origin = model::PlanOrigin::kOperator;
  manual.steps.push_back(DemoStep(model::StepKind::kMigrate, DemoRef(0), DemoRef(2), {{100, 199}}));
  manual.steps.push_back(DemoStep(model::StepKind::kCommitTopology, {}, {}, {}, {}, t3));
  model::Seq p3 = w.Add("planner", asked, model::PlanProposed{manual, 1}, 200);
  w.Add("executor", p3, model::StepStarted{3, 0}, 100);
  w.Add("executor", p3, model::StepProgress{3, 0, {{100, 199}}, 9876}, 1500);
  w.Add("executor", p3, model::StepCompleted{3, 0}, 100);
  w.Add("executor", p3, model::StepStarted{3, 1}, 100);
  model::Seq c3 = w.Add("executor", p3, model::StepCompleted{3, 1}, 300);
  w.Add("executor", c3, model::TopologyCommitted{t3}, 10);
  w.Add("executor", p3, model::PlanFinished{3, model::PlanOutcome::kCompleted, ""}, 10);

  // A replica goes down; an alert follows; then the controller restarts.
  model::Seq down =
      w.Add("prober", 0,
            model::NodeHealthChanged{
                DemoAddr(6),
                model::NodeHealth{model::Health::kDown, model::HealthReason::kRefused,
                                  "connect: Connection refused", kDemoStartMs + 9000 * kSec}},
            900 * kSec, Durability::kGroup);
  w.Add("alerter", down,
        model::AlertRaised{"node " + DemoAddr(6), "node-down", "refused 3 probes in a row", true},
        3 * kSec);
  w.Add("controller", 0, model::ControllerStopped{true}, 60 * kSec);
  w.Add("controller", 0, model::ControllerStarted{"0.1.0", "3f9a1c"}, 5 * kSec);
  return w.status();
}

// Writes the demo history into a new event log at `dir` and closes it (what make_demo_eventlog
// does); returns the last sequence written.
inline Result<model::Seq> WriteDemoDataDir(const std::string& dir) {
  StateStoreOptions o;
  o.log.create_if_missing = true;
  o.snapshot_every = 25;
  auto store = StateStore::Open(dir, o);
  if (!store.ok()) return store.status();
  Status s = WriteDemoHistory(**store);
  if (s.ok()) s = (*store)->Close();
  if (!s.ok()) return s;
  return (*store)->State().last_seq;
}

// The lines of `s`, without their '\n'.
inline std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace rs::eventlog::testing
