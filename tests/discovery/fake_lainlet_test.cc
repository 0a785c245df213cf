// FakeLainlet speaks lainlet's exact bytes (shared/lainlet-api.md 1.2-1.3): checked with a raw
// socket, so the client tests are tests against the real protocol.
#include "support/fake_lainlet.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include <gtest/gtest.h>

namespace rs::test {
namespace {

class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  void Send(const std::string& s) {
    ASSERT_EQ(::send(fd_, s.data(), s.size(), 0), (ssize_t)s.size());
  }
  // Reads until `want` appears, the peer closes, or `ms` pass.
  std::string ReadUntil(const std::string& want, int ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (in_.find(want) == std::string::npos && std::chrono::steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      in_.append(buf, n);
    }
    return in_;
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string in_;
};

TEST(FakeLainletTest, WatchFramingMatchesLainletByteForByte) {
  FakeLainlet fake;
  ASSERT_TRUE(fake.Start().ok());
  fake.SetProcs(R"([{"proc":[]}])");
  RawClient c(fake.port());
  ASSERT_TRUE(c.connected());
  c.Send(
      "GET /v2/procwatcher/?appname=redis-service&watch=1&heartbeat=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got = c.ReadUntil("event: heartbeat\n\n", 2500);
  EXPECT_EQ(got,
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nVary: Accept-Encoding\r\n\r\n"
            "id: 1\nevent: init\ndata: [{\"proc\":[]}]\n\n"
            "id: 0\nevent: heartbeat\n\n");
  fake.SetProcs("[]");
  fake.SetProcs("[]");  // Unchanged data is not sent again.
  fake.DeleteProcs("[\n]");
  got = c.ReadUntil("id: 3\n", 1000);
  EXPECT_NE(got.find("id: 2\nevent: update\ndata: []\n\n"), std::string::npos) << got;
  EXPECT_NE(got.find("id: 3\nevent: delete\ndata: [\ndata: ]\n\n"), std::string::npos) << got;
  fake.SendError("authorize failed, no permission");
  got = c.ReadUntil("no permission\n\n", 1000);
  EXPECT_NE(got.find("id: 0\nevent: error\ndata: authorize failed, no permission\n\n"),
            std::string::npos);
  c.ReadUntil("never", 300);
  EXPECT_TRUE(c.closed());
}

TEST(FakeLainletTest, PlainGetAnswersWithLengthAnd400And404) {
  FakeLainlet fake;
  ASSERT_TRUE(fake.Start().ok());
  fake.SetProcs("[]");
  {
    RawClient c(fake.port());
    c.Send("GET /v2/procwatcher?appname=a HTTP/1.0\r\n\r\n");
    std::string got = c.ReadUntil("never", 500);
    EXPECT_EQ(got.substr(0, got.find("\r\n")), "HTTP/1.1 200 OK");
    EXPECT_NE(got.find("Content-Length: 2\r\n"), std::string::npos);
    EXPECT_TRUE(got.ends_with("\r\n\r\n[]"));
    EXPECT_TRUE(c.closed());
  }
  {
    RawClient c(fake.port());
    c.Send("GET /v2/procwatcher HTTP/1.0\r\n\r\n");
    std::string got = c.ReadUntil("never", 500);
    EXPECT_TRUE(got.starts_with("HTTP/1.1 400 Bad Request\r\n"));
    EXPECT_TRUE(got.ends_with("appname required"));
  }
  {
    RawClient c(fake.port());
    c.Send("GET /procwatcher/?appname=a HTTP/1.0\r\n\r\n");
    std::string got = c.ReadUntil("never", 500);
    EXPECT_TRUE(got.starts_with("HTTP/1.1 404 Not Found\r\n"));
    EXPECT_TRUE(got.ends_with("404 not found"));
  }
  fake.RefuseWith("authorize failed, no permission");
  {
    RawClient c(fake.port());
    c.Send("GET /v2/procwatcher?appname=a HTTP/1.0\r\n\r\n");
    std::string got = c.ReadUntil("never", 500);
    EXPECT_TRUE(got.starts_with("HTTP/1.1 400 Bad Request\r\n"));
    EXPECT_TRUE(got.ends_with("authorize failed, no permission"));
  }
  EXPECT_EQ(fake.get_requests(), 3);  // The 404 is neither a GET of a route nor a watch.
}

}  // namespace
}  // namespace rs::test
