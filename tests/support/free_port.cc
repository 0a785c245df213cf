#include "support/free_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>

namespace rs::test {
namespace {

// Binds host:port (port 0: any) and returns the bound port, or 0 when binding failed.
uint16_t TryBind(const std::string& host, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return 0;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  uint16_t bound = 0;
  // No SO_REUSEADDR: a port with lingering TIME_WAIT connections counts as busy, which is the
  // conservative answer.
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      bound = ntohs(addr.sin_port);
  }
  close(fd);
  return bound;
}

}  // namespace

bool PortIsFree(const std::string& host, uint16_t port) { return TryBind(host, port) == port; }

Result<uint16_t> FindFreePort(const std::string& host, bool need_bus_port) {
  static std::mutex mu;
  static std::set<uint16_t> handed_out;
  in_addr probe{};
  if (inet_pton(AF_INET, host.c_str(), &probe) != 1) {
    return Status::InvalidArgument("FindFreePort: not an IPv4 address: '" + host + "'");
  }
  std::lock_guard<std::mutex> lock(mu);
  for (int attempt = 0; attempt < 200; ++attempt) {
    uint16_t port = TryBind(host, 0);
    if (port == 0) {
      return Status::IoError("FindFreePort: cannot bind " + host + ":0: " + std::strerror(errno));
    }
    if (handed_out.count(port) > 0) continue;
    if (need_bus_port) {
      if (port + kClusterBusOffset > 65535) continue;
      uint16_t bus = static_cast<uint16_t>(port + kClusterBusOffset);
      if (handed_out.count(bus) > 0 || !PortIsFree(host, bus)) continue;
      handed_out.insert(bus);
    }
    handed_out.insert(port);
    return port;
  }
  return Status::Unavailable("FindFreePort: no free port pair on " + host + " after 200 tries");
}

}  // namespace rs::test
