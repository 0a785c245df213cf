// bench_proxy_relay: the floor for any proxy on this machine. A bare TCP relay that forwards bytes
// between each client and its own connection to one backend: no parsing, no routing, the same
// read / write / epoll_wait calls per request as redis-proxy and nothing else. bench/proxy/run.sh
// measures its `-c 1` p50 overhead beside the proxy's, so the proxy's figure can be read against
// what this machine's loopback and scheduler cost any proxy.
//
//   bench_proxy_relay LISTEN_PORT BACKEND_PORT [--busy-poll]
// Listens on 127.0.0.1:LISTEN_PORT and relays to 127.0.0.1:BACKEND_PORT until killed.
// --busy-poll: for 100 µs after input, poll with a zero timeout (and sched_yield between polls)
// instead of sleeping in epoll_wait, as redis-proxy does with --busy-poll-usec 100.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "bench_proxy_relay: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

void SetNonBlockingNoDelay(int fd) {
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) Fail("fcntl");
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) Fail("TCP_NODELAY");
}

struct Pair;

// One socket of a relayed pair; `out` holds bytes read from the other socket that this one has
// not taken yet. While `out` is not empty the other socket is not read (backpressure).
struct End {
  int fd = -1;
  std::string out;
  End* peer = nullptr;
  Pair* pair = nullptr;
};

struct Pair {
  End client, backend;
};

// Thread contract: single-threaded; the relay is one epoll loop on main's thread.
class Relay {
 public:
  Relay(int listen_port, int backend_port) : backend_port_(backend_port) {
    epoll_ = epoll_create1(0);
    if (epoll_ < 0) Fail("epoll_create1");
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a = Loopback(listen_port);
    if (bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) Fail("bind");
    if (listen(listener_, 1024) != 0) Fail("listen");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the listener
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, listener_, &ev) != 0) Fail("epoll_ctl");
  }

  [[noreturn]] void Run(bool busy_poll) {
    using Clock = std::chrono::steady_clock;
    constexpr auto kBusyPoll = std::chrono::microseconds(100);
    auto last_input = Clock::now() - kBusyPoll;
    epoll_event events[64];
    for (;;) {
      const bool spin = busy_poll && Clock::now() - last_input < kBusyPoll;
      int n = epoll_wait(epoll_, events, 64, spin ? 0 : -1);
      if (n < 0 && errno != EINTR) Fail("epoll_wait");
      if (n > 0) {
        last_input = Clock::now();
      } else if (spin) {
        sched_yield();
      }
      for (int i = 0; i < n; ++i) {
        auto* end = static_cast<End*>(events[i].data.ptr);
        if (end == nullptr) {
          Accept();
        } else if (!Handle(end, events[i].events)) {
          Close(end->pair);
        }
      }
      // Pairs closed this turn are freed only now: a later event of this batch may name them.
      for (Pair* p : closed_) delete p;
      closed_.clear();
    }
  }

 private:
  void Accept() {
    for (;;) {
      int client = accept4(listener_, nullptr, nullptr, 0);
      if (client < 0) return;
      int backend = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a = Loopback(backend_port_);
      if (backend < 0 || connect(backend, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        std::fprintf(stderr, "bench_proxy_relay: connect to backend: %s\n", std::strerror(errno));
        if (backend >= 0) close(backend);
        close(client);
        continue;
      }
      SetNonBlockingNoDelay(client);
      SetNonBlockingNoDelay(backend);
      auto* p = new Pair;
      p->client = {client, {}, &p->backend, p};
      p->backend = {backend, {}, &p->client, p};
      Register(&p->client, EPOLL_CTL_ADD);
      Register(&p->backend, EPOLL_CTL_ADD);
    }
  }

  // Level-triggered interest: readable while the peer has nothing waiting, writable while this
  // socket has something waiting.
  void Register(End* e, int op) {
    epoll_event ev{};
    ev.data.ptr = e;
    ev.events = (e->peer->out.empty() ? uint32_t{EPOLLIN} : 0u) |
                (e->out.empty() ? 0u : uint32_t{EPOLLOUT});
    if (epoll_ctl(epoll_, op, e->fd, &ev) != 0) Fail("epoll_ctl");
  }

  // Writes what `e` holds; false when the socket failed.
  static bool Flush(End* e) {
    while (!e->out.empty()) {
      ssize_t n = write(e->fd, e->out.data(), e->out.size());
      if (n < 0) return errno == EAGAIN || errno == EINTR;
      e->out.erase(0, static_cast<size_t>(n));
    }
    return true;
  }

  bool Handle(End* e, uint32_t events) {
    if (e->pair == nullptr) return true;  // closed earlier in this batch
    if (events & EPOLLOUT) {
      bool was_full = !e->out.empty();
      if (!Flush(e)) return false;
      if (was_full && e->out.empty()) {
        Register(e, EPOLL_CTL_MOD);
        Register(e->peer, EPOLL_CTL_MOD);  // its input may flow again
      }
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      ssize_t n = read(e->fd, buffer_, sizeof(buffer_));
      if (n == 0) return false;
      if (n < 0) return errno == EAGAIN || errno == EINTR;
      End* to = e->peer;
      to->out.append(buffer_, static_cast<size_t>(n));
      if (!Flush(to)) return false;
      if (!to->out.empty()) {
        Register(to, EPOLL_CTL_MOD);
        Register(e, EPOLL_CTL_MOD);  // stop reading until the peer drains
      }
    }
    return true;
  }

  void Close(Pair* p) {
    if (p->client.pair == nullptr) return;
    close(p->client.fd);
    close(p->backend.fd);
    p->client.pair = p->backend.pair = nullptr;
    closed_.push_back(p);
  }

  int epoll_ = -1;
  int listener_ = -1;
  int backend_port_;
  std::vector<Pair*> closed_;
  char buffer_[64 * 1024];
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || (argc == 4 && std::strcmp(argv[3], "--busy-poll") != 0) || argc > 4) {
    std::fprintf(stderr, "usage: bench_proxy_relay LISTEN_PORT BACKEND_PORT [--busy-poll]\n");
    return 2;
  }
  int listen_port = std::atoi(argv[1]);
  int backend_port = std::atoi(argv[2]);
  if (listen_port <= 0 || listen_port > 65535 || backend_port <= 0 || backend_port > 65535) {
    std::fprintf(stderr, "bench_proxy_relay: ports must be 1-65535\n");
    return 2;
  }
  static Relay relay(listen_port, backend_port);  // 64 KiB buffer: not on the stack
  relay.Run(argc == 4);
}
