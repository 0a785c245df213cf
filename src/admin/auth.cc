#include "admin/auth.h"

namespace rs::admin {

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

TokenSet::TokenSet(const std::vector<std::string>& entries) {
  for (const std::string& e : entries) {
    if (e.empty()) continue;
    auto colon = e.find(':');
    if (colon == std::string::npos) {
      tokens_.push_back({"admin", e});
    } else if (colon + 1 < e.size()) {
      tokens_.push_back(
          {e.substr(0, colon).empty() ? "admin" : e.substr(0, colon), e.substr(colon + 1)});
    }
  }
}

std::optional<std::string> TokenSet::Check(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) != kBearer) return std::nullopt;
  std::string_view presented = authorization.substr(kBearer.size());
  std::optional<std::string> found;
  // Every token is compared, so the time does not tell which one matched.
  for (const Token& t : tokens_) {
    if (ConstantTimeEqual(presented, t.secret) && !found) found = t.name;
  }
  return found;
}

}  // namespace rs::admin
