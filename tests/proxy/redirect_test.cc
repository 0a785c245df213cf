#include "proxy/redirect.h"

#include <gtest/gtest.h>

namespace rs::proxy {
namespace {

TEST(RedirectTest, ParsesMovedAndAsk) {
  Redirect m = ParseRedirect("MOVED 3999 127.0.0.1:6381");
  EXPECT_EQ(m.kind, RedirectKind::kMoved);
  EXPECT_EQ(m.slot, 3999);
  EXPECT_EQ(m.address, "127.0.0.1:6381");
  Redirect a = ParseRedirect("ASK 16383 10.0.0.2:7000");
  EXPECT_EQ(a.kind, RedirectKind::kAsk);
  EXPECT_EQ(a.slot, 16383);
  EXPECT_EQ(a.address, "10.0.0.2:7000");
}

TEST(RedirectTest, MalformedRedirectsAreNotFollowed) {
  for (const char* bad :
       {"MOVED", "MOVED 3999", "MOVED x 1.2.3.4:5", "MOVED 16384 1.2.3.4:5", "MOVED 1 nohostport",
        "MOVED 1 1.2.3.4:", "MOVEDX 1 1.2.3.4:5", "ASK 1 :", "ERR MOVED 1 1.2.3.4:5"}) {
    EXPECT_EQ(ParseRedirect(bad).kind, RedirectKind::kNone) << bad;
  }
}

TEST(RedirectTest, ClassifiesRetryableErrors) {
  EXPECT_EQ(ParseRedirect("TRYAGAIN Multiple keys request during rehashing of slot").kind,
            RedirectKind::kTryAgain);
  EXPECT_EQ(ParseRedirect("CLUSTERDOWN The cluster is down").kind, RedirectKind::kClusterDown);
  EXPECT_EQ(ParseRedirect("ERR wrong type").kind, RedirectKind::kNone);
}

}  // namespace
}  // namespace rs::proxy
