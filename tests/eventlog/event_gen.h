// Random but valid event sequences for randomized tests and the benchmark: membership, health,
// observations, operator requests, plans with steps/progress/finish, topology commits, discovery
// status.
// Header-only so bench/eventlog can include it. Thread contract: one generator per thread.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "model/event.h"

namespace rs::eventlog::testing {

class EventGen {
 public:
  explicit EventGen(uint64_t seed, int nodes = 12) : rng_(seed), nodes_(nodes) {}

  // The next event, with seq/time set as if appended right after the previous one.
  model::Event Next() {
    model::Event e;
    e.seq = ++seq_;
    time_ms_ += Uniform(1, 2000);
    e.time_ms = time_ms_;
    e.cause = (seq_ > 1 && Chance(30)) ? Uniform(1, seq_ - 1) : 0;
    e.payload = NextPayload(e);
    return e;
  }

  std::vector<model::Event> Take(size_t n) {
    std::vector<model::Event> out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) out.push_back(Next());
    return out;
  }

  // Only health events (the bursty kind group commit is for).
  model::Event NextHealth() {
    model::Event e;
    e.seq = ++seq_;
    e.time_ms = (time_ms_ += 1);
    e.source = "prober";
    e.payload = Health();
    return e;
  }

  std::string Address(int i) const { return "127.0.0.1:" + std::to_string(7000 + i); }
  std::string NodeId(int i) const {
    std::string id = std::to_string(i);
    return std::string(40 - id.size(), 'a') + id;
  }

 private:
  uint64_t Uniform(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }
  bool Chance(int percent) { return Uniform(0, 99) < static_cast<uint64_t>(percent); }
  int RandomNode() { return static_cast<int>(Uniform(0, nodes_ - 1)); }
  model::NodeRef Ref(int i) const { return model::NodeRef{Address(i), NodeId(i)}; }

  std::vector<model::SlotRange> Ranges() {
    std::vector<model::SlotRange> out;
    int n = static_cast<int>(Uniform(1, 3));
    for (int i = 0; i < n; ++i) {
      uint16_t first = static_cast<uint16_t>(Uniform(0, kSlotCount - 1));
      uint16_t last =
          static_cast<uint16_t>(std::min<uint64_t>(kSlotCount - 1, first + Uniform(0, 500)));
      out.push_back(model::SlotRange{first, last});
    }
    return model::NormalizeRanges(std::move(out));
  }

  model::NodeHealthChanged Health() {
    model::NodeHealthChanged h;
    h.address = Address(RandomNode());
    h.health.health = static_cast<model::Health>(Uniform(1, 3));
    h.health.reason = h.health.health == model::Health::kUp
                          ? model::HealthReason::kNone
                          : static_cast<model::HealthReason>(Uniform(1, 6));
    if (h.health.reason != model::HealthReason::kNone)
      h.health.detail = "connect: Connection refused";
    h.health.since_ms = time_ms_;
    return h;
  }

  model::NodeObserved Observed() {
    model::NodeObserved o;
    int i = RandomNode();
    o.address = Address(i);
    o.observation.id = NodeId(i);
    o.observation.role = Chance(50) ? model::Role::kMaster : model::Role::kReplica;
    if (o.observation.role == model::Role::kReplica)
      o.observation.master_id = NodeId(RandomNode());
    else
      o.observation.slots = Ranges();
    if (Chance(10)) {
      o.observation.open_slots.push_back(model::OpenSlot{
          static_cast<uint16_t>(Uniform(0, kSlotCount - 1)), Chance(50), NodeId(i + 1)});
    }
    o.observation.config_epoch = Uniform(0, 20);
    o.observation.current_epoch = Uniform(0, 20);
    o.observation.repl_offset = Uniform(0, 1 << 30);
    o.observation.master_link_up = Chance(90);
    o.observation.cluster_ok = Chance(90);
    o.observation.keys = Uniform(0, 100000);
    int peers = static_cast<int>(Uniform(0, 3));
    for (int p = 0; p < peers; ++p) {
      model::PeerView v;
      int j = RandomNode();
      v.id = NodeId(j);
      v.address = Address(j);
      v.role = model::Role::kMaster;
      v.config_epoch = Uniform(0, 20);
      v.slots = Ranges();
      v.pfail = Chance(5);
      o.observation.peers.push_back(std::move(v));
    }
    return o;
  }

  model::Step RandomStep() {
    model::Step s;
    s.kind = static_cast<model::StepKind>(Uniform(0, 8));
    s.target = Ref(RandomNode());
    s.peer = Ref(RandomNode());
    if (s.kind == model::StepKind::kMigrate || s.kind == model::StepKind::kAssignSlots)
      s.slots = Ranges();
    if (s.kind == model::StepKind::kSetConfigEpoch) s.config_epoch = Uniform(1, 20);
    if (s.kind == model::StepKind::kForget) s.nodes = {Ref(RandomNode()), Ref(RandomNode())};
    return s;
  }

  model::Topology RandomTopology() {
    model::Topology t;
    t.epoch = ++epoch_;
    int masters = 3;
    uint32_t per = kSlotCount / masters;
    for (int m = 0; m < masters; ++m) {
      model::Shard s;
      s.master = Ref(m);
      uint16_t first = static_cast<uint16_t>(m * per);
      uint16_t last = static_cast<uint16_t>(m == masters - 1 ? kSlotCount - 1 : (m + 1) * per - 1);
      s.slots = {model::SlotRange{first, last}};
      s.replicas = {Ref(masters + m)};
      t.shards.push_back(std::move(s));
    }
    return t;
  }

  model::EventPayload NextPayload(model::Event& e) {
    // Plan steps follow the plan in flight; everything else is drawn by weight.
    if (plan_steps_ > 0 && Chance(40)) {
      e.source = "executor";
      uint32_t step = step_;
      switch (Uniform(0, 9)) {
        case 0:
        case 1:
          return model::StepStarted{plan_id_, step};
        case 2:
        case 3:
        case 4:
          return model::StepProgress{plan_id_, step, Ranges(), Uniform(0, 5000)};
        case 5:
        case 6:
          if (++step_ >= plan_steps_) step_ = 0;
          return model::StepCompleted{plan_id_, step};
        case 7:
          return model::StepFailed{plan_id_, step, "MIGRATE: IOERR error or timeout"};
        default: {
          plan_steps_ = 0;
          auto outcome = static_cast<model::PlanOutcome>(Uniform(0, 2));
          return model::PlanFinished{plan_id_, outcome,
                                     outcome == model::PlanOutcome::kCompleted ? "" : "gave up"};
        }
      }
    }
    uint64_t r = Uniform(0, 99);
    if (r < 40) {
      e.source = "prober";
      return Health();
    }
    if (r < 65) {
      e.source = "prober";
      return Observed();
    }
    if (r < 70) {
      e.source = "discovery";
      model::MembershipChanged m;
      m.source = "lainlet:http://lainlet.lain:9001";
      for (int i = 0; i < nodes_; ++i) {
        if (Chance(85))
          m.members.push_back(model::Member{static_cast<uint32_t>(i + 1), Address(i),
                                            "host" + std::to_string(i % 4)});
      }
      return m;
    }
    if (r < 75) {
      e.source = "operator:alice";
      model::OperatorRequest q;
      q.who = "alice";
      q.kind = static_cast<model::OperatorKind>(Uniform(0, 8));
      q.node = Address(RandomNode());
      q.from = Address(RandomNode());
      q.to = Address(RandomNode());
      q.slots = Ranges();
      q.count = static_cast<uint32_t>(Uniform(0, 100));
      q.weights[Address(0)] = 2.5;
      q.threshold = 2;
      q.plan_id = plan_id_;
      return model::OperatorRequested{q};
    }
    if (r < 77) {
      e.source = "planner";
      return model::OperatorRejected{Uniform(1, 5), "no such node"};
    }
    if (r < 84) {
      e.source = "planner";
      model::PlanProposed p;
      p.plan.id = ++plan_id_;
      p.plan.reason = "drain " + Address(RandomNode());
      p.plan.causes = {e.cause};
      int n = static_cast<int>(Uniform(1, 5));
      for (int i = 0; i < n; ++i) p.plan.steps.push_back(RandomStep());
      if (Chance(20)) {
        model::Step c;
        c.kind = model::StepKind::kCommitTopology;
        c.topology = RandomTopology();
        p.plan.steps.push_back(c);
      }
      p.request_id = Chance(20) ? Uniform(1, 5) : 0;
      plan_steps_ = static_cast<uint32_t>(p.plan.steps.size());
      step_ = 0;
      return p;
    }
    if (r < 90) {
      e.source = "executor";
      return model::TopologyCommitted{RandomTopology()};
    }
    if (r < 92) {
      e.source = "controller";
      return model::ControllerStarted{"0.1.0", "cafe1234"};
    }
    if (r < 93) {
      e.source = "controller";
      return model::ControllerStopped{Chance(50)};
    }
    if (r < 95) {
      e.source = "discovery";
      return model::DiscoveryStatusChanged{"lainlet:http://lainlet.lain:9001", Chance(50),
                                           "HTTP 500 lainlet is restarting"};
    }
    e.source = "alerter";
    return model::AlertRaised{"node " + Address(RandomNode()), "node-down", "refused 3 times",
                              Chance(50)};
  }

  std::mt19937_64 rng_;
  int nodes_;
  model::Seq seq_ = 0;
  int64_t time_ms_ = 1'700'000'000'000;
  uint64_t plan_id_ = 0;
  uint32_t plan_steps_ = 0;
  uint32_t step_ = 0;
  uint64_t epoch_ = 0;
};

// One event of every kind (variant index i) with every field set to a non-default value.
inline model::Event FullEvent(size_t index) {
  model::Event e;
  e.seq = 42;
  e.time_ms = 1'700'000'000'123;
  e.cause = 41;
  e.source = "operator:bob";
  model::NodeRef a{"10.0.0.1:6379", std::string(40, 'a')};
  model::NodeRef b{"10.0.0.2:6379", std::string(40, 'b')};
  std::vector<model::SlotRange> ranges{{0, 5460}, {6000, 6000}};
  model::Topology topo{9, {model::Shard{a, ranges, {b}}, model::Shard{b, {{5461, 5999}}, {a}}}};
  switch (index) {
    case 0:
      e.payload = model::MembershipChanged{
          {model::Member{4, a.address, "host-a"}, model::Member{5, b.address, "host-b"}},
          "lainlet:x"};
      break;
    case 1:
      e.payload = model::NodeHealthChanged{
          a.address,
          model::NodeHealth{model::Health::kSuspect, model::HealthReason::kTimeout, "timeout", 17}};
      break;
    case 2: {
      model::NodeObservation o{a.id,
                               model::Role::kReplica,
                               b.id,
                               ranges,
                               {model::OpenSlot{7, true, b.id}},
                               3,
                               4,
                               5,
                               true,
                               true,
                               99,
                               {}};
      o.peers.push_back(model::PeerView{b.id, b.address, model::Role::kMaster, "", true, true, true,
                                        false, 8, ranges});
      e.payload = model::NodeObserved{a.address, o};
      break;
    }
    case 3: {
      model::OperatorRequest q{7,
                               "bob",
                               model::OperatorKind::kRebalance,
                               a.address,
                               b.address,
                               a.address,
                               ranges,
                               12,
                               model::FailoverMode::kTakeover,
                               {{a.address, 1.5}, {b.address, 0.25}},
                               3.5,
                               17};
      e.payload = model::OperatorRequested{q};
      break;
    }
    case 4:
      e.payload = model::OperatorRejected{7, "unknown node"};
      break;
    case 5: {
      model::Plan p{17, "drain 10.0.0.1:6379", {40, 41}, {}};
      p.steps.push_back(model::Step{
          model::StepKind::kMigrate, a, b, ranges, 6, model::FailoverMode::kForce, {a, b}, topo});
      p.steps.push_back(model::Step{
          model::StepKind::kCommitTopology, b, a, {}, 0, model::FailoverMode::kDefault, {}, topo});
      e.payload = model::PlanProposed{p, 7};
      break;
    }
    case 6:
      e.payload = model::StepStarted{17, 1};
      break;
    case 7:
      e.payload = model::StepProgress{17, 1, ranges, 1234};
      break;
    case 8:
      e.payload = model::StepCompleted{17, 1};
      break;
    case 9:
      e.payload = model::StepFailed{17, 1, "BUSYKEY"};
      break;
    case 10:
      e.payload = model::PlanFinished{17, model::PlanOutcome::kAborted, "operator"};
      break;
    case 11:
      e.payload = model::TopologyCommitted{topo};
      break;
    case 12:
      e.payload = model::ControllerStarted{"0.1.0", "abcdef"};
      break;
    case 13:
      e.payload = model::ControllerStopped{false};
      break;
    case 14:
      e.payload = model::AlertRaised{"node 10.0.0.1:6379", "node-down", "refused", true};
      break;
    case 15:
      e.payload = model::DiscoveryStatusChanged{"lainlet:http://lainlet.lain:9001", false,
                                                "connect 10.0.0.9:9001: connection refused"};
      break;
  }
  return e;
}

}  // namespace rs::eventlog::testing
