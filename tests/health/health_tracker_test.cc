#include "health/health_tracker.h"

#include <gtest/gtest.h>

namespace rs::health {
namespace {

using model::Health;
using model::HealthReason;

ProbeResult Ok(bool cluster_ok = true, uint64_t assigned = 16384) {
  return ProbeResult{ProbeOutcome::kOk, "", cluster_ok, assigned};
}
ProbeResult Fail(ProbeOutcome o) { return ProbeResult{o, "detail"}; }

TEST(HealthTrackerTest, FirstAnswerIsUpAndRepeatsAreSilent) {
  HealthTracker t({});
  auto h = t.Update(Ok(), 1000);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->health, Health::kUp);
  EXPECT_EQ(h->since_ms, 1000);
  EXPECT_FALSE(t.Update(Ok(), 2000));
  EXPECT_TRUE(t.cluster_ok());
}

TEST(HealthTrackerTest, RefusedIsDownAtOnce) {
  HealthTracker t({});
  ASSERT_TRUE(t.Update(Ok(), 0));
  auto h = t.Update(Fail(ProbeOutcome::kRefused), 1000);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->health, Health::kDown);
  EXPECT_EQ(h->reason, HealthReason::kRefused);
  EXPECT_EQ(h->since_ms, 1000);
  EXPECT_FALSE(t.Update(Fail(ProbeOutcome::kRefused), 2000));
  EXPECT_EQ(t.current().since_ms, 1000);
}

TEST(HealthTrackerTest, TimeoutsAreSuspectThenDown) {
  HealthTracker t({.suspect_after_failures = 1, .down_after_failures = 3});
  ASSERT_TRUE(t.Update(Ok(), 0));
  auto h = t.Update(Fail(ProbeOutcome::kTimeout), 1000);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->health, Health::kSuspect);
  EXPECT_EQ(h->reason, HealthReason::kTimeout);
  EXPECT_FALSE(t.Update(Fail(ProbeOutcome::kTimeout), 2000));
  h = t.Update(Fail(ProbeOutcome::kTimeout), 3000);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->health, Health::kDown);
  EXPECT_EQ(h->since_ms, 3000);
  h = t.Update(Ok(), 4000);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->health, Health::kUp);
}

TEST(HealthTrackerTest, AnAnswerResetsTheTimeoutCount) {
  HealthTracker t({.suspect_after_failures = 1, .down_after_failures = 2});
  ASSERT_TRUE(t.Update(Fail(ProbeOutcome::kTimeout), 0));
  ASSERT_TRUE(t.Update(Ok(), 1000));
  auto h = t.Update(Fail(ProbeOutcome::kTimeout), 2000);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->health, Health::kSuspect);
}

TEST(HealthTrackerTest, OneMissedRoundIsNotSuspectTwoInARowAre) {
  HealthTracker t({});  // suspect_after_failures 2, down_after_failures 3.
  ASSERT_TRUE(t.Update(Ok(), 0));
  // A single slow answer of a busy node, then answers again: nothing to record.
  EXPECT_FALSE(t.Update(Fail(ProbeOutcome::kTimeout), 1000));
  EXPECT_FALSE(t.Update(Ok(), 1500));
  EXPECT_FALSE(t.Update(Fail(ProbeOutcome::kError), 2000));
  EXPECT_FALSE(t.Update(Ok(), 2500));
  EXPECT_EQ(t.current().health, Health::kUp);
  // Two in a row are.
  EXPECT_FALSE(t.Update(Fail(ProbeOutcome::kTimeout), 3000));
  auto h = t.Update(Fail(ProbeOutcome::kTimeout), 4000);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->health, Health::kSuspect);
  EXPECT_EQ(h->reason, HealthReason::kTimeout);
  h = t.Update(Fail(ProbeOutcome::kTimeout), 5000);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->health, Health::kDown);
  // A refused connection is down at once, whatever the count.
  ASSERT_TRUE(t.Update(Ok(), 6000));
  h = t.Update(Fail(ProbeOutcome::kRefused), 7000);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->health, Health::kDown);
  EXPECT_EQ(h->reason, HealthReason::kRefused);
}

TEST(HealthTrackerTest, NeverAnsweredNodeIsSuspectAtTheFirstTimeout) {
  HealthTracker t({});
  auto h = t.Update(Fail(ProbeOutcome::kTimeout), 0);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->health, Health::kSuspect);
}

TEST(HealthTrackerTest, ClusterFailIsPendingThroughItsGrace) {
  HealthTracker t({.cluster_down_grace_ms = 3000});
  ASSERT_TRUE(t.Update(Ok(), 0));
  EXPECT_FALSE(t.cluster_fail_pending());
  EXPECT_FALSE(t.Update(Ok(false), 1000));
  EXPECT_TRUE(t.cluster_fail_pending());
  EXPECT_TRUE(t.cluster_ok());
  EXPECT_FALSE(t.Update(Ok(true), 2000));
  EXPECT_FALSE(t.cluster_fail_pending());
}

TEST(HealthTrackerTest, LoadingAndAuthAreSuspectWithTheirReason) {
  HealthTracker t({});
  auto h = t.Update(Fail(ProbeOutcome::kLoading), 0);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->health, Health::kSuspect);
  EXPECT_EQ(h->reason, HealthReason::kLoading);
  h = t.Update(Fail(ProbeOutcome::kAuth), 10);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->reason, HealthReason::kAuth);
}

TEST(HealthTrackerTest, ShortClusterFailWindowTriggersNothing) {
  HealthTracker t({.cluster_down_grace_ms = 3000});
  ASSERT_TRUE(t.Update(Ok(), 0));
  // Redis's own failover: cluster_state:fail for about a second.
  EXPECT_FALSE(t.Update(Ok(false), 1000));
  EXPECT_TRUE(t.cluster_ok());
  EXPECT_FALSE(t.Update(Ok(false), 2000));
  EXPECT_FALSE(t.Update(Ok(true), 2500));
  EXPECT_TRUE(t.cluster_ok());
  EXPECT_EQ(t.current().health, Health::kUp);
}

TEST(HealthTrackerTest, PersistentClusterFailIsClusterDown) {
  HealthTracker t({.cluster_down_grace_ms = 3000});
  ASSERT_TRUE(t.Update(Ok(), 0));
  EXPECT_FALSE(t.Update(Ok(false), 1000));
  EXPECT_FALSE(t.Update(Ok(false), 3999));
  auto h = t.Update(Ok(false), 4000);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->health, Health::kSuspect);
  EXPECT_EQ(h->reason, HealthReason::kClusterDown);
  EXPECT_FALSE(t.cluster_ok());
}

TEST(HealthTrackerTest, FreshNodeWithoutSlotsIsUpDespiteClusterFail) {
  HealthTracker t({.cluster_down_grace_ms = 3000});
  auto h = t.Update(Ok(false, 0), 0);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->health, Health::kUp);
  EXPECT_FALSE(t.Update(Ok(false, 0), 100'000));
  EXPECT_FALSE(t.cluster_ok());
}

}  // namespace
}  // namespace rs::health
