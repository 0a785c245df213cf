// Ephemeral TCP ports for test servers on loopback addresses.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace rs::test {

// Redis Cluster listens on port + 10000 for its bus.
inline constexpr int kClusterBusOffset = 10000;

// A port on `host` (any 127.x.y.z works on Linux) that nothing listens on, found by binding port 0,
// with port + 10000 free as well when `need_bus_port`. Never hands out the same port twice in one
// process. Another process may still take it before the server binds: callers retry on EADDRINUSE.
Result<uint16_t> FindFreePort(const std::string& host = "127.0.0.1", bool need_bus_port = true);

// True if a TCP listener could bind host:port right now.
bool PortIsFree(const std::string& host, uint16_t port);

}  // namespace rs::test
