// The admin server's HTTP layer: the request parser fed at every split point, its limits, and
// the libuv server with raw sockets (parked requests answered from another thread, slow and idle
// clients timed out without a thread, the connection cap, Stop).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "admin/http_parser.h"
#include "admin/http_server.h"

namespace rs::admin {
namespace {

using namespace std::chrono_literals;
using Result = HttpRequestParser::Result;

// Feeds `input` in two pieces split at every point; the outcome must not depend on the split.
void ExpectSameAtEverySplit(const std::string& input, Result want, int want_status = 0) {
  for (size_t split = 0; split <= input.size(); ++split) {
    HttpRequestParser p;
    HttpRequest req;
    size_t consumed = 0;
    Result r = p.Parse(std::string_view(input).substr(0, split), &consumed, &req);
    if (r == Result::kNeedMore) r = p.Parse(input, &consumed, &req);
    ASSERT_EQ(r, want) << "split at " << split << ": " << p.error_message();
    if (want == Result::kError) {
      EXPECT_EQ(p.error_status(), want_status);
    }
    if (want == Result::kDone) {
      EXPECT_EQ(consumed, input.size());
    }
  }
}

TEST(HttpParserTest, ParsesRequestLineQueryHeadersAndBodyAtEverySplit) {
  const std::string in =
      "POST /v1/operations?dry_run=1&node=a%3A1&x=y+z HTTP/1.1\r\nHost: h\r\n"
      "Content-Length: 5\r\nAuthorization: Bearer t\r\n\r\nhello";
  ExpectSameAtEverySplit(in, Result::kDone);
  HttpRequestParser p;
  HttpRequest req;
  size_t consumed = 0;
  ASSERT_EQ(p.Parse(in + "GET /next", &consumed, &req), Result::kDone);
  EXPECT_EQ(consumed, in.size());  // A pipelined request stays for the next call.
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/v1/operations");
  EXPECT_EQ(req.param("dry_run"), "1");
  EXPECT_EQ(req.param("node"), "a:1");
  EXPECT_EQ(req.param("x"), "y z");
  EXPECT_FALSE(req.has_param("after"));
  EXPECT_EQ(req.header("authorization"), "Bearer t");
  EXPECT_EQ(req.body, "hello");
  EXPECT_TRUE(req.keep_alive);
}

TEST(HttpParserTest, KeepAliveFollowsVersionAndConnectionHeader) {
  auto keep = [](const std::string& in) {
    HttpRequestParser p;
    HttpRequest req;
    size_t consumed = 0;
    EXPECT_EQ(p.Parse(in, &consumed, &req), Result::kDone) << in;
    return req.keep_alive;
  };
  EXPECT_TRUE(keep("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(keep("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
  EXPECT_TRUE(keep("GET / HTTP/1.1\n\n"));  // Bare LF line ends are accepted.
}

TEST(HttpParserTest, RefusesChunkedBodiesOversizeAndMalformedRequestsWithAReason) {
  ExpectSameAtEverySplit("POST /v1/backup HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                         Result::kError, 411);
  ExpectSameAtEverySplit("POST /x HTTP/1.1\r\nContent-Length: 9000000\r\n\r\n", Result::kError,
                         413);
  ExpectSameAtEverySplit("GET /x HTTP/2.0\r\n\r\n", Result::kError, 505);
  ExpectSameAtEverySplit("GET x HTTP/1.1\r\n\r\n", Result::kError, 400);
  ExpectSameAtEverySplit("GET /x HTTP/1.1\r\nNo colon\r\n\r\n", Result::kError, 400);
  ExpectSameAtEverySplit("GET /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", Result::kError, 400);
  ExpectSameAtEverySplit("GET /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                         Result::kError, 400);
  ExpectSameAtEverySplit("GET /x%zz HTTP/1.1\r\n\r\n", Result::kError, 400);
  HttpRequestParser p;
  HttpRequest req;
  size_t consumed = 0;
  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(70 * 1024, 'a');
  EXPECT_EQ(p.Parse(big, &consumed, &req), Result::kError);
  EXPECT_EQ(p.error_status(), 431);
  HttpRequestParser q;
  EXPECT_EQ(q.Parse("GET / HTTP/1.1\r\nX: 1\r\n", &consumed, &req), Result::kNeedMore);
}

// A blocking loopback client.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }
  void Send(const std::string& s) { (void)!write(fd_, s.data(), s.size()); }
  // Reads until `needle` is in what was read, EOF or the timeout; returns what was read.
  std::string ReadUntil(const std::string& needle, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (got_.find(needle) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) {
        eof_ = true;
        break;
      }
      got_.append(buf, static_cast<size_t>(n));
    }
    return got_;
  }
  bool eof() const { return eof_; }
  void Clear() { got_.clear(); }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string got_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpServerOptions options = {}) {
    server_ = std::make_unique<HttpServer>(options, [this](RequestId id, HttpRequest req) {
      if (req.path == "/park") {
        std::lock_guard lock(mu_);
        parked_.push_back(id);
        return;
      }
      server_->Reply(id, HttpResponse::Text(200, "path " + req.path + " body " + req.body));
    });
    server_->set_on_abandon([this](RequestId id) {
      std::lock_guard lock(mu_);
      abandoned_.push_back(id);
    });
    server_->set_on_stop([this] {
      std::lock_guard lock(mu_);
      for (RequestId id : parked_) server_->Reply(id, HttpResponse::Text(503, "stopping\n"));
      parked_.clear();
    });
    ASSERT_TRUE(server_->Start().ok());
  }
  std::vector<RequestId> Parked() {
    std::lock_guard lock(mu_);
    return parked_;
  }
  bool WaitFor(std::chrono::milliseconds t, const std::function<bool()>& pred) {
    auto end = std::chrono::steady_clock::now() + t;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }

  std::mutex mu_;
  std::vector<RequestId> parked_, abandoned_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, AnswersPipelinedRequestsInOrderOnOneConnection) {
  Start();
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  c.Send(
      "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /c "
      "HTTP/1.1\r\n\r\n");
  std::string got = c.ReadUntil("path /c", 5s);
  EXPECT_LT(got.find("path /a"), got.find("path /b body hi"));
  EXPECT_LT(got.find("path /b body hi"), got.find("path /c"));
  EXPECT_NE(got.find("Connection: keep-alive"), std::string::npos);
}

TEST_F(HttpServerTest, ExpectContinueGets100BeforeTheBody) {
  Start();
  Client c(server_->port());
  c.Send("POST /b HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_NE(c.ReadUntil("\r\n\r\n", 5s).find("HTTP/1.1 100 Continue\r\n\r\n"), std::string::npos);
  c.Send("hi");
  EXPECT_NE(c.ReadUntil("body hi", 5s).find("path /b body hi"), std::string::npos);
}

TEST_F(HttpServerTest, ParkedRequestsHoldNoThreadAndAreAnsweredFromAnotherThread) {
  Start();
  std::vector<std::unique_ptr<Client>> waiting;
  for (int i = 0; i < 200; ++i) {
    waiting.push_back(std::make_unique<Client>(server_->port()));
    waiting.back()->Send("GET /park HTTP/1.1\r\n\r\n");
  }
  ASSERT_TRUE(WaitFor(10s, [&] { return Parked().size() == 200; }));
  // The loop still answers while 200 requests wait.
  Client other(server_->port());
  other.Send("GET /now HTTP/1.1\r\n\r\n");
  EXPECT_NE(other.ReadUntil("path /now", 5s).find("200 OK"), std::string::npos);
  std::thread replier([&] {
    for (RequestId id : Parked()) server_->Reply(id, HttpResponse::Text(200, "done\n"));
  });
  replier.join();
  for (auto& c : waiting) EXPECT_NE(c->ReadUntil("done", 5s).find("done"), std::string::npos);
  // A reply to a request whose connection is gone is dropped.
  auto gone = std::make_unique<Client>(server_->port());
  gone->Send("GET /park HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(WaitFor(5s, [&] { return Parked().size() == 201; }));
  RequestId last = Parked().back();
  gone.reset();
  ASSERT_TRUE(WaitFor(5s, [&] {
    std::lock_guard lock(mu_);
    return !abandoned_.empty() && abandoned_.back() == last;
  }));
  server_->Reply(last, HttpResponse::Text(200, "late\n"));
}

TEST_F(HttpServerTest, HalfOpenClientsGet408AfterTheHeaderTimeoutAndIdleOnesAreClosed) {
  HttpServerOptions o;
  o.header_timeout = 500ms;
  o.idle_timeout = 300ms;
  Start(o);
  Client slow(server_->port());
  slow.Send("GET /healthz HTTP/1.1\r\n");  // The request line only.
  std::string got = slow.ReadUntil("\r\n\r\n", 5s);
  EXPECT_NE(got.find("408"), std::string::npos) << got;
  Client idle(server_->port());
  idle.Send("GET /x HTTP/1.1\r\n\r\n");
  EXPECT_NE(idle.ReadUntil("path /x", 5s).find("path /x"), std::string::npos);
  idle.ReadUntil("never", 3s);
  EXPECT_TRUE(idle.eof());
}

TEST_F(HttpServerTest, ParserErrorsAreAnsweredWithTheirStatusAndTheConnectionCloses) {
  Start();
  Client c(server_->port());
  c.Send("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  std::string got = c.ReadUntil("never", 5s);
  EXPECT_NE(got.find("411 Length Required"), std::string::npos) << got;
  EXPECT_NE(got.find("Content-Length"), std::string::npos);
  EXPECT_TRUE(c.eof());
}

TEST_F(HttpServerTest, ConnectionsBeyondTheCapAreClosedAtOnce) {
  HttpServerOptions o;
  o.max_connections = 3;
  Start(o);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) held.push_back(std::make_unique<Client>(server_->port()));
  ASSERT_TRUE(WaitFor(5s, [&] { return server_->connections() == 3; }));
  Client extra(server_->port());
  extra.Send("GET /x HTTP/1.1\r\n\r\n");
  extra.ReadUntil("never", 3s);
  EXPECT_TRUE(extra.eof());
}

TEST_F(HttpServerTest, StopAnswersParkedRequestsAndReturnsWithinASecond) {
  Start();
  Client c(server_->port());
  c.Send("GET /park HTTP/1.1\r\n\r\n");
  Client idle(server_->port());
  ASSERT_TRUE(WaitFor(5s, [&] { return Parked().size() == 1; }));
  auto t0 = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  std::string got = c.ReadUntil("never", 2s);
  EXPECT_NE(got.find("503"), std::string::npos) << got;
  EXPECT_NE(got.find("Connection: close"), std::string::npos) << got;
  EXPECT_TRUE(c.eof());
}

}  // namespace
}  // namespace rs::admin
