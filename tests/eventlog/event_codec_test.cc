#include "eventlog/event_codec.h"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <gtest/gtest.h>
#include <kj/io.h>

#include "event_gen.h"
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
  for (size_t i = 0; i < std::variant_size_v<EventPayload>; ++i) {
    Event e = FullEvent(i);
    ASSERT_EQ(e.payload.index(), i);
    auto d = DecodeEvent(EncodeEvent(e));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->kind, RecordKind::kEvent) << EventKindName(e.payload);
    EXPECT_EQ(d->tag, EventTag(e.payload));
    EXPECT_TRUE(d->event == e) << "kind " << EventKindName(e.payload) << " did not round-trip";
  }
}

TEST(EventCodecTest, RandomEventsRoundTrip) {
  EventGen gen(7);
  for (int i = 0; i < 5000; ++i) {
    Event e = gen.Next();
    auto d = DecodeEvent(EncodeEvent(e));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    ASSERT_TRUE(d->event == e) << "event " << e.seq << " (" << EventKindName(e.payload) << ")";
  }
}

TEST(EventCodecTest, TagNamesMatchTheModelsKindNames) {
  for (size_t i = 0; i < std::variant_size_v<EventPayload>; ++i) {
    Event e = FullEvent(i);
    EXPECT_EQ(TagName(EventTag(e.payload)), EventKindName(e.payload));
    EXPECT_EQ(TagForName(EventKindName(e.payload)), EventTag(e.payload));
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
  EXPECT_EQ(EventTag(EventPayload(DiscoveryStatusChanged{})), 16);
  EXPECT_EQ(TagName(16), "discovery-status");
  EXPECT_EQ(TagName(17), "unknown-17");
}

TEST(EventCodecTest, DiscoveryStatusRoundTripsAndIsReadable) {
  Event e;
  e.seq = 9;
  e.time_ms = 1'700'000'000'000;
  e.source = "discovery";
  e.payload = DiscoveryStatusChanged{"lainlet:http://127.0.0.1:9001/v2/procwatcher?appname=x",
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

  ClusterState down;
  down.discovery_reachable = false;
  down.discovery_reason = "connect 10.0.0.9:9001: connection refused";
  down.discovery_since_ms = 1234;
  down.retired = {"10.0.0.3:6379", "10.0.0.4:6379"};
  auto back = DecodeState(EncodeState(down));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == down);
}

TEST(EventCodecTest, UnknownFutureKindDecodesAsUnknownWithItsHeader) {
  Event header = FullEvent(0);
  auto d = DecodeEvent(testing::EncodeFutureKind(header, 77));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->kind, RecordKind::kUnknown);
  EXPECT_EQ(d->tag, 77);
  EXPECT_EQ(d->event.seq, header.seq);
  EXPECT_EQ(d->event.source, header.source);
}

TEST(EventCodecTest, CompactedTombstoneKeepsHeaderKindAndAddress) {
  Event e = FullEvent(1);
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
  ClusterState s;
  for (int i = 0; i < 3000; ++i) {
    s = Apply(std::move(s), gen.Next());
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
