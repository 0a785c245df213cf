#include "eventlog/event_codec.h"

#include <gtest/gtest.h>

#include "event_gen.h"
#include "future_kind.h"

namespace rs::eventlog {
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
    EXPECT_EQ(d->tag, i);
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
    EXPECT_EQ(TagForName(EventKindName(e.payload)), i);
  }
  EXPECT_EQ(TagName(15), "compacted");
  EXPECT_EQ(TagName(300), "unknown-300");
  EXPECT_EQ(TagForName("no-such-kind"), 0xffff);
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
