// gtest assertions for Status and Result<T> that print the error when they fail.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "common/status.h"

namespace rs::test {

// The text of a Status, or of the Status inside a Result<T>, for assertion messages.
inline std::string StatusText(const Status& s) { return s.ToString(); }
template <typename T>
std::string StatusText(const Result<T>& r) {
  return r.status().ToString();
}

}  // namespace rs::test

// RS_ASSERT_OK(redis.Start()); works for Status and Result<T>.
#define RS_ASSERT_OK(expr)                                                                     \
  do {                                                                                         \
    const auto& rs_assert_ok_ = (expr);                                                        \
    ASSERT_TRUE(rs_assert_ok_.ok()) << #expr << ": " << ::rs::test::StatusText(rs_assert_ok_); \
  } while (0)

#define RS_EXPECT_OK(expr)                                                                     \
  do {                                                                                         \
    const auto& rs_expect_ok_ = (expr);                                                        \
    EXPECT_TRUE(rs_expect_ok_.ok()) << #expr << ": " << ::rs::test::StatusText(rs_expect_ok_); \
  } while (0)

#define RS_ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)                     \
  auto tmp = (expr);                                                     \
  ASSERT_TRUE(tmp.ok()) << #expr << ": " << ::rs::test::StatusText(tmp); \
  lhs = std::move(tmp).value()

// RS_ASSERT_OK_AND_ASSIGN(auto client, redis.Connect());
#define RS_ASSERT_OK_AND_ASSIGN(lhs, expr) \
  RS_ASSERT_OK_AND_ASSIGN_IMPL(RS_CONCAT(rs_assert_result_, __LINE__), lhs, expr)
