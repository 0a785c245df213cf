// Cluster redirect and retry errors a node sends back: "MOVED 3999 127.0.0.1:6381", "ASK ...",
// "TRYAGAIN ...", "CLUSTERDOWN ...".
#pragma once

#include <string>
#include <string_view>

namespace rs::proxy {

enum class RedirectKind { kNone, kMoved, kAsk, kTryAgain, kClusterDown };

struct Redirect {
  RedirectKind kind = RedirectKind::kNone;
  int slot = -1;        // MOVED / ASK only
  std::string address;  // MOVED / ASK only: "host:port"
};

// Classifies the text of an error reply (after the '-'). A MOVED/ASK line that does not parse is
// kNone, so the client sees the node's error as-is rather than a guess.
Redirect ParseRedirect(std::string_view error_line);

// The maximum number of redirects followed for one request.
inline constexpr int kMaxRedirects = 5;

}  // namespace rs::proxy
