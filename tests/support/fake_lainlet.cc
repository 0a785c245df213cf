#include "support/fake_lainlet.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/now.h"

namespace rs::test {
namespace {

// "a=1&b=2" → {a: 1, b: 2}. lainlet's values here never need %-decoding.
std::map<std::string, std::string> ParseQuery(const std::string& q) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= q.size()) {
    size_t amp = q.find('&', pos);
    std::string kv = q.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    size_t eq = kv.find('=');
    if (!kv.empty()) out[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return out;
}

// Go's GetBool in lainlet: "", "0" and "false" are false, anything else is true.
bool GetBool(const std::map<std::string, std::string>& q, const std::string& key) {
  auto it = q.find(key);
  return it != q.end() && !it->second.empty() && it->second != "0" && it->second != "false";
}

std::string PlainResponse(int code, const std::string& reason, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(code) + " " + reason +
         "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body;
}

std::string ReasonPhrase(int code) {
  switch (code) {
    case 403:
      return "Forbidden";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
  }
  return "Error";
}

}  // namespace

FakeLainlet::FakeLainlet() {
  data_["procwatcher"] = "[]";
  data_["coreinfowatcher"] = "{}";
}

FakeLainlet::~FakeLainlet() { Stop(); }

Status FakeLainlet::Start() {
  if (running_) return Status::FailedPrecondition("fake lainlet already running");
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port_);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 64) != 0) {
    Status s = Status::IoError(std::string("fake lainlet bind/listen: ") + std::strerror(errno));
    ::close(fd);
    return s;
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  listen_fd_ = fd;
  running_ = true;
  thread_ = std::thread([this] { Serve(); });
  return Status::Ok();
}

void FakeLainlet::Stop() {
  if (!running_) return;
  running_ = false;
  thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  CloseAll();
  ::close(listen_fd_);
  listen_fd_ = -1;
}

Status FakeLainlet::Restart() {
  Stop();
  return Start();
}

void FakeLainlet::Serve() {
  while (running_) {
    std::vector<pollfd> fds;
    {
      std::lock_guard<std::mutex> lock(mu_);
      fds.push_back({listen_fd_, POLLIN, 0});
      for (auto& c : conns_) fds.push_back({c->fd, POLLIN, 0});
    }
    ::poll(fds.data(), fds.size(), 20);
    std::lock_guard<std::mutex> lock(mu_);
    if (fds[0].revents & POLLIN) {
      int cfd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (cfd >= 0) {
        auto c = std::make_unique<Conn>();
        c->fd = cfd;
        conns_.push_back(std::move(c));
      }
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      for (auto& c : conns_) {
        if (c->fd != fds[i].fd) continue;
        char buf[4096];
        ssize_t n = ::recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
          CloseConn(c.get());
        } else if (n > 0 && !c->watch) {
          c->in.append(buf, n);
          if (c->in.find("\r\n\r\n") != std::string::npos) HandleRequest(c.get());
        }
        break;
      }
    }
    int64_t now = SteadyNowMs();
    for (auto& c : conns_) {
      if (c->fd < 0 || !c->watch || c->heartbeat_s <= 0 || stalled_) continue;
      if (now >= c->next_heartbeat_ms) {
        c->next_heartbeat_ms = now + c->heartbeat_s * 1000;
        SendEvent(c.get(), 0, "heartbeat", "");
      }
    }
    std::erase_if(conns_, [](const auto& c) { return c->fd < 0; });
  }
}

void FakeLainlet::HandleRequest(Conn* c) {
  std::string line = c->in.substr(0, c->in.find("\r\n"));
  request_lines_.push_back(line);
  // "GET /v2/procwatcher/?appname=x&watch=1 HTTP/1.1"
  size_t sp1 = line.find(' ');
  size_t sp2 = line.find(' ', sp1 + 1);
  std::string target = sp1 == std::string::npos ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string path = target.substr(0, target.find('?'));
  std::string query =
      target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
  if (!path.empty() && path.back() == '/') path.pop_back();  // martini's `\/?`.
  auto q = ParseQuery(query);
  if (fail_status_ != 0) {
    ++(GetBool(q, "watch") ? watch_requests_ : get_requests_);
    SendAll(c, PlainResponse(fail_status_, ReasonPhrase(fail_status_), fail_body_));
    CloseConn(c);
    return;
  }
  std::string route;
  if (path == "/v2/procwatcher") route = "procwatcher";
  if (path == "/v2/coreinfowatcher") route = "coreinfowatcher";
  if (line.rfind("GET ", 0) != 0 || route.empty()) {
    SendAll(c, PlainResponse(404, "Not Found", "404 not found"));
    CloseConn(c);
    return;
  }
  std::string error = refusal_;
  if (error.empty() && route == "procwatcher" && q["appname"].empty()) error = "appname required";
  if (!GetBool(q, "watch")) {
    ++get_requests_;
    if (!error.empty()) {
      SendAll(c, PlainResponse(400, "Bad Request", error));
    } else {
      SendAll(c, PlainResponse(200, "OK", data_[route]));
    }
    CloseConn(c);
    return;
  }
  ++watch_requests_;
  c->watch = true;
  c->route = route;
  c->heartbeat_s = std::atoi(q["heartbeat"].c_str());
  c->next_heartbeat_ms = SteadyNowMs() + c->heartbeat_s * 1000;
  if (!SendAll(
          c,
          "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nVary: Accept-Encoding\r\n\r\n")) {
    return;
  }
  if (!error.empty()) {
    SendEvent(c, 0, "error", error);
    CloseConn(c);
    return;
  }
  c->last_data = data_[route];
  SendEvent(c, 1, "init", c->last_data);
}

bool FakeLainlet::SendAll(Conn* c, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(c->fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      CloseConn(c);
      return false;
    }
    off += n;
  }
  return true;
}

void FakeLainlet::SendEvent(Conn* c, uint64_t id, const std::string& name,
                            const std::string& data) {
  // api/event.go generateMessage: one data line per '\n'-separated line, none if empty.
  std::string msg = "id: " + std::to_string(id) + "\n";
  if (!name.empty()) msg += "event: " + name + "\n";
  size_t pos = 0;
  while (!data.empty() && pos <= data.size()) {
    size_t nl = data.find('\n', pos);
    msg +=
        "data: " + data.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos) + "\n";
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  msg += "\n";
  SendAll(c, msg);
}

void FakeLainlet::Broadcast(const std::string& route, const std::string& action) {
  for (auto& c : conns_) {
    if (c->fd < 0 || !c->watch || c->route != route || stalled_) continue;
    if (c->last_data == data_[route]) continue;  // Only changed data is sent.
    c->last_data = data_[route];
    SendEvent(c.get(), c->counter, action, c->last_data);
    if (c->fd >= 0) ++c->counter;  // Advances only when the send succeeded.
  }
}

void FakeLainlet::SetProcs(std::string body) {
  std::lock_guard<std::mutex> lock(mu_);
  data_["procwatcher"] = std::move(body);
  Broadcast("procwatcher", "update");
}

void FakeLainlet::DeleteProcs(std::string body) {
  std::lock_guard<std::mutex> lock(mu_);
  data_["procwatcher"] = std::move(body);
  Broadcast("procwatcher", "delete");
}

void FakeLainlet::SetProcsSilently(std::string body) {
  std::lock_guard<std::mutex> lock(mu_);
  data_["procwatcher"] = std::move(body);
}

void FakeLainlet::SetCoreinfo(std::string body) {
  std::lock_guard<std::mutex> lock(mu_);
  data_["coreinfowatcher"] = std::move(body);
  Broadcast("coreinfowatcher", "update");
}

void FakeLainlet::SendError(const std::string& text) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : conns_) {
    if (c->fd < 0 || !c->watch) continue;
    SendEvent(c.get(), 0, "error", text);
    CloseConn(c.get());
  }
}

void FakeLainlet::StallHeartbeats(bool stall) {
  std::lock_guard<std::mutex> lock(mu_);
  stalled_ = stall;
}

void FakeLainlet::DropConnections() {
  std::lock_guard<std::mutex> lock(mu_);
  CloseAll();
}

void FakeLainlet::RefuseWith(std::string text) {
  std::lock_guard<std::mutex> lock(mu_);
  refusal_ = std::move(text);
}

void FakeLainlet::ClearRefusal() {
  std::lock_guard<std::mutex> lock(mu_);
  refusal_.clear();
}

void FakeLainlet::FailWith(int status, std::string body) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_status_ = status;
  fail_body_ = std::move(body);
  for (auto& c : conns_) {
    if (c->watch) CloseConn(c.get());
  }
}

void FakeLainlet::ClearFailure() {
  std::lock_guard<std::mutex> lock(mu_);
  fail_status_ = 0;
  fail_body_.clear();
}

int FakeLainlet::open_watches() const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& c : conns_) n += c->fd >= 0 && c->watch;
  return n;
}

std::vector<std::string> FakeLainlet::request_lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return request_lines_;
}

void FakeLainlet::CloseConn(Conn* c) {
  if (c->fd < 0) return;
  ::shutdown(c->fd, SHUT_RDWR);
  ::close(c->fd);
  c->fd = -1;
}

void FakeLainlet::CloseAll() {
  for (auto& c : conns_) CloseConn(c.get());
  conns_.clear();
}

std::string PodJson(uint32_t instance, const std::string& ip, int port, const std::string& proc) {
  return "{\"InstanceNo\":" + std::to_string(instance) + ",\"IP\":\"" + ip +
         "\",\"Port\":" + std::to_string(port) + ",\"ProcName\":\"" + proc + "\"}";
}

std::string ProcwatcherBody(const std::vector<std::vector<std::string>>& groups) {
  std::string out = "[";
  for (size_t g = 0; g < groups.size(); ++g) {
    out += g ? ",{\"proc\":[" : "{\"proc\":[";
    for (size_t i = 0; i < groups[g].size(); ++i) out += (i ? "," : "") + groups[g][i];
    out += "]}";
  }
  return out + "]";
}

}  // namespace rs::test
