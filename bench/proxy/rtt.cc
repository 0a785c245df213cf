// bench_proxy_rtt: round-trip latency of one client sending GET and waiting for the reply
// (blocking socket calls), measured per request with a monotonic clock: redis-benchmark's `-c 1`
// histogram has 8 µs buckets at these latencies, too coarse for a 15 µs target. Prints the
// percentiles in microseconds with one decimal:
//   bench_proxy_rtt PORT [REQUESTS]  ->  "p50 p90 p99" on one line
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "bench_proxy_rtt: %s: %s\n", what, errno ? std::strerror(errno) : "");
  std::exit(1);
}

// The key redis-benchmark uses without -r (so bench/proxy/run.sh's "master owning the key" holds);
// its SET test may have stored a value there.
constexpr std::string_view kRequest = "*2\r\n$3\r\nGET\r\n$16\r\nkey:__rand_int__\r\n";

// Bytes of a whole bulk-string reply at the start of `buf` ("$-1\r\n" or "$N\r\n...\r\n"), 0 while
// incomplete, -1 for anything else.
long WholeReply(std::string_view buf) {
  size_t eol = buf.find("\r\n");
  if (eol == std::string_view::npos) return 0;
  if (buf[0] != '$') return -1;
  long len = std::atol(std::string(buf.substr(1, eol - 1)).c_str());
  long total = len < 0 ? static_cast<long>(eol) + 2 : static_cast<long>(eol) + 2 + len + 2;
  return static_cast<long>(buf.size()) >= total ? total : 0;
}

// Sends one GET and reads until its whole reply is in; anything but a bulk string is a failure.
void RoundTrip(int fd) {
  if (write(fd, kRequest.data(), kRequest.size()) != static_cast<ssize_t>(kRequest.size())) {
    Fail("write");
  }
  char buf[4096];
  size_t got = 0;
  for (;;) {
    ssize_t n = read(fd, buf + got, sizeof(buf) - got);
    if (n <= 0) Fail("read");
    got += static_cast<size_t>(n);
    long whole = WholeReply(std::string_view(buf, got));
    if (whole < 0 || (whole == 0 && got == sizeof(buf))) {
      errno = 0;
      Fail("unexpected reply (not a bulk string of under 4 KB)");
    }
    if (whole > 0) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: bench_proxy_rtt PORT [REQUESTS]\n");
    return 2;
  }
  int port = std::atoi(argv[1]);
  long requests = argc == 3 ? std::atol(argv[2]) : 50000;
  if (port <= 0 || port > 65535 || requests < 100) {
    std::fprintf(stderr, "bench_proxy_rtt: PORT must be 1-65535 and REQUESTS at least 100\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) Fail("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < 1000; ++i) RoundTrip(fd);  // warm-up: connections, caches, CPU frequency
  std::vector<double> us(static_cast<size_t>(requests));
  for (double& t : us) {
    auto t0 = Clock::now();
    RoundTrip(fd);
    t = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  }
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[static_cast<size_t>(q * static_cast<double>(us.size() - 1))];
  };
  std::printf("%.1f %.1f %.1f\n", at(0.50), at(0.90), at(0.99));
  close(fd);
  return 0;
}
