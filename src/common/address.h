// Network addresses of Redis nodes and services: "host:port" and "[v6]:port".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace rs {

struct Address {
  std::string host;  // Without brackets, also for IPv6.
  uint16_t port = 0;

  // Parses "host:port", "1.2.3.4:port" or "[::1]:port". Port must be 1..65535.
  static Result<Address> Parse(std::string_view text);
  // The same for an address to listen on, where port 0 also goes: the kernel picks a free one.
  static Result<Address> ParseListen(std::string_view text);

  // "host:port", with brackets around an IPv6 host.
  std::string ToString() const;

  auto operator<=>(const Address&) const = default;

 private:
  static Result<Address> Parse(std::string_view text, bool allow_port_zero);
};

}  // namespace rs
