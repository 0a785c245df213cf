// Bearer tokens for the admin API: "name:secret" entries, compared in constant time.
// Thread contract: immutable after construction; Check from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rs::admin {

// Compares every byte of the longer input, so the time does not tell where they differ.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

class TokenSet {
 public:
  // Entries "name:secret"; an entry without ':' is a secret named "admin". Empty entries skipped.
  explicit TokenSet(const std::vector<std::string>& entries);

  bool empty() const { return tokens_.empty(); }
  // The token's name when `authorization` is "Bearer <secret>" for a known secret.
  std::optional<std::string> Check(std::string_view authorization) const;

 private:
  struct Token {
    std::string name;
    std::string secret;
  };
  std::vector<Token> tokens_;
};

}  // namespace rs::admin
