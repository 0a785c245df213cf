#include "discovery/http_request.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "common/ascii.h"

namespace rs::discovery {
namespace {

// An HTTP head larger than this is not lainlet.
constexpr size_t kMaxHead = 64 * 1024;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Runs `fn` on the next loop iteration.
void Defer(uv_loop_t* loop, std::function<void()> fn) {
  auto* idle = new uv_idle_t;
  idle->data = new std::function<void()>(std::move(fn));
  uv_idle_init(loop, idle);
  uv_idle_start(idle, [](uv_idle_t* i) {
    uv_idle_stop(i);
    auto* f = static_cast<std::function<void()>*>(i->data);
    (*f)();
    delete f;
    uv_close(reinterpret_cast<uv_handle_t*>(i),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
  });
}

}  // namespace

HttpRequest* HttpRequest::Start(uv_loop_t* loop, std::string host, uint16_t port,
                                std::string target, bool http10, HttpCallbacks callbacks) {
  auto* r =
      new HttpRequest(loop, std::move(host), port, std::move(target), http10, std::move(callbacks));
  r->Resolve();
  return r;
}

HttpRequest::HttpRequest(uv_loop_t* loop, std::string host, uint16_t port, std::string target,
                         bool http10, HttpCallbacks callbacks)
    : loop_(loop),
      host_(std::move(host)),
      port_(port),
      target_(std::move(target)),
      http10_(http10),
      cb_(std::move(callbacks)) {
  resolver_.data = this;
  tcp_.data = this;
  connect_.data = this;
  write_.data = this;
}

void HttpRequest::Resolve() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  resolving_ = true;
  int rc = uv_getaddrinfo(
      loop_, &resolver_,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        static_cast<HttpRequest*>(req->data)->OnResolved(status, res);
      },
      host_.c_str(), std::to_string(port_).c_str(), &hints);
  if (rc != 0) {
    resolving_ = false;
    // Report from the loop, not from inside Start: the owner has not stored the pointer yet.
    Status s = Status::Unavailable(fmt::format("resolve {}: {}", host_, uv_strerror(rc)));
    deferred_ = true;
    Defer(loop_, [this, s] {
      deferred_ = false;
      if (done_) {
        Close();  // Cancelled meanwhile.
      } else {
        Finish(s);
      }
    });
  }
}

void HttpRequest::OnResolved(int status, addrinfo* res) {
  resolving_ = false;
  if (done_) {
    if (res) uv_freeaddrinfo(res);
    Close();
    return;
  }
  if (status != 0 || res == nullptr) {
    if (res) uv_freeaddrinfo(res);
    Finish(Status::Unavailable(fmt::format("resolve {}: {}", host_, uv_strerror(status))));
    return;
  }
  uv_tcp_init(loop_, &tcp_);
  tcp_open_ = true;
  int rc = uv_tcp_connect(&connect_, &tcp_, res->ai_addr, [](uv_connect_t* req, int status) {
    static_cast<HttpRequest*>(req->data)->OnConnected(status);
  });
  uv_freeaddrinfo(res);
  if (rc != 0) {
    Finish(Status::Unavailable(fmt::format("connect {}:{}: {}", host_, port_, uv_strerror(rc))));
  }
}

void HttpRequest::OnConnected(int status) {
  if (done_) return;
  if (status != 0) {
    Finish(
        Status::Unavailable(fmt::format("connect {}:{}: {}", host_, port_, uv_strerror(status))));
    return;
  }
  request_ =
      fmt::format("GET {} HTTP/{}\r\nHost: {}:{}\r\nAccept: */*\r\n{}\r\n", target_,
                  http10_ ? "1.0" : "1.1", host_, port_, http10_ ? "" : "Connection: close\r\n");
  uv_buf_t buf = uv_buf_init(request_.data(), static_cast<unsigned>(request_.size()));
  uv_write(&write_, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, [](uv_write_t* req, int st) {
    auto* self = static_cast<HttpRequest*>(req->data);
    if (st != 0 && !self->done_) {
      self->Finish(Status::Unavailable(
          fmt::format("write to {}:{}: {}", self->host_, self->port_, uv_strerror(st))));
    }
  });
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&tcp_),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* self = static_cast<HttpRequest*>(h->data);
        *buf = uv_buf_init(self->read_buf_, sizeof(self->read_buf_));
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        static_cast<HttpRequest*>(s->data)->OnRead(nread, buf);
      });
}

void HttpRequest::OnRead(ssize_t nread, const uv_buf_t* buf) {
  if (done_) return;
  if (nread == UV_EOF) {
    if (!have_headers_) {
      Finish(Status::Unavailable(fmt::format("{}:{} closed before answering", host_, port_)));
    } else if (content_length_ >= 0 && body_seen_ < content_length_) {
      Finish(Status::Unavailable(fmt::format("{}:{} closed after {} of {} body bytes", host_, port_,
                                             body_seen_, content_length_)));
    } else {
      Finish(Status::Ok());
    }
    return;
  }
  if (nread < 0) {
    Finish(
        Status::Unavailable(fmt::format("read from {}:{}: {}", host_, port_, uv_strerror(nread))));
    return;
  }
  if (nread > 0) Consume(std::string_view(buf->base, nread));
}

void HttpRequest::Consume(std::string_view bytes) {
  if (!have_headers_) {
    head_.append(bytes);
    size_t end = head_.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (head_.size() > kMaxHead) Finish(Status::Corruption("HTTP response head too large"));
      return;
    }
    std::string rest = head_.substr(end + 4);
    std::string_view head(head_.data(), end);
    size_t eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    // "HTTP/1.1 200 OK"
    int code = 0;
    size_t sp = status_line.find(' ');
    if (!status_line.starts_with("HTTP/") || sp == std::string_view::npos ||
        std::from_chars(status_line.data() + sp + 1, status_line.data() + status_line.size(), code)
                .ec != std::errc()) {
      Finish(Status::Corruption(fmt::format("bad HTTP status line '{}'", status_line)));
      return;
    }
    std::map<std::string, std::string> headers;
    while (eol != std::string_view::npos) {
      head.remove_prefix(eol + 2);
      eol = head.find("\r\n");
      std::string_view line = head.substr(0, eol);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      headers[AsciiLower(Trim(line.substr(0, colon)))] = std::string(Trim(line.substr(colon + 1)));
    }
    if (auto it = headers.find("transfer-encoding");
        it != headers.end() && it->second != "identity") {
      Finish(Status::Corruption(fmt::format("unsupported Transfer-Encoding '{}'", it->second)));
      return;
    }
    if (auto it = headers.find("content-length"); it != headers.end()) {
      int64_t n = -1;
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
      content_length_ = n;
    }
    have_headers_ = true;
    head_.clear();
    if (cb_.on_headers) cb_.on_headers(code, headers);
    if (done_) return;
    if (content_length_ == 0) {
      Finish(Status::Ok());
      return;
    }
    if (!rest.empty()) Consume(rest);
    return;
  }
  if (content_length_ >= 0) {
    bytes = bytes.substr(0, static_cast<size_t>(content_length_ - body_seen_));
  }
  body_seen_ += bytes.size();
  if (cb_.on_body && !bytes.empty()) cb_.on_body(bytes);
  if (done_) return;
  if (content_length_ >= 0 && body_seen_ >= content_length_) Finish(Status::Ok());
}

void HttpRequest::Finish(Status status) {
  if (done_) return;
  done_ = true;
  auto on_done = std::move(cb_.on_done);
  Close();
  // After Close the object may only be freed from the loop (close callback), so this is safe.
  if (on_done) on_done(std::move(status));
}

void HttpRequest::Cancel() {
  done_ = true;
  if (!deferred_) Close();
}

void HttpRequest::Close() {
  if (closing_) return;
  if (resolving_) {
    uv_cancel(reinterpret_cast<uv_req_t*>(&resolver_));  // OnResolved still runs, then Close.
    return;
  }
  closing_ = true;
  if (tcp_open_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_),
             [](uv_handle_t* h) { delete static_cast<HttpRequest*>(h->data); });
  } else {
    // Nothing registered with the loop: free on the next turn so callers on the stack are safe.
    Defer(loop_, [this] { delete this; });
  }
}

}  // namespace rs::discovery
