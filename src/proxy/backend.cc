#include "proxy/backend.h"

#include <netdb.h>
#include <spdlog/spdlog.h>

#include <cstring>

#include "common/address.h"
#include "common/resp_writer.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

struct ConnectReq {
  uv_connect_t req;
  Backend* backend;  // nullptr once the backend gave up on this attempt
};

struct WriteReq {
  uv_write_t req;
  std::string data;
};

bool ResolveAddress(const std::string& address, sockaddr_storage* out) {
  auto parsed = Address::Parse(address);
  if (!parsed.ok()) return false;
  if (uv_ip4_addr(parsed->host.c_str(), parsed->port, reinterpret_cast<sockaddr_in*>(out)) == 0) {
    return true;
  }
  if (uv_ip6_addr(parsed->host.c_str(), parsed->port, reinterpret_cast<sockaddr_in6*>(out)) == 0) {
    return true;
  }
  // A host name: resolved synchronously, once per connect; node addresses are IPs in practice.
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(parsed->host.c_str(), std::to_string(parsed->port).c_str(), &hints, &res) != 0 ||
      res == nullptr) {
    return false;
  }
  std::memcpy(out, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return true;
}

}  // namespace

Backend::Backend(Worker* worker, std::string address)
    : worker_(worker), address_(std::move(address)) {}

Backend::~Backend() { Close(); }

void Backend::Send(Op&& op) {
  if (state_ == State::kDisconnected) {
    if (worker_->now_ms() < down_until_ms_) {
      worker_->FailOp(op, "ERR proxy: backend " + address_ + " is unavailable (" + last_error_ +
                              "), retrying connection shortly");
      return;
    }
    Connect();
    if (state_ == State::kDisconnected) {
      worker_->FailOp(op,
                      "ERR proxy: backend " + address_ + " is unavailable (" + last_error_ + ")");
      return;
    }
  }
  op.queued_ms = worker_->now_ms();
  if (op.client) ++op.client->inflight;
  if (op.asking) {
    Op asking;
    resp::AppendCommand(&asking.command, {"ASKING"});
    asking.queued_ms = op.queued_ms;
    ops_.push_back(std::move(asking));
    ++unwritten_;
  }
  ops_.push_back(std::move(op));
  ++unwritten_;
  if (!dirty_ && state_ == State::kConnected) {
    dirty_ = true;
    worker_->MarkDirty(this);
  }
}

void Backend::Connect() {
  sockaddr_storage addr{};
  if (!ResolveAddress(address_, &addr)) {
    last_error_ = "cannot resolve address";
    down_until_ms_ = worker_->now_ms() + worker_->config().reconnect_interval_ms;
    return;
  }
  tcp_ = new uv_tcp_t;
  uv_tcp_init(worker_->loop(), tcp_);
  tcp_->data = this;
  uv_tcp_nodelay(tcp_, 1);
  auto* req = new ConnectReq{{}, this};
  req->req.data = req;
  int rc = uv_tcp_connect(&req->req, tcp_, reinterpret_cast<const sockaddr*>(&addr),
                          [](uv_connect_t* r, int status) {
                            auto* cr = static_cast<ConnectReq*>(r->data);
                            Backend* b = cr->backend;
                            delete cr;
                            if (b != nullptr && status != UV_ECANCELED) b->OnConnect(status);
                          });
  if (rc != 0) {
    delete req;
    last_error_ = uv_strerror(rc);
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_), [](uv_handle_t* h) { delete h; });
    tcp_ = nullptr;
    down_until_ms_ = worker_->now_ms() + worker_->config().reconnect_interval_ms;
    return;
  }
  state_ = State::kConnecting;
  const ProxyConfig& cfg = worker_->config();
  if (!cfg.backend_password.empty()) {
    // AUTH goes before anything queued; nothing has been written yet while connecting.
    Op auth;
    if (cfg.backend_user.empty()) {
      resp::AppendCommand(&auth.command, {"AUTH", cfg.backend_password});
    } else {
      resp::AppendCommand(&auth.command, {"AUTH", cfg.backend_user, cfg.backend_password});
    }
    auth.queued_ms = worker_->now_ms();
    ops_.push_front(std::move(auth));
    ++unwritten_;
  }
}

void Backend::OnConnect(int status) {
  if (state_ != State::kConnecting) return;
  if (status != 0) {
    Fail(std::string("connect: ") + uv_strerror(status));
    worker_->RequestRefresh();
    return;
  }
  state_ = State::kConnected;
  spdlog::debug("worker backend {} connected", address_);
  uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_), AllocCb, ReadCb);
  if (unwritten_ > 0 && !dirty_) {
    dirty_ = true;
    worker_->MarkDirty(this);
  }
}

void Backend::Flush() {
  dirty_ = false;
  if (state_ != State::kConnected || unwritten_ == 0) return;
  uint64_t now = worker_->batch_ns();
  // Gather the unwritten tail as iovecs and try one writev; what the kernel does not take is
  // copied into a uv_write request (which also keeps later writes in order).
  size_t first = ops_.size() - unwritten_;
  std::vector<uv_buf_t>& bufs = iov_;  // reused: no allocation per flush
  bufs.clear();
  size_t total = 0;
  for (size_t i = first; i < ops_.size(); ++i) {
    Op& op = ops_[i];
    op.sent_ns = now;
    bufs.push_back(uv_buf_init(op.command.data(), static_cast<unsigned>(op.command.size())));
    total += op.command.size();
  }
  unwritten_ = 0;
  auto* stream = reinterpret_cast<uv_stream_t*>(tcp_);
  size_t done = 0;
  // uv_try_write takes at most IOV_MAX buffers at a time.
  size_t idx = 0;
  while (idx < bufs.size()) {
    size_t n = std::min<size_t>(bufs.size() - idx, 512);
    int rc = uv_try_write(stream, &bufs[idx], static_cast<unsigned>(n));
    if (rc < 0) {
      if (rc != UV_EAGAIN) {
        Fail(std::string("write: ") + uv_strerror(rc));
        return;
      }
      break;
    }
    size_t wrote = static_cast<size_t>(rc);
    done += wrote;
    // Advance over fully written buffers; stop at a partial one.
    while (idx < bufs.size() && wrote >= bufs[idx].len) {
      wrote -= bufs[idx].len;
      ++idx;
    }
    if (wrote > 0) {
      bufs[idx].base += wrote;
      bufs[idx].len -= wrote;
      break;
    }
  }
  if (done == total) return;
  auto* w = new WriteReq;
  w->data.reserve(total - done);
  for (size_t i = idx; i < bufs.size(); ++i) w->data.append(bufs[i].base, bufs[i].len);
  uv_buf_t b = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  w->req.data = this;
  int rc = uv_write(&w->req, stream, &b, 1, [](uv_write_t* r, int status) {
    auto* wr = reinterpret_cast<WriteReq*>(r);
    delete wr;
    (void)status;  // a failed write also fails the read side, which fails the ops
  });
  if (rc != 0) {
    delete w;
    Fail(std::string("write: ") + uv_strerror(rc));
  }
}

void Backend::AllocCb(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* b = static_cast<Backend*>(h->data);
  char* p = b->rbuf_.Reserve(64 * 1024);
  *buf = uv_buf_init(p, static_cast<unsigned>(b->rbuf_.spare()));
}

void Backend::ReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  auto* b = static_cast<Backend*>(s->data);
  b->OnRead(nread);
}

void Backend::OnRead(ssize_t nread) {
  if (nread < 0) {
    Fail(nread == UV_EOF ? "connection closed by the node" : uv_strerror(static_cast<int>(nread)));
    worker_->RequestRefresh();
    return;
  }
  rbuf_.Commit(static_cast<size_t>(nread));
  worker_->StampBatch();
  ConsumeReplies();
}

void Backend::ConsumeReplies() {
  uint64_t now = worker_->batch_ns();
  while (!rbuf_.empty()) {
    std::string_view data = rbuf_.view();
    size_t len = 0;
    resp::ReplyInfo info;
    resp::ScanStatus st = scanner_.Scan(data, &len, &info);
    if (st == resp::ScanStatus::kNeedMore) break;
    if (st == resp::ScanStatus::kError || ops_.empty() || ops_.size() == unwritten_) {
      Fail(st == resp::ScanStatus::kError ? std::string("bad reply: ") + scanner_.error()
                                          : "reply without a request");
      return;
    }
    Op op = std::move(ops_.front());
    ops_.pop_front();
    ++replies_;
    if (op.sent_ns && now > op.sent_ns) latency_us_total_ += (now - op.sent_ns) / 1000;
    std::string_view reply = data.substr(0, len);
    bool is_error = info.type == resp::ReplyType::kError;
    if (op.client == nullptr) {
      if (is_error) spdlog::warn("backend {}: {}", address_, info.line);
    } else {
      --op.client->inflight;
      worker_->OnReply(op, reply, is_error, info.line, address_);
    }
    rbuf_.Consume(len);
  }
  rbuf_.ReleaseIfEmpty();
}

void Backend::CheckTimeouts(uint64_t now_ms) {
  if (ops_.empty()) return;
  uint64_t limit = static_cast<uint64_t>(worker_->config().backend_timeout_ms);
  if (now_ms - ops_.front().queued_ms > limit) {
    Fail("timed out after " + std::to_string(limit) + " ms");
    worker_->RequestRefresh();
  }
}

void Backend::Fail(const std::string& why) {
  bool was_connected = state_ == State::kConnected;
  last_error_ = why;
  if (was_connected || state_ == State::kConnecting) {
    spdlog::warn("backend {}: {}; {} requests fail", address_, why, ops_.size());
  }
  Close();
  down_until_ms_ = worker_->now_ms() + worker_->config().reconnect_interval_ms;
}

void Backend::Close() {
  if (tcp_ != nullptr) {
    uv_handle_t* h = reinterpret_cast<uv_handle_t*>(tcp_);
    h->data = nullptr;
    if (!uv_is_closing(h))
      uv_close(h, [](uv_handle_t* hh) { delete reinterpret_cast<uv_tcp_t*>(hh); });
    tcp_ = nullptr;
  }
  // A pending connect request is cancelled by uv_close and its callback sees UV_ECANCELED.
  state_ = State::kDisconnected;
  scanner_.Reset();
  rbuf_.Consume(rbuf_.size());
  rbuf_.ReleaseIfEmpty();
  std::deque<Op> failed;
  failed.swap(ops_);
  unwritten_ = 0;
  std::string text = "ERR proxy: backend " + address_ + " failed: " + last_error_;
  for (Op& op : failed) {
    if (op.client == nullptr) continue;
    --op.client->inflight;
    worker_->FailOp(op, text);
  }
}

}  // namespace rs::proxy
