// Where lainlet is: the value of `--discovery lainlet[:URL]` turned into a host and port, the same
// way for redis-ctl and redis-proxy. An empty URL means LAINLET_ADDR from the environment, else
// lainlet.lain:9001 (lainlet-api.md, "Conventions").
#pragma once

#include <string_view>

#include "common/address.h"
#include "common/status.h"

namespace rs::discovery {

// `url`: "", "host:port", "http://host:port" or "http://host:port/". Anything else (another
// scheme, a path, no port) is an InvalidArgument naming the value.
Result<Address> ParseLainletAddress(std::string_view url);

// "lainlet" or "lainlet:URL" → the address; other specs are InvalidArgument.
Result<Address> ParseLainletDiscovery(std::string_view spec);

}  // namespace rs::discovery
