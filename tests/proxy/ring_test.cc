#include "proxy/ring.h"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <random>
#include <string>

namespace rs::proxy {
namespace {

// Random pushes and pops, checked against std::deque, so growth happens with the ring wrapped.
TEST(RingTest, BehavesLikeADequeAcrossGrowthAndWraparound) {
  Ring<std::string> ring;
  std::deque<std::string> model;
  std::mt19937 rng(7);
  for (int step = 0; step < 20000; ++step) {
    if (model.empty() || rng() % 3 != 0) {
      std::string v = "value-" + std::to_string(step) + std::string(step % 40, 'x');
      model.push_back(v);
      ring.push_back(std::move(v));
    } else {
      ASSERT_EQ(ring.front(), model.front()) << step;
      model.pop_front();
      ring.pop_front();
    }
    ASSERT_EQ(ring.size(), model.size());
    if (!model.empty() && step % 97 == 0) {
      for (size_t i = 0; i < model.size(); ++i) ASSERT_EQ(ring[i], model[i]) << step << " " << i;
    }
  }
}

TEST(RingTest, PopReleasesWhatTheElementOwnedAndSwapExchanges) {
  auto owned = std::make_shared<int>(1);
  Ring<std::shared_ptr<int>> a, b;
  a.push_back(std::shared_ptr<int>(owned));
  a.push_back(std::shared_ptr<int>(owned));
  EXPECT_EQ(owned.use_count(), 3);
  a.pop_front();
  EXPECT_EQ(owned.use_count(), 2);
  a.swap(b);
  EXPECT_TRUE(a.empty());
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b.front(), owned);
  b.clear();
  EXPECT_EQ(owned.use_count(), 1);
  b.push_back(std::make_shared<int>(5));
  EXPECT_EQ(*b.front(), 5);
}

}  // namespace
}  // namespace rs::proxy
