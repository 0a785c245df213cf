#include "proxy/redirect.h"

#include "common/redis_errors.h"
#include "common/slot.h"

namespace rs::proxy {
namespace {

bool StartsWithWord(std::string_view line, std::string_view word) {
  return line.size() >= word.size() && line.substr(0, word.size()) == word &&
         (line.size() == word.size() || line[word.size()] == ' ');
}

}  // namespace

Redirect ParseRedirect(std::string_view line) {
  Redirect r;
  bool moved = StartsWithWord(line, redis_errors::kMovedWord);
  bool ask = !moved && StartsWithWord(line, redis_errors::kAskWord);
  if (moved || ask) {
    size_t skip = moved ? 6 : 4;  // the word and its space
    if (line.size() <= skip) return r;
    std::string_view rest = line.substr(skip);
    size_t sp = rest.find(' ');
    if (sp == std::string_view::npos || sp == 0) return r;
    int slot = 0;
    for (char c : rest.substr(0, sp)) {
      if (c < '0' || c > '9') return r;
      slot = slot * 10 + (c - '0');
      if (slot >= kSlotCount) return r;
    }
    std::string_view addr = rest.substr(sp + 1);
    size_t colon = addr.rfind(':');
    if (addr.empty() || colon == std::string_view::npos || colon == 0 || colon + 1 == addr.size() ||
        addr.find(' ') != std::string_view::npos) {
      return r;
    }
    r.kind = moved ? RedirectKind::kMoved : RedirectKind::kAsk;
    r.slot = slot;
    r.address = std::string(addr);
    return r;
  }
  if (StartsWithWord(line, redis_errors::kTryAgainWord)) r.kind = RedirectKind::kTryAgain;
  if (StartsWithWord(line, "CLUSTERDOWN")) r.kind = RedirectKind::kClusterDown;
  return r;
}

}  // namespace rs::proxy
