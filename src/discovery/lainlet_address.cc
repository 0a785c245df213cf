#include "discovery/lainlet_address.h"

#include <cstdlib>
#include <string>

namespace rs::discovery {

Result<Address> ParseLainletAddress(std::string_view url) {
  std::string text(url);
  if (text.empty()) {
    const char* env = std::getenv("LAINLET_ADDR");
    text = env != nullptr && *env != '\0' ? env : "lainlet.lain:9001";
  }
  std::string_view rest = text;
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  if (rest.ends_with("/")) rest.remove_suffix(1);
  if (rest.find("://") != std::string_view::npos || rest.find('/') != std::string_view::npos) {
    return Status::InvalidArgument("lainlet address '" + text +
                                   "': expected host:port or http://host:port");
  }
  auto addr = Address::Parse(rest);
  if (!addr.ok()) return addr.status().WithContext("lainlet address '" + text + "'");
  return addr;
}

Result<Address> ParseLainletDiscovery(std::string_view spec) {
  if (spec == "lainlet") return ParseLainletAddress("");
  if (spec.starts_with("lainlet:")) return ParseLainletAddress(spec.substr(8));
  return Status::InvalidArgument("discovery '" + std::string(spec) +
                                 "': expected lainlet or lainlet:host:port");
}

}  // namespace rs::discovery
