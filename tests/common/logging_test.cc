#include "common/logging.h"

#include <gtest/gtest.h>

namespace rs {
namespace {

TEST(LoggingTest, AcceptsKnownLevelsAndFormats) {
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(*ParseLogFormat("plain"), LogFormat::kPlain);
  EXPECT_TRUE(SetupLogging("debug", LogFormat::kJson).ok());
  EXPECT_TRUE(SetupLogging("off", LogFormat::kPlain).ok());
}

TEST(LoggingTest, RejectsUnknownLevelsAndFormats) {
  EXPECT_FALSE(ParseLogFormat("xml").ok());
  EXPECT_EQ(SetupLogging("loud", LogFormat::kPlain).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rs
