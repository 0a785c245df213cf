#include "session_conn.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "common/resp_parser.h"
#include "common/resp_writer.h"

namespace rs::bench {
namespace {

constexpr size_t kInitialInput = 4096;

}  // namespace

void Fail(std::string_view what) {
  std::fprintf(stderr, "bench_proxy_sessions: %.*s\n", static_cast<int>(what.size()), what.data());
  std::exit(1);
}

Conn::~Conn() {
  if (fd_ >= 0) close(fd_);
}

void Conn::Connect(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) Fail(std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    Fail("connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void Conn::SetNonBlocking() {
  if (fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK) != 0) {
    Fail(std::string("fcntl: ") + std::strerror(errno));
  }
}

void Conn::Append(std::initializer_list<std::string_view> args) {
  resp::AppendCommand(&out_, args);
}

void Conn::AppendRaw(std::string_view bytes) { out_.append(bytes); }

bool Conn::Flush() {
  while (out_pos_ < out_.size()) {
    ssize_t n = send(fd_, out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL);
    if (n > 0) {
      out_pos_ += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return false;
    } else {
      Fail(std::string("write: ") + std::strerror(errno));
    }
  }
  out_.clear();
  out_pos_ = 0;
  return true;
}

bool Conn::ReadSome() {
  if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
  if (in_.empty()) in_.resize(kInitialInput);
  // Keep at least a quarter of the buffer free for this read: move the unfinished reply to the
  // front, or grow when the unfinished reply itself fills most of it. The scanner's progress is
  // relative to the reply's start, so moving the bytes does not disturb it.
  if (in_.size() - in_end_ < in_.size() / 4) {
    if (in_begin_ > 0) {
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    }
    if (in_.size() - in_end_ < in_.size() / 4) in_.resize(in_.size() * 2);
  }
  for (;;) {
    ssize_t n = read(fd_, in_.data() + in_end_, in_.size() - in_end_);
    if (n > 0) {
      in_end_ += static_cast<size_t>(n);
      return true;
    }
    if (n == 0) Fail("the server closed a connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    Fail(std::string("read: ") + std::strerror(errno));
  }
}

bool Conn::NextReply(std::string_view* raw, resp::ReplyInfo* info) {
  std::string_view buf(in_.data() + in_begin_, in_end_ - in_begin_);
  size_t length = 0;
  switch (scanner_.Scan(buf, &length, info)) {
    case resp::ScanStatus::kOk:
      *raw = buf.substr(0, length);
      in_begin_ += length;
      return true;
    case resp::ScanStatus::kNeedMore:
      return false;
    case resp::ScanStatus::kError:
      break;
  }
  Fail(std::string("bad reply from the server: ") + scanner_.error());
}

std::string_view Conn::ReadReply(resp::ReplyInfo* info) {
  std::string_view raw;
  while (!NextReply(&raw, info)) ReadSome();
  return raw;
}

bool Elements(std::string_view raw, const resp::ReplyInfo& info,
              std::vector<resp::ReplyInfo>* elements) {
  elements->clear();
  if ((info.type != resp::ReplyType::kArray && info.type != resp::ReplyType::kPush) ||
      info.is_null || info.is_streamed) {
    return false;
  }
  int64_t count = 0;
  if (!resp::ParseRedisInt(info.line, &count) || count < 0) return false;
  // The elements follow the header line (which an attribute may precede: start from the line).
  size_t pos = static_cast<size_t>(info.line.data() - raw.data()) + info.line.size() + 2;
  for (int64_t i = 0; i < count; ++i) {
    size_t length = 0;
    resp::ReplyInfo element;
    if (pos > raw.size() ||
        resp::ScanReply(raw.substr(pos), &length, &element) != resp::ScanStatus::kOk) {
      return false;
    }
    elements->push_back(element);
    pos += length;
  }
  return true;
}

bool IsUnsupported(const resp::ReplyInfo& info) {
  return info.type == resp::ReplyType::kError && info.line.starts_with("ERR proxy:") &&
         info.line.find("not supported") != std::string_view::npos;
}

void ReportUnsupported(std::initializer_list<std::string_view> names, std::string_view refusal) {
  for (std::string_view name : names) {
    std::printf("%.*s: unsupported\n", static_cast<int>(name.size()), name.data());
  }
  std::fprintf(stderr, "bench_proxy_sessions: refused: %.*s\n", static_cast<int>(refusal.size()),
               refusal.data());
  std::exit(0);
}

std::string Describe(std::string_view raw, const resp::ReplyInfo& info) {
  switch (info.type) {
    case resp::ReplyType::kSimpleString:
    case resp::ReplyType::kError:
    case resp::ReplyType::kInteger:
      return static_cast<char>(info.type) + std::string(info.line);
    default:
      break;
  }
  std::string out;
  for (char c : raw.substr(0, 120)) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Poller::Poller() : epfd_(epoll_create1(EPOLL_CLOEXEC)), events_(1024) {
  if (epfd_ < 0) Fail(std::string("epoll_create1: ") + std::strerror(errno));
}

Poller::~Poller() { close(epfd_); }

void Poller::Add(Conn* conn) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = conn;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, conn->fd(), &ev) != 0) {
    Fail(std::string("epoll_ctl: ") + std::strerror(errno));
  }
  conn->watching_output = false;
  Update(conn);
}

void Poller::Update(Conn* conn) {
  bool want = conn->HasOutput();
  if (want == conn->watching_output) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  if (want) ev.events |= EPOLLOUT;
  ev.data.ptr = conn;
  if (epoll_ctl(epfd_, EPOLL_CTL_MOD, conn->fd(), &ev) != 0) {
    Fail(std::string("epoll_ctl: ") + std::strerror(errno));
  }
  conn->watching_output = want;
}

void Poller::Wait(int timeout_ms, std::vector<Conn*>* ready) {
  ready->clear();
  int n = epoll_wait(epfd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  if (n < 0 && errno != EINTR) Fail(std::string("epoll_wait: ") + std::strerror(errno));
  for (int i = 0; i < n; ++i) ready->push_back(static_cast<Conn*>(events_[i].data.ptr));
}

int64_t RssBytes(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::atoll(line.c_str() + 6) * 1024;
  }
  Fail("no VmRSS for pid " + std::to_string(pid));
}

int64_t BlockedClients(Conn* conn) {
  conn->Append({"INFO", "clients"});
  conn->Flush();
  resp::ReplyInfo info;
  std::string_view raw = conn->ReadReply(&info);
  constexpr std::string_view kField = "\nblocked_clients:";
  size_t at = info.payload.find(kField);
  if (info.type != resp::ReplyType::kBulkString || at == std::string_view::npos) {
    Fail("no blocked_clients in INFO clients: " + Describe(raw, info));
  }
  return std::atoll(std::string(info.payload.substr(at + kField.size(), 20)).c_str());
}

double NowUs() {
  using Us = std::chrono::duration<double, std::micro>;
  return std::chrono::duration_cast<Us>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace rs::bench
