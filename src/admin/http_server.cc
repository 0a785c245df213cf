#include "admin/http_server.h"

#include <netdb.h>
#include <sys/socket.h>

#include <cstring>
#include <future>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace rs::admin {

constexpr int kBacklog = 4096;
constexpr uint64_t kSweepMs = 100;

struct HttpServer::Conn {
  uv_tcp_t tcp;
  HttpServer* server = nullptr;
  uint64_t id = 0;
  std::string in;  // Read and not yet parsed.
  HttpRequestParser parser;
  RequestId pending = 0;   // The request being answered; 0: none.
  bool keep_alive = true;  // Of the pending request.
  bool head = false;       // The pending request is a HEAD.
  bool idle = false;       // Between requests: the deadline is the idle timeout.
  bool closing = false;
  bool close_after_write = false;
  bool in_process = false;
  bool continue_sent = false;  // "100 Continue" was sent for the request being read.
  bool reading = false;
  int writes = 0;
  uint64_t writing_since_ms = 0;  // When `writes` last went from 0 to 1.
  uint64_t deadline_ms = 0;       // 0: none (a request is being answered).
};

struct HttpServer::WriteReq {
  uv_write_t req;
  std::string data;
  Conn* conn;
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() { Stop(); }

uint64_t HttpServer::NowMs() const { return uv_now(const_cast<uv_loop_t*>(&loop_)); }

Status HttpServer::Start() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(options_.port);
  if (int rc = getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Status::InvalidArgument(
        fmt::format("cannot listen on {}: {}", options_.host, gai_strerror(rc)));
  }
  uv_loop_init(&loop_);
  loop_initialized_ = true;
  uv_tcp_init(&loop_, &listener_);
  listener_.data = this;
  int rc = uv_tcp_bind(&listener_, res->ai_addr, 0);
  freeaddrinfo(res);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), kBacklog, OnConnection);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    loop_initialized_ = false;
    return Status::Unavailable(
        fmt::format("cannot listen on {}:{}: {}", options_.host, options_.port, uv_strerror(rc)));
  }
  sockaddr_storage bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  uv_async_init(&loop_, &async_, OnAsync);
  async_.data = this;
  uv_timer_init(&loop_, &sweep_);
  sweep_.data = this;
  uv_timer_start(&sweep_, OnSweep, kSweepMs, kSweepMs);
  uv_timer_init(&loop_, &stop_timer_);
  stop_timer_.data = this;
  {
    std::lock_guard lock(mu_);
    async_open_ = true;
  }
  std::promise<void> started;
  auto started_future = started.get_future();
  thread_ = std::thread([this, &started] {
    loop_thread_id_ = std::this_thread::get_id();
    started.set_value();
    uv_run(&loop_, UV_RUN_DEFAULT);
  });
  started_future.wait();
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_requested_ = true;
    if (async_open_) uv_async_send(&async_);
  }
  thread_.join();
  // Handles closed by the loop before it returned; anything left is closed here.
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
  loop_initialized_ = false;
}

void HttpServer::Reply(RequestId id, HttpResponse response) {
  if (OnLoop()) {
    SendReply(id, response);
    return;
  }
  std::lock_guard lock(mu_);
  if (!async_open_) return;
  replies_.emplace_back(id, std::move(response));
  uv_async_send(&async_);
}

void HttpServer::Post(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  if (!async_open_) return;
  posted_.push_back(std::move(fn));
  uv_async_send(&async_);
}

void HttpServer::OnAsync(uv_async_t* handle) {
  auto* self = static_cast<HttpServer*>(handle->data);
  std::vector<std::pair<RequestId, HttpResponse>> replies;
  std::vector<std::function<void()>> posted;
  bool stop = false;
  {
    std::lock_guard lock(self->mu_);
    replies.swap(self->replies_);
    posted.swap(self->posted_);
    stop = self->stop_requested_;
  }
  for (auto& fn : posted) fn();
  for (auto& [id, response] : replies) self->SendReply(id, response);
  if (stop && !self->stopping_) self->BeginStop();
}

void HttpServer::OnConnection(uv_stream_t* listener, int status) {
  auto* self = static_cast<HttpServer*>(listener->data);
  if (status < 0) {
    spdlog::warn("admin http: accept: {}", uv_strerror(status));
    return;
  }
  auto* c = new Conn;
  c->server = self;
  uv_tcp_init(&self->loop_, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp),
             [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
    return;
  }
  if (self->stopping_ || self->conns_.size() >= self->options_.max_connections) {
    const uint64_t now = self->NowMs();
    if (!self->stopping_ && now - self->last_full_warning_ms_ >= 10000) {
      self->last_full_warning_ms_ = now;
      spdlog::warn("admin http: {} connections open, the limit: new ones are closed",
                   self->conns_.size());
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp),
             [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
    return;
  }
  c->id = self->next_conn_id_++;
  c->parser = HttpRequestParser(self->options_.limits);
  c->deadline_ms = self->NowMs() + self->options_.header_timeout.count();
  self->conns_.emplace(c->id, c);
  self->connection_count_ = self->conns_.size();
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), OnAlloc, OnRead);
  c->reading = true;
}

void HttpServer::OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  // One buffer for the loop: OnRead copies what it keeps before the next read.
  auto* self = static_cast<Conn*>(handle->data)->server;
  *buf = uv_buf_init(self->read_buffer_, sizeof(self->read_buffer_));
}

void HttpServer::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<Conn*>(stream->data);
  HttpServer* self = c->server;
  if (nread < 0) {
    // EOF or an error: a request still being answered is abandoned.
    self->Close(c);
    return;
  }
  if (nread == 0 || c->close_after_write) return;
  if (c->idle) {
    c->idle = false;
    c->deadline_ms = self->NowMs() + self->options_.header_timeout.count();
  }
  c->in.append(buf->base, static_cast<size_t>(nread));
  if (c->pending != 0) {
    // Pipelined requests wait for the answer; a client that keeps sending meanwhile is paused.
    const HttpLimits& limits = self->options_.limits;
    if (c->in.size() > limits.max_header_bytes + limits.max_body_bytes) {
      uv_read_stop(stream);
      c->reading = false;
    }
    return;
  }
  self->Process(c);
}

void HttpServer::Process(Conn* c) {
  c->in_process = true;
  while (!c->closing && !c->close_after_write && c->pending == 0 && !c->in.empty()) {
    HttpRequest req;
    size_t consumed = 0;
    auto r = c->parser.Parse(c->in, &consumed, &req);
    if (r == HttpRequestParser::Result::kNeedMore) {
      if (c->parser.wants_continue() && !c->continue_sent) {
        c->continue_sent = true;
        Write(c, "HTTP/1.1 100 Continue\r\n\r\n");
      }
      if (c->deadline_ms == 0 || c->idle) {
        c->idle = false;
        c->deadline_ms = NowMs() + options_.header_timeout.count();
      }
      break;
    }
    if (r == HttpRequestParser::Result::kError) {
      Send(c, HttpResponse::Text(c->parser.error_status(), c->parser.error_message() + "\n"), false,
           false);
      c->in.clear();
      break;
    }
    c->in.erase(0, consumed);
    c->parser.Reset();
    c->continue_sent = false;
    c->pending = next_request_id_++;
    c->keep_alive = req.keep_alive && !stopping_;
    c->head = req.method == "HEAD";
    c->deadline_ms = 0;
    pending_.emplace(c->pending, c);
    handler_(c->pending, std::move(req));
  }
  c->in_process = false;
  if (!c->closing && !c->reading && c->pending == 0) {
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), OnAlloc, OnRead);
    c->reading = true;
  }
}

void HttpServer::SendReply(RequestId id, const HttpResponse& response) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;  // The connection closed meanwhile.
  Conn* c = it->second;
  pending_.erase(it);
  c->pending = 0;
  const bool keep_alive = c->keep_alive && !stopping_;
  Send(c, response, keep_alive, c->head);
  if (c->closing || c->close_after_write) return;
  if (c->in.empty()) {
    c->idle = true;
    c->deadline_ms = NowMs() + options_.idle_timeout.count();
  }
  if (!c->in_process) Process(c);
}

void HttpServer::Send(Conn* c, const HttpResponse& response, bool keep_alive, bool head) {
  if (c->closing) return;
  if (!keep_alive) c->close_after_write = true;
  Write(c, SerializeResponse(response, keep_alive, head));
}

void HttpServer::Write(Conn* c, std::string data) {
  if (c->closing) return;
  auto* w = new WriteReq;
  w->data = std::move(data);
  w->conn = c;
  w->req.data = w;
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  if (c->writes++ == 0) c->writing_since_ms = NowMs();
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c->tcp), &buf, 1, OnWrite);
  if (rc != 0) {
    --c->writes;
    delete w;
    Close(c);
  }
}

void HttpServer::OnWrite(uv_write_t* req, int status) {
  auto* w = static_cast<WriteReq*>(req->data);
  Conn* c = w->conn;
  delete w;
  --c->writes;
  if (status < 0 || (c->close_after_write && c->writes == 0)) c->server->Close(c);
}

void HttpServer::Close(Conn* c) {
  if (c->closing) return;
  c->closing = true;
  conns_.erase(c->id);
  connection_count_ = conns_.size();
  if (c->pending != 0) {
    pending_.erase(c->pending);
    RequestId id = c->pending;
    c->pending = 0;
    if (on_abandon_) on_abandon_(id);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), OnClosed);
}

void HttpServer::OnClosed(uv_handle_t* handle) {
  auto* c = static_cast<Conn*>(handle->data);
  HttpServer* self = c->server;
  delete c;
  if (self->stopping_ && self->conns_.empty()) self->FinishStop();
}

void HttpServer::OnSweep(uv_timer_t* timer) {
  auto* self = static_cast<HttpServer*>(timer->data);
  const uint64_t now = self->NowMs();
  std::vector<Conn*> expired;
  std::vector<Conn*> stuck;
  for (auto& [id, c] : self->conns_) {
    if (c->deadline_ms != 0 && now >= c->deadline_ms && c->writes == 0) expired.push_back(c);
    // A client that does not read its answer holds a socket buffer, not for ever.
    if (c->writes > 0 && now - c->writing_since_ms >=
                             3 * static_cast<uint64_t>(self->options_.header_timeout.count())) {
      stuck.push_back(c);
    }
  }
  for (Conn* c : stuck) self->Close(c);
  for (Conn* c : expired) {
    if (c->idle) {
      self->Close(c);
    } else {
      // A request begun and not finished in time (a slow or half-open client).
      c->deadline_ms = 0;
      self->Send(c,
                 HttpResponse::Text(408, fmt::format("the request was not complete within {} s\n",
                                                     self->options_.header_timeout.count() / 1000)),
                 false, false);
    }
  }
  if (self->on_tick_ && !self->stopping_) self->on_tick_();
}

void HttpServer::BeginStop() {
  stopping_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  if (on_stop_) on_stop_();
  // Connections between requests close now; those being answered close after their answer.
  std::vector<Conn*> idle;
  for (auto& [id, c] : conns_) {
    if (c->pending == 0 && c->writes == 0) idle.push_back(c);
    if (c->writes > 0) c->close_after_write = true;
  }
  for (Conn* c : idle) Close(c);
  uv_timer_start(&stop_timer_, OnStopTimer, options_.stop_grace.count(), 0);
  if (conns_.empty()) FinishStop();
}

void HttpServer::OnStopTimer(uv_timer_t* timer) {
  auto* self = static_cast<HttpServer*>(timer->data);
  std::vector<Conn*> all;
  for (auto& [id, c] : self->conns_) all.push_back(c);
  for (Conn* c : all) self->Close(c);
  self->FinishStop();
}

void HttpServer::FinishStop() {
  if (finished_) return;
  finished_ = true;
  // The remaining connections close on their own; the loop returns when every handle is closed.
  uv_timer_stop(&stop_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&stop_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sweep_), nullptr);
  std::lock_guard lock(mu_);
  async_open_ = false;
  replies_.clear();
  posted_.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

}  // namespace rs::admin
