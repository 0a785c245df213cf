// Checks the RESP layer against a real redis-server 7.0: the parser's error replies are the bytes
// Redis sends for the same input, inline commands split into the same arguments, and the scanner
// frames real replies (COMMAND DOCS in RESP2 and RESP3, pipelines) exactly.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/resp_parser.h"
#include "common/resp_scanner.h"
#include "common/resp_writer.h"

namespace rs::resp {
namespace {

using namespace std::chrono_literals;

int ConnectTo(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until the peer closes, `done` says the bytes are complete, or `timeout` passes.
template <typename Done>
std::string ReadUntil(int fd, Done done, std::chrono::milliseconds timeout) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (!done(got)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// A standalone redis-server on 127.0.0.1 and a free port, stopped by pid.
class RedisServer {
 public:
  RedisServer() {
    char tmpl[] = "/tmp/rs-resp-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    for (int attempt = 0; attempt < 5 && pid_ < 0; ++attempt) Launch(FreePort());
  }
  ~RedisServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      for (int i = 0; i < 50; ++i) {
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(100ms);
      }
      if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool ok() const { return pid_ > 0; }
  uint16_t port() const { return port_; }

 private:
  void Launch(uint16_t port) {
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test binary
      std::string port_text = std::to_string(port);
      std::string log = dir_ + "/redis.log";
      execlp("redis-server", "redis-server", "--port", port_text.c_str(), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", dir_.c_str(), "--logfile", log.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      std::this_thread::sleep_for(50ms);
      if (waitpid(pid, nullptr, WNOHANG) == pid) return;  // exited: port taken, try another
      int fd = ConnectTo(port);
      if (fd < 0) continue;
      SendAll(fd, "PING\r\n");
      std::string pong = ReadUntil(
          fd, [](const std::string& s) { return s.size() >= 7; }, 1s);
      close(fd);
      if (pong == "+PONG\r\n") {
        pid_ = pid;
        port_ = port;
        return;
      }
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }

  std::string dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

class RespAgainstRedisTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new RedisServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->ok()) << "redis-server did not start"; }

  // Sends `input` on a fresh connection and returns everything Redis answers before closing.
  static std::string ReplyToBadInput(const std::string& input) {
    int fd = ConnectTo(server_->port());
    EXPECT_GE(fd, 0);
    SendAll(fd, input);
    std::string got = ReadUntil(
        fd, [](const std::string&) { return false; }, 3s);
    close(fd);
    return got;
  }

  static RedisServer* server_;
};

RedisServer* RespAgainstRedisTest::server_ = nullptr;

TEST_F(RespAgainstRedisTest, ErrorRepliesAreTheBytesRedisSends) {
  for (const std::string& input :
       {std::string("*x\r\n"), std::string("*01\r\n"), std::string("*1\r\n$-1\r\n"),
        std::string("*1\r\n$abc\r\n"), std::string("*1\r\n$536870913\r\n"),
        std::string("*2\r\n$1\r\na\r\n:1\r\n"), std::string("*1\r\n\r\n"),
        "*" + std::string(70000, '1'), "*1\r\n$" + std::string(70000, '1'),
        "GET " + std::string(70000, 'k'), std::string("SET \"a b\r\n"), std::string("SET 'a b\n"),
        std::string("SET \"a\"b c\r\n")}) {
    SCOPED_TRACE(input.substr(0, 40));
    RequestParser parser;
    Request request;
    size_t consumed = 0;
    ASSERT_EQ(parser.Parse(input, &consumed, &request), ParseStatus::kError);
    std::string expected;
    AppendError(&expected, parser.error());
    EXPECT_EQ(ReplyToBadInput(input), expected);
  }
}

TEST_F(RespAgainstRedisTest, InlineArgumentsSplitLikeRedis) {
  int fd = ConnectTo(server_->port());
  ASSERT_GE(fd, 0);
  for (std::string line :
       {"ECHO plain", "ECHO \"a\\x41\\n\\r\\t\\b\\a\\\\\\\"q\"", "ECHO 'it\\'s \"x\"'", "ECHO \"\"",
        "ECHO \"\\x4\"", "ECHO \"\\q\"", "  ECHO\t spaced  ", "ECHO a\vb", "ECHO ab\"cd\"",
        "ECHO \"a\" b", "ECHO"}) {
    SCOPED_TRACE(line);
    std::string input = line + "\r\n";
    RequestParser parser;
    Request request;
    size_t consumed = 0;
    ASSERT_EQ(parser.Parse(input, &consumed, &request), ParseStatus::kOk);
    std::string expected;
    if (request.args.size() == 2) {
      AppendBulk(&expected, request.args[1]);
    } else {
      AppendError(&expected, "ERR wrong number of arguments for 'echo' command");
    }
    ASSERT_TRUE(SendAll(fd, input));
    ReplyScanner scanner;
    size_t length = 0;
    std::string got = ReadUntil(
        fd, [&](const std::string& s) { return scanner.Scan(s, &length) == ScanStatus::kOk; }, 3s);
    EXPECT_EQ(got, expected);
  }
  close(fd);
}

// Reads one reply with the scanner; then PING must answer exactly +PONG, proving the scanner
// stopped at the reply's last byte.
std::string ReadOneReply(int fd, ReplyInfo* info) {
  ReplyScanner scanner;
  size_t length = 0;
  ScanStatus status = ScanStatus::kNeedMore;
  std::string got = ReadUntil(
      fd,
      [&](const std::string& s) {
        status = scanner.Scan(s, &length, info);
        return status != ScanStatus::kNeedMore;
      },
      10s);
  EXPECT_EQ(status, ScanStatus::kOk) << (scanner.error() ? scanner.error() : "timed out");
  EXPECT_EQ(length, got.size());
  SendAll(fd, "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(ReadUntil(
                fd, [](const std::string& s) { return s.size() >= 7; }, 3s),
            "+PONG\r\n");
  return got;
}

// An independent, recursive reader (hiredis 0.14 refuses nesting deeper than 7): returns the end
// of the reply starting at `pos`, or npos, and the depth of its deepest aggregate.
size_t ReferenceEnd(std::string_view s, size_t pos, int depth, int* max_depth) {
  *max_depth = std::max(*max_depth, depth);
  size_t cr = s.find("\r\n", pos);
  if (cr == std::string_view::npos) return cr;
  const char type = s[pos];
  const std::string line(s.substr(pos + 1, cr - pos - 1));
  size_t next = cr + 2;
  switch (type) {
    case '$':
    case '!':
    case '=': {
      long long len = std::stoll(line);
      return len < 0 ? next : next + static_cast<size_t>(len) + 2;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      long long n = std::stoll(line) * (type == '%' || type == '|' ? 2 : 1);
      for (long long i = 0; i < n && next != std::string_view::npos; ++i) {
        next = ReferenceEnd(s, next, depth + 1, max_depth);
      }
      return type == '|' ? ReferenceEnd(s, next, depth, max_depth) : next;
    }
    default:
      return next;
  }
}

// Depth of the deepest aggregate, or -1 when the reference reader does not end exactly at the end.
int MaxDepth(std::string_view reply) {
  int depth = 0;
  return ReferenceEnd(reply, 0, 0, &depth) == reply.size() ? depth : -1;
}

TEST_F(RespAgainstRedisTest, ScansCommandDocsInResp2AndResp3) {
  int fd = ConnectTo(server_->port());
  ASSERT_GE(fd, 0);
  ReplyInfo info;
  SendAll(fd, "*2\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n");
  std::string docs = ReadOneReply(fd, &info);
  EXPECT_EQ(info.type, ReplyType::kArray);
  EXPECT_GT(docs.size(), 100000u);
  EXPECT_GT(MaxDepth(docs), 7) << "the reference reader disagrees or the reply is shallow";

  SendAll(fd, "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
  ReadOneReply(fd, &info);
  EXPECT_EQ(info.type, ReplyType::kMap);
  SendAll(fd, "*2\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n");
  std::string docs3 = ReadOneReply(fd, &info);
  EXPECT_EQ(info.type, ReplyType::kMap);
  EXPECT_GT(MaxDepth(docs3), 7) << "the reference reader disagrees or the reply is shallow";
  close(fd);
}

TEST_F(RespAgainstRedisTest, ScansAPipelineOfRealReplies) {
  int fd = ConnectTo(server_->port());
  ASSERT_GE(fd, 0);
  std::string pipeline;
  const int kCommands = 3000;
  for (int i = 0; i < kCommands; ++i) {
    std::string key = "pipe:" + std::to_string(i % 50);
    switch (i % 5) {
      case 0:
        AppendCommand(&pipeline, {"SET", key, std::string(i % 300, 'v')});
        break;
      case 1:
        AppendCommand(&pipeline, {"GET", key});
        break;
      case 2:
        AppendCommand(&pipeline, {"MGET", key, "missing", "pipe:1"});
        break;
      case 3:
        AppendCommand(&pipeline, {"INCR", "pipe:0"});
        break;  // "" and "vvv" are not integers
      default:
        pipeline += "PING \"a b\"\r\n";
        break;
    }
  }
  ASSERT_TRUE(SendAll(fd, pipeline));
  ReplyScanner scanner;
  int replies = 0, errors = 0;
  std::string pending;
  char buf[16384];
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (replies < kCommands && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    ASSERT_GT(n, 0);
    pending.append(buf, static_cast<size_t>(n));
    size_t length = 0;
    ReplyInfo info;
    ScanStatus status;
    while ((status = scanner.Scan(pending, &length, &info)) == ScanStatus::kOk) {
      if (info.type == ReplyType::kError) ++errors;
      pending.erase(0, length);
      ++replies;
    }
    ASSERT_NE(status, ScanStatus::kError) << scanner.error();
  }
  EXPECT_EQ(replies, kCommands);
  EXPECT_TRUE(pending.empty());
  EXPECT_GT(errors, 0);
  close(fd);
}

}  // namespace
}  // namespace rs::resp
