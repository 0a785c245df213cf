#include "proxy/address_registry.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <set>
#include <thread>
#include <vector>

namespace rs::proxy {
namespace {

TEST(AddressRegistryTest, InternsEachAddressOnce) {
  AddressRegistry r;
  auto a = r.Intern("127.0.0.1:7001");
  auto b = r.Intern("127.0.0.1:7002");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(*r.Intern("127.0.0.1:7001"), *a);
  EXPECT_EQ(r.size(), 2u);
  EXPECT_EQ(r.Find("127.0.0.1:7002"), *b);
  EXPECT_EQ(r.Find("127.0.0.1:7003"), std::nullopt);
  EXPECT_EQ(r.Lookup(*a), "127.0.0.1:7001");
}

TEST(AddressRegistryTest, IdsStartWhereToldAndWrapPastZero) {
  AddressRegistry r(ScanCursor::kMaxAddressId);
  EXPECT_EQ(*r.Intern("a:1"), ScanCursor::kMaxAddressId);
  EXPECT_EQ(*r.Intern("a:2"), 1);
  EXPECT_EQ(*r.Intern("a:3"), 2);
  EXPECT_EQ(r.Lookup(ScanCursor::kMaxAddressId), "a:1");
  EXPECT_EQ(r.Lookup(1), "a:2");
  EXPECT_EQ(r.Lookup(2), "a:3");
}

TEST(AddressRegistryTest, UnknownIdsHaveNoAddress) {
  AddressRegistry r(100);
  ASSERT_TRUE(r.Intern("a:1").ok());
  EXPECT_EQ(r.Lookup(AddressRegistry::kNoId), std::nullopt);
  EXPECT_EQ(r.Lookup(99), std::nullopt);
  EXPECT_EQ(r.Lookup(101), std::nullopt);
  EXPECT_EQ(r.Lookup(ScanCursor::kMaxAddressId + 1), std::nullopt);
  EXPECT_EQ(r.Lookup(100), "a:1");
}

TEST(AddressRegistryTest, RefusesNewAddressesWhenEveryIdIsTaken) {
  AddressRegistry r(5000);
  std::set<uint16_t> ids;
  for (size_t i = 0; i < AddressRegistry::kCapacity; ++i) {
    auto id = r.Intern(fmt::format("10.0.{}.{}:6379", i / 256, i % 256));
    ASSERT_TRUE(id.ok()) << i;
    ids.insert(*id);
  }
  EXPECT_EQ(ids.size(), AddressRegistry::kCapacity);
  EXPECT_EQ(ids.count(AddressRegistry::kNoId), 0u);
  auto full = r.Intern("10.1.0.0:6379");
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.status().message().find("10.1.0.0:6379"), std::string::npos);
  EXPECT_TRUE(r.Intern("10.0.0.0:6379").ok());  // addresses already known keep their id
}

// Views handed out earlier stay valid while other threads add addresses.
TEST(AddressRegistryTest, ThreadsAgreeOnIds) {
  AddressRegistry r;
  auto first = r.Intern("first:1");
  ASSERT_TRUE(first.ok());
  std::string_view first_view = *r.Lookup(*first);
  std::vector<std::vector<uint16_t>> seen(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) seen[t].push_back(*r.Intern(fmt::format("h:{}", i)));
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 1; t < 4; ++t) EXPECT_EQ(seen[t], seen[0]);
  EXPECT_EQ(r.size(), 2001u);
  EXPECT_EQ(first_view, "first:1");
}

}  // namespace
}  // namespace rs::proxy
