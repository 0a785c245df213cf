#include "common/address.h"

#include <charconv>

#include <fmt/format.h>

namespace rs {
namespace {

bool ValidHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

Result<uint16_t> ParsePort(std::string_view text, std::string_view whole, bool allow_zero) {
  if (text.empty()) return Status::InvalidArgument(fmt::format("missing port in '{}'", whole));
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || (value == 0 && !allow_zero) ||
      value > 65535) {
    return Status::InvalidArgument(fmt::format("bad port '{}' in '{}'", text, whole));
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

Result<Address> Address::Parse(std::string_view text) { return Parse(text, false); }

Result<Address> Address::ParseListen(std::string_view text) { return Parse(text, true); }

Result<Address> Address::Parse(std::string_view text, bool allow_port_zero) {
  Address out;
  std::string_view port_text;
  if (text.empty()) return Status::InvalidArgument("empty address");
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument(fmt::format("unterminated '[' in '{}'", text));
    }
    out.host = std::string(text.substr(1, close - 1));
    if (out.host.empty() || out.host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos ||
        out.host.find(':') == std::string::npos) {
      return Status::InvalidArgument(fmt::format("bad IPv6 host in '{}'", text));
    }
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::InvalidArgument(fmt::format("missing port in '{}'", text));
    }
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument(fmt::format("missing port in '{}'", text));
    }
    if (text.find(':') != colon) {
      return Status::InvalidArgument(
          fmt::format("IPv6 address must be bracketed, as [addr]:port, in '{}'", text));
    }
    out.host = std::string(text.substr(0, colon));
    if (out.host.empty()) return Status::InvalidArgument(fmt::format("missing host in '{}'", text));
    for (char c : out.host) {
      if (!ValidHostChar(c)) {
        return Status::InvalidArgument(fmt::format("bad character in host of '{}'", text));
      }
    }
    port_text = text.substr(colon + 1);
  }
  RS_ASSIGN_OR_RETURN(out.port, ParsePort(port_text, text, allow_port_zero));
  return out;
}

std::string Address::ToString() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

}  // namespace rs
