#include "eventlog/event_codec.h"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <gtest/gtest.h>
#include <kj/io.h>

#include "event_gen.h"
#include "eventlog/event_format.h"
#include "eventlog/events.capnp.h"
#include "future_kind.h"

namespace rs::eventlog {

using model::Apply;
using model::DiscoveryStatusChanged;
using model::EventKindName;
namespace {

using testing::EventGen;
using testing::FullEvent;

TEST(EventCodecTest, EveryKindRoundTripsWithAllFieldsSet) {
  for (size_t i = 0; i < std::variant_size_v<model::EventPayload>; ++i) {
    model::Event e = FullEvent(i);
    ASSERT_EQ(e.payload.index(), i);
    auto d = DecodeEvent(EncodeEvent(e));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->kind, RecordKind::kEvent) << model::EventKindName(e.payload);
    EXPECT_EQ(d->tag, EventTag(e.payload));
    EXPECT_TRUE(d->event == e) << "kind " << model::EventKindName(e.payload) << " did not round-trip";
  }
}

TEST(EventCodecTest, RandomEventsRoundTrip) {
  EventGen gen(7);
  for (int i = 0; i < 5000; ++i) {
    model::Event e = gen.Next();
    auto d = DecodeEvent(EncodeEvent(e));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    ASSERT_TRUE(d->event == e) << "event " << e.seq << " (" << model::EventKindName(e.payload) << ")";
  }
}

TEST(EventCodecTest, TagNamesMatchTheModelsKindNames) {
  for (size_t i = 0; i < std::variant_size_v<model::EventPayload>; ++i) {
    model::Event e = FullEvent(i);
    EXPECT_EQ(TagName(EventTag(e.payload)), model::EventKindName(e.payload));
    EXPECT_EQ(TagForName(model::EventKindName(e.payload)), EventTag(e.payload));
  }
  EXPECT_EQ(TagName(15), "compacted");
  EXPECT_EQ(TagForName("compacted"), 15);
  EXPECT_EQ(TagName(300), "unknown-300");
  EXPECT_EQ(TagForName("no-such-kind"), 0xffff);
}

// Tags are on disk: kinds before the retention tombstone (15) keep their variant index, later
// ones come after it. A change here would misread every existing log.
TEST(EventCodecTest, PersistedTagsNeverMove) {
  for (size_t i = 0; i < 15; ++i) EXPECT_EQ(EventTag(FullEvent(i).payload), i);
  EXPECT_EQ(EventTag(model::EventPayload(model::DiscoveryStatusChanged{})), 16);
  EXPECT_EQ(TagName(16), "discovery-status");
  EXPECT_EQ(TagName(17), "unknown-17");
}

TEST(EventCodecTest, DiscoveryStatusRoundTripsAndIsReadable) {
  model::Event e;
  e.seq = 9;
  e.time_ms = 1'700'000'000'000;
  e.source = "discovery";
  e.payload = model::DiscoveryStatusChanged{"lainlet:http://127.0.0.1:9001/v2/procwatcher?appname=x",
                                     false, "HTTP 500 boom"};
  std::string bytes = EncodeEvent(e);
  auto d = DecodeEvent(bytes);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->tag, 16);
  EXPECT_TRUE(d->event == e);
  // The bytes carry union ordinal 16 (what an older binary reports as "unknown-16").
  ::capnp::ReaderOptions opts;
  kj::ArrayInputStream in(
      kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
  ::capnp::PackedMessageReader msg(in, opts);
  EXPECT_EQ(static_cast<uint16_t>(msg.getRoot<capnp_schema::Event>().getPayload().which()), 16);
}

TEST(EventCodecTest, OlderSnapshotReadsAsReachableWithNothingRetired) {
  // A snapshot as written before discovery status and retired members existed.
  ::capnp::MallocMessageBuilder msg;
  auto root = msg.initRoot<capnp_schema::ClusterState>();
  root.setLastSeq(77);
  root.setNextPlanId(3);
  root.setNextRequestId(1);
  kj::VectorOutputStream out;
  ::capnp::writePackedMessage(out, msg);
  auto arr = out.getArray();
  auto s = DecodeState(std::string(reinterpret_cast<const char*>(arr.begin()), arr.size()));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->last_seq, 77u);
  EXPECT_TRUE(s->discovery_reachable);
  EXPECT_EQ(s->discovery_reason, "");
  EXPECT_TRUE(s->retired.empty());

  model::ClusterState down;
  down.discovery_reachable = false;
  down.discovery_reason = "connect 10.0.0.9:9001: connection refused";
  down.discovery_since_ms = 1234;
  down.retired = {"10.0.0.3:6379", "10.0.0.4:6379"};
  auto back = DecodeState(EncodeState(down));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == down);
}

// Packs a hand-built message the way the log stores it.
std::string Packed(::capnp::MessageBuilder& msg) {
  kj::VectorOutputStream out;
  ::capnp::writePackedMessage(out, msg);
  auto arr = out.getArray();
  return std::string(reinterpret_cast<const char*>(arr.begin()), arr.size());
}

constexpr uint8_t kFromTheFuture = 200;  // No enum of this binary has such a value.

TEST(EventCodecTest, EnumValuesFromANewerBinaryDecodeAsUnknownAndPrintSo) {
  {
    ::capnp::MallocMessageBuilder msg;
    auto root = msg.initRoot<capnp_schema::Event>();
    root.setSeq(5);
    auto h = root.getPayload().initNodeHealthChanged();
    h.setAddress("127.0.0.1:7000");
    h.getHealth().setHealth(kFromTheFuture);
    h.getHealth().setReason(kFromTheFuture);
    auto d = DecodeEvent(Packed(msg));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    const auto& nh = std::get<model::NodeHealthChanged>(d->event.payload);
    EXPECT_EQ(nh.health.health, model::Health::kUnknown);
    EXPECT_EQ(nh.health.reason, model::HealthReason::kUnknown);
    EXPECT_EQ(svc::Describe(*d), "127.0.0.1:7000 unknown (unknown)");
  }
  {
    ::capnp::MallocMessageBuilder msg;
    auto root = msg.initRoot<capnp_schema::Event>();
    root.setSeq(6);
    auto plan = root.getPayload().initPlanProposed().initPlan();
    plan.setId(3);
    plan.setReason("from the future");
    plan.setOrigin(kFromTheFuture);
    auto step = plan.initSteps(1)[0];
    step.setKind(kFromTheFuture);
    step.setMode(kFromTheFuture);
    step.getTarget().setAddress("127.0.0.1:7001");
    auto d = DecodeEvent(Packed(msg));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    const model::Plan& p = std::get<model::PlanProposed>(d->event.payload).plan;
    EXPECT_EQ(p.origin, model::PlanOrigin::kUnknown);
    ASSERT_EQ(p.steps.size(), 1u);
    EXPECT_EQ(p.steps[0].kind, model::StepKind::kUnknown);
    EXPECT_EQ(p.steps[0].mode, model::FailoverMode::kUnknown);
    EXPECT_NE(model::StepToString(p.steps[0]).find("unknown step"), std::string::npos);
  }
  {
    ::capnp::MallocMessageBuilder msg;
    auto root = msg.initRoot<capnp_schema::Event>();
    root.setSeq(7);
    root.getPayload().initOperatorRequested().setKind(kFromTheFuture);
    auto d = DecodeEvent(Packed(msg));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(std::get<model::OperatorRequested>(d->event.payload).request.kind, model::OperatorKind::kUnknown);
    EXPECT_EQ(svc::OperatorKindName(model::OperatorKind::kUnknown), "unknown");
  }
  {
    ::capnp::MallocMessageBuilder msg;
    auto root = msg.initRoot<capnp_schema::Event>();
    root.setSeq(8);
    auto f = root.getPayload().initPlanFinished();
    f.setPlanId(3);
    f.setOutcome(kFromTheFuture);
    auto d = DecodeEvent(Packed(msg));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(std::get<model::PlanFinished>(d->event.payload).outcome, model::PlanOutcome::kUnknown);
    EXPECT_EQ(svc::Describe(*d), "plan 3 unknown");
  }
  {
    // A snapshot: a plan in flight's step status, a summary's outcome and origin, a peer's role.
    ::capnp::MallocMessageBuilder msg;
    auto root = msg.initRoot<capnp_schema::ClusterState>();
    root.setLastSeq(9);
    root.setHasPlan(true);
    auto inflight = root.initPlan();
    inflight.getPlan().setId(4);
    inflight.getPlan().initSteps(1)[0].setKind(1);
    inflight.initStatus(1).set(0, kFromTheFuture);
    auto sum = root.initPlanHistory(1)[0];
    sum.setId(2);
    sum.setOutcome(kFromTheFuture);
    sum.setOrigin(kFromTheFuture);
    auto obs = root.initObserved(1)[0];
    obs.setAddress("127.0.0.1:7002");
    obs.getObservation().setRole(kFromTheFuture);
    obs.getObservation().initPeers(1)[0].setRole(kFromTheFuture);
    auto s = DecodeState(Packed(msg));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE(s->plan.has_value());
    EXPECT_EQ(s->plan->status.at(0), model::StepStatus::kUnknown);
    EXPECT_EQ(svc::StepStatusName(s->plan->status[0]), "unknown");
    ASSERT_EQ(s->plan_history.size(), 1u);
    EXPECT_EQ(s->plan_history[0].outcome, model::PlanOutcome::kUnknown);
    EXPECT_EQ(s->plan_history[0].origin, model::PlanOrigin::kUnknown);
    const model::NodeObservation& o = s->observed.at("127.0.0.1:7002");
    EXPECT_EQ(o.role, model::Role::kUnknown);
    EXPECT_EQ(o.peers.at(0).role, model::Role::kUnknown);
    EXPECT_EQ(svc::RoleName(o.role), "unknown");
  }
}

TEST(EventCodecTest, APlanWrittenBeforeOriginsExistedTakesItsOriginFromItsReason) {
  for (auto [reason, want] : {std::pair{"operator alice: migrate 10 slots", model::PlanOrigin::kOperator},
                              std::pair{"bootstrap: 6 members up", model::PlanOrigin::kPlanner}}) {
    ::capnp::MallocMessageBuilder msg;
    auto root = msg.initRoot<capnp_schema::Event>();
    root.setSeq(1);
    auto plan = root.getPayload().initPlanProposed().initPlan();
    plan.setId(1);
    plan.setReason(reason);  // No origin: 0, as older binaries wrote it.
    auto d = DecodeEvent(Packed(msg));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(std::get<model::PlanProposed>(d->event.payload).plan.origin, want) << reason;
  }
  model::Plan p;
  p.reason = "operator bob: but marked by the planner";  // Written now: the field decides.
  p.origin = model::PlanOrigin::kPlanner;
  model::Event e;
  e.seq = 1;
  e.payload = model::PlanProposed{p, 0};
  auto d = DecodeEvent(EncodeEvent(e));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<model::PlanProposed>(d->event.payload).plan.origin, model::PlanOrigin::kPlanner);
}

TEST(EventCodecTest, UnknownFutureKindDecodesAsUnknownWithItsHeader) {
  model::Event header = FullEvent(0);
  auto d = DecodeEvent(testing::EncodeFutureKind(header, 77));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->kind, RecordKind::kUnknown);
  EXPECT_EQ(d->tag, 77);
  EXPECT_EQ(d->event.seq, header.seq);
  EXPECT_EQ(d->event.source, header.source);
}

TEST(EventCodecTest, CompactedTombstoneKeepsHeaderKindAndAddress) {
  model::Event e = FullEvent(1);
  auto d = DecodeEvent(EncodeCompacted(e));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, RecordKind::kCompacted);
  EXPECT_EQ(d->tag, 1);
  EXPECT_EQ(d->address, "10.0.0.1:6379");
  EXPECT_EQ(d->event.seq, e.seq);
  EXPECT_EQ(d->event.cause, e.cause);
}

TEST(EventCodecTest, GarbageIsCorruptionNotACrash) {
  for (std::string bad :
       {std::string("\xff\xff\xff\xff\xff\xff\xff\xff\x10", 9), std::string("x"), std::string()}) {
    auto d = DecodeEvent(bad);
    EXPECT_FALSE(d.ok());
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), StatusCode::kCorruption);
    }
  }
  std::string good = EncodeEvent(FullEvent(5));
  auto d = DecodeEvent(good.substr(0, good.size() / 2));
  EXPECT_FALSE(d.ok()) << "a truncated record must not decode";
}

TEST(EventCodecTest, StateRoundTripsAndEncodesDeterministically) {
  EventGen gen(11);
  model::ClusterState s;
  for (int i = 0; i < 3000; ++i) {
    s = model::Apply(std::move(s), gen.Next());
    if (i % 500 == 0 || i == 2999) {
      std::string bytes = EncodeState(s);
      auto back = DecodeState(bytes);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      ASSERT_TRUE(*back == s) << "state at event " << s.last_seq << " did not round-trip";
      EXPECT_EQ(EncodeState(*back), bytes);
    }
  }
  EXPECT_FALSE(s.members.empty());
  EXPECT_FALSE(s.health.empty());
}

}  // namespace
}  // namespace rs::eventlog
