// Many proxies against one redis-ctl: hundreds of topology long-polls and half-open connections
// (a request line and nothing more) must not slow /healthz or the API, and a new epoch must reach
// every long-poll. Against the thread-per-connection server this took /healthz past 5 s.
//
// RS_WATCHERS_TEST_REDIS_CTL=path runs the test against another redis-ctl binary (to see it fail
// against an older one).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/controller_fixture.h"

namespace rs::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kToken = "watch-token";
constexpr int kLongPolls = 500;
constexpr int kHalfOpen = 300;

// A loopback connection that sent its bytes and collects what comes back.
struct RawConn {
  int fd = -1;
  std::string got;
  bool eof = false;
};

int Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// True once `got` holds a whole response (headers and a Content-Length body).
bool Complete(const std::string& got) {
  size_t end = got.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  size_t cl = got.find("Content-Length: ");
  if (cl == std::string::npos || cl > end) return true;
  return got.size() >= end + 4 + std::stoul(got.substr(cl + 16));
}

// Reads from every connection until each has a whole response or the timeout passes.
void ReadAll(std::vector<RawConn>& conns, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    std::vector<pollfd> fds;
    std::vector<RawConn*> who;
    for (auto& c : conns) {
      if (c.fd >= 0 && !c.eof && !Complete(c.got)) {
        fds.push_back({c.fd, POLLIN, 0});
        who.push_back(&c);
      }
    }
    if (fds.empty()) return;
    if (poll(fds.data(), fds.size(), 200) <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        who[i]->eof = true;
      } else {
        who[i]->got.append(buf, static_cast<size_t>(n));
      }
    }
  }
}

class AdminWatchersTest : public ControllerFixture {
 protected:
  void SetUp() override {
    // Each connection is a descriptor of this process too.
    rlimit nofile{};
    getrlimit(RLIMIT_NOFILE, &nofile);
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
    if (nofile.rlim_cur < 2000) GTEST_SKIP() << "open files limit " << nofile.rlim_cur;
  }
  void TearDown() override {
    for (auto* list : {&polls_, &half_open_}) {
      for (auto& c : *list) {
        if (c.fd >= 0) close(c.fd);
      }
    }
    ControllerFixture::TearDown();
  }
  json Get(const std::string& path) {
    httplib::Client c("127.0.0.1", admin_port_);
    c.set_read_timeout(10, 0);
    auto r = c.Get(path);
    return r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
  }
  // How long a GET took, or 30 s when it failed.
  std::chrono::milliseconds Timed(const std::string& path) {
    httplib::Client c("127.0.0.1", admin_port_);
    c.set_connection_timeout(10, 0);
    c.set_read_timeout(10, 0);
    auto t0 = std::chrono::steady_clock::now();
    auto r = c.Get(path);
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
    return r && r->status == 200 ? took : 30000ms;
  }

  std::vector<RawConn> polls_, half_open_;
};

TEST_F(AdminWatchersTest, HealthAndApiStayFastBehindManyLongPollsAndANewEpochReachesEveryOne) {
  StartNodes(6);
  SetMembers({0, 1, 2, 3, 4, 5});
  std::string binary;
  if (const char* b = std::getenv("RS_WATCHERS_TEST_REDIS_CTL")) binary = b;
  StartController({"--admin-token", std::string("alice:") + kToken}, {}, binary);
  ASSERT_TRUE(WaitFor(40s, [&] {
    if (!Converged({0, 1, 2, 3, 4, 5}, 3, 1)) return false;
    json c = Get("/v1/cluster");
    return !c.is_null() && c["state"] == "ok" && c["health"] == json{{"up", 6}};
  })) << ControllerLog();
  json topo = Get("/v1/topology");
  const uint64_t epoch = topo["epoch"].get<uint64_t>();
  const std::string generation = topo["generation"];

  const std::string poll_request = "GET /v1/topology?after=" + std::to_string(epoch) +
                                   "&generation=" + generation +
                                   "&wait=60 HTTP/1.1\r\nHost: ctl\r\n\r\n";
  for (int i = 0; i < kLongPolls; ++i) {
    RawConn c;
    c.fd = Connect(admin_port_);
    ASSERT_GE(c.fd, 0) << "long-poll " << i;
    ASSERT_EQ(write(c.fd, poll_request.data(), poll_request.size()),
              static_cast<ssize_t>(poll_request.size()));
    polls_.push_back(std::move(c));
  }
  for (int i = 0; i < kHalfOpen; ++i) {
    RawConn c;
    c.fd = Connect(admin_port_);
    ASSERT_GE(c.fd, 0) << "half-open " << i;
    const std::string line = "GET /healthz HTTP/1.1\r\n";  // And nothing more.
    ASSERT_EQ(write(c.fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
    half_open_.push_back(std::move(c));
  }
  // Give the server a moment to have taken them all in; none of the polls is answered.
  ReadAll(polls_, 1s);
  for (const auto& c : polls_) ASSERT_EQ(c.got, "") << c.got;

  // Generous bounds: the old server took 5 s and more; this one answers in milliseconds.
  for (int i = 0; i < 5; ++i) {
    EXPECT_LT(Timed("/healthz"), 2000ms) << "round " << i;
    EXPECT_LT(Timed("/v1/cluster"), 2000ms) << "round " << i;
  }

  // A one-slot migration commits a new epoch; every long-poll gets it.
  std::vector<std::string> masters;
  for (const auto& shard : topo["shards"]) masters.push_back(shard["master"]["address"]);
  ASSERT_GE(masters.size(), 2u) << topo.dump();
  httplib::Client c("127.0.0.1", admin_port_);
  c.set_read_timeout(10, 0);
  auto r = c.Post(
      "/v1/operations", {{"Authorization", std::string("Bearer ") + kToken}},
      json{{"kind", "migrate"}, {"from", masters[0]}, {"to", masters[1]}, {"count", 1}}.dump(),
      "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  ReadAll(polls_, 50s);
  int answered = 0;
  for (const auto& p : polls_) {
    if (p.got.rfind("HTTP/1.1 200", 0) != 0) continue;
    json body = json::parse(p.got.substr(p.got.find("\r\n\r\n") + 4), nullptr, false);
    answered += !body.is_discarded() && body["epoch"].get<uint64_t>() > epoch &&
                body["generation"] == generation;
  }
  EXPECT_EQ(answered, kLongPolls) << polls_[0].got << ControllerLog();
  EXPECT_LT(Timed("/healthz"), 2000ms);
}

}  // namespace
}  // namespace rs::test
