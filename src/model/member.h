// A wanted member of the cluster, as discovery reports it (lainlet, a members file or a static
// list). Shared by discovery, the controller and the proxy's lainlet seeds.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace rs::model {

struct Member {
  uint32_t instance = 0;  // lainlet InstanceNo; for static/file sources, the line number (1..).
  std::string address;    // "host:port"
  std::string host;       // Physical host for anti-affinity (NodeName / label / the IP).
  auto operator<=>(const Member&) const = default;
};

}  // namespace rs::model
