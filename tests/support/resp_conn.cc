#include "support/resp_conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/resp_scanner.h"
#include "common/resp_writer.h"

namespace rs::test {

Result<RespConn> RespConn::Connect(uint16_t port, const std::string& host) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status::IoError("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return Status::Unavailable("connect to " + host + ":" + std::to_string(port));
  }
  return RespConn(fd);
}

RespConn::RespConn(RespConn&& other) noexcept : fd_(other.fd_), buf_(std::move(other.buf_)) {
  other.fd_ = -1;
}

RespConn& RespConn::operator=(RespConn&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    buf_ = std::move(other.buf_);
    other.fd_ = -1;
  }
  return *this;
}

RespConn::~RespConn() { Close(); }

void RespConn::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

Status RespConn::SendRaw(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return Status::Unavailable("send failed");
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status RespConn::Send(const std::vector<std::string>& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  std::string out;
  resp::AppendCommand(&out, std::span<const std::string_view>(views));
  return SendRaw(out);
}

Result<std::string> RespConn::Read(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    size_t len = 0;
    if (!buf_.empty() && resp::ScanReply(buf_, &len) == resp::ScanStatus::kOk) {
      std::string reply = buf_.substr(0, len);
      buf_.erase(0, len);
      return reply;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::Timeout("no reply; have: " + buf_);
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 50))) <= 0) continue;
    char tmp[65536];
    ssize_t n = recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) return Status::Unavailable("connection closed; have: " + buf_);
    buf_.append(tmp, static_cast<size_t>(n));
  }
}

Result<std::string> RespConn::Call(const std::vector<std::string>& args,
                                   std::chrono::milliseconds timeout) {
  RS_RETURN_IF_ERROR(Send(args));
  return Read(timeout);
}

bool RespConn::Quiet(std::chrono::milliseconds wait) {
  if (!buf_.empty()) return false;
  pollfd p{fd_, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(wait.count())) == 0;
}

std::vector<std::string> Elements(const std::string& reply) {
  std::vector<std::string> out;
  if (reply.empty() || (reply[0] != '*' && reply[0] != '>' && reply[0] != '%' && reply[0] != '~'))
    return out;
  size_t pos = reply.find("\r\n");
  if (pos == std::string::npos) return out;
  pos += 2;
  while (pos < reply.size()) {
    size_t len = 0;
    resp::ReplyInfo info;
    if (resp::ScanReply(std::string_view(reply).substr(pos), &len, &info) !=
        resp::ScanStatus::kOk) {
      break;
    }
    switch (info.type) {
      case resp::ReplyType::kBulkString:
      case resp::ReplyType::kVerbatimString:
        out.push_back(info.is_null ? "(nil)" : std::string(info.payload));
        break;
      case resp::ReplyType::kNull:
        out.push_back("(nil)");
        break;
      case resp::ReplyType::kInteger:
      case resp::ReplyType::kSimpleString:
      case resp::ReplyType::kError:
      case resp::ReplyType::kDouble:
      case resp::ReplyType::kBoolean:
        out.push_back(info.is_null ? "(nil)" : std::string(info.line));
        break;
      default:
        out.push_back(info.is_null ? "(nil)" : reply.substr(pos, len));
        break;
    }
    pos += len;
  }
  return out;
}

}  // namespace rs::test
