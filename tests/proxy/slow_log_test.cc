#include "proxy/slow_log.h"

#include <gtest/gtest.h>

namespace rs::proxy {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kStart = 5 * kSecond;  // a monotonic clock does not start at 0

TEST(SlowLogLimiterTest, AStallLogsTenLinesAndSumsUpTheRestOnceTheSecondIsOver) {
  SlowLogLimiter limiter(10);
  int logged = 0;
  for (int i = 0; i < 500; ++i) {
    if (limiter.Admit(kStart + i * 1000, 6000 + i)) ++logged;
  }
  EXPECT_EQ(logged, 10);
  EXPECT_FALSE(limiter.TakeSummary(kStart + kSecond / 2).has_value()) << "the second is not over";
  auto s = limiter.TakeSummary(kStart + kSecond);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->count, 490u);
  EXPECT_EQ(s->slowest_us, 6499u);
  EXPECT_FALSE(limiter.TakeSummary(kStart + 2 * kSecond).has_value()) << "summed up once only";
}

TEST(SlowLogLimiterTest, ANewSecondLogsAgainAndKeepsTheEarlierCountForItsSummary) {
  SlowLogLimiter limiter(2);
  EXPECT_TRUE(limiter.Admit(kStart, 100));
  EXPECT_TRUE(limiter.Admit(kStart + 1, 300));
  EXPECT_FALSE(limiter.Admit(kStart + 2, 900));
  EXPECT_FALSE(limiter.Admit(kStart + 3, 200));
  // The next second: lines again, and what the first one suppressed is still owed.
  EXPECT_TRUE(limiter.Admit(kStart + kSecond, 100));
  EXPECT_TRUE(limiter.Admit(kStart + kSecond + 1, 100));
  EXPECT_FALSE(limiter.Admit(kStart + kSecond + 2, 400));
  auto first = limiter.TakeSummary(kStart + kSecond + 3);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->count, 2u);
  EXPECT_EQ(first->slowest_us, 900u);
  auto second = limiter.TakeSummary(kStart + 2 * kSecond + 3);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->count, 1u);
  EXPECT_EQ(second->slowest_us, 400u);
}

TEST(SlowLogLimiterTest, SlowRequestsUnderTheLimitAreAllLoggedAndNeverSummed) {
  SlowLogLimiter limiter(10);
  for (int sec = 0; sec < 5; ++sec) {
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.Admit(kStart + sec * kSecond + i, 7000));
  }
  EXPECT_FALSE(limiter.TakeSummary(kStart + 9 * kSecond).has_value());
}

}  // namespace
}  // namespace rs::proxy
