#include "proxy/backend.h"

#include <netdb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "common/address.h"
#include "common/resp_writer.h"
#include "proxy/proxy_errors.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

struct ConnectReq {
  uv_connect_t req;
  Backend* backend;  // nullptr once the backend gave up on this attempt
};

constexpr std::string_view kAskingCommand = "*1\r\n$6\r\nASKING\r\n";

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

Backend::Backend(Worker* worker, std::string address, BackendOptions options)
    : worker_(worker), address_(std::move(address)), options_(options) {}

Backend::~Backend() { Close(); }

void Backend::Send(Op&& op) {
  std::string command = std::move(op.command);
  Send(std::move(op), command);
}

bool Backend::down() const {
  return state_ == State::kDisconnected && worker_->now_ms() < down_until_ms_;
}

void Backend::Send(Op&& op, std::string_view command) {
  if (state_ == State::kDisconnected) {
    if (worker_->now_ms() < down_until_ms_) {
      worker_->OnOpLost(op, address_, errors::BackendUnavailable(address_, last_error_, true),
                        false);
      return;
    }
    Connect();
    if (state_ == State::kDisconnected) {
      worker_->OnOpLost(op, address_, errors::BackendUnavailable(address_, last_error_, false),
                        false);
      return;
    }
  }
  op.queued_ms = worker_->now_ms();
  if (op.client) ++op.client->inflight;
  if (op.asking) AppendInternal(kAskingCommand);
  Append(std::move(op), command);
  if (!dirty_ && state_ == State::kConnected) {
    dirty_ = true;
    worker_->MarkDirty(this);
  }
}

void Backend::SendRaw(std::string_view command) {
  if (state_ == State::kDisconnected) {
    if (worker_->now_ms() >= down_until_ms_) Connect();
    if (state_ == State::kDisconnected) {
      if (sink != nullptr) sink->OnStreamLost(this, last_error_);
      return;
    }
  }
  sendlog_.Append(command);
  if (!dirty_ && state_ == State::kConnected) {
    dirty_ = true;
    worker_->MarkDirty(this);
  }
}

void Backend::SendInternal(std::string_view command, bool asking) {
  Op op;
  op.role = OpRole::kInternal;
  op.asking = asking;
  Send(std::move(op), command);
}

void Backend::AppendInternal(std::string_view command) {
  Op internal;
  internal.role = OpRole::kInternal;
  internal.queued_ms = worker_->now_ms();
  Append(std::move(internal), command);
}

std::vector<Op> Backend::TakeOps() {
  std::vector<Op> taken;
  size_t offset = 0;
  std::string_view log = sendlog_.view();
  for (size_t i = 0; i < ops_.size(); ++i) {
    Op& op = ops_[i];
    if (op.client != nullptr) {
      op.command.assign(log.substr(offset, op.len));
      --op.client->inflight;
      taken.push_back(std::move(op));
    }
    offset += op.len;
  }
  Ring<Op> empty;
  empty.swap(ops_);
  unwritten_ = 0;
  return taken;
}

bool Backend::HasClientOps() const {
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (ops_[i].client != nullptr) return true;
  }
  return false;
}

bool Backend::HasOp(const PendingReply* p, int32_t part) const {
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (ops_[i].client != nullptr && ops_[i].pending == p && ops_[i].part == part) return true;
  }
  return false;
}

bool Backend::DetachOp(const PendingReply* p, int32_t part) {
  for (size_t i = 0; i < ops_.size(); ++i) {
    Op& op = ops_[i];
    if (op.client == nullptr || op.pending != p || op.part != part) continue;
    --op.client->inflight;
    op.client = nullptr;
    op.pending = nullptr;
    op.role = OpRole::kInternal;
    return true;
  }
  return false;
}

PendingReply* Backend::OldestPendingOf(const Client* c) const {
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (ops_[i].client == c) return ops_[i].pending;
  }
  return nullptr;
}

void Backend::Append(Op&& op, std::string_view command) {
  sendlog_.Append(command);
  op.len = static_cast<uint32_t>(command.size());
  ops_.push_back(std::move(op));
  ++unwritten_;
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
  // The connection's setup goes first (a connect starts from an empty queue: Close emptied it):
  // HELLO 3 (which authenticates too) or AUTH, then READONLY.
  const ProxyConfig& cfg = worker_->config();
  std::string command;
  if (options_.resp == 3) {
    if (cfg.backend_password.empty()) {
      resp::AppendCommand(&command, {"HELLO", "3"});
    } else {
      resp::AppendCommand(&command,
                          {"HELLO", "3", "AUTH",
                           cfg.backend_user.empty() ? "default" : cfg.backend_user,
                           cfg.backend_password});
    }
  } else if (!cfg.backend_password.empty()) {
    if (cfg.backend_user.empty()) {
      resp::AppendCommand(&command, {"AUTH", cfg.backend_password});
    } else {
      resp::AppendCommand(&command, {"AUTH", cfg.backend_user, cfg.backend_password});
    }
  }
  if (!command.empty()) AppendInternal(command);
  if (options_.readonly) AppendInternal("*1\r\n$8\r\nREADONLY\r\n");
}

void Backend::OnConnect(int status) {
  if (state_ != State::kConnecting) return;
  if (status != 0) {
    Fail(std::string("connect: ") + uv_strerror(status));
    worker_->ReportBackendFailure(address_);
    return;
  }
  state_ = State::kConnected;
  spdlog::debug("worker backend {} connected", address_);
  uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_), AllocCb, ReadCb);
  if (sendlog_.size() > written_ && !dirty_) {
    dirty_ = true;
    worker_->MarkDirty(this);
  }
}

void Backend::Flush() {
  dirty_ = false;
  if (state_ != State::kConnected || sendlog_.size() == written_) return;
  uint64_t now = worker_->batch_ns();
  for (size_t i = ops_.size() - unwritten_; i < ops_.size(); ++i) ops_[i].sent_ns = now;
  unwritten_ = 0;
  // One write of everything queued since the last flush; what the kernel does not take is copied
  // into a uv_write request (which also keeps later writes in order: while it is pending,
  // uv_try_write takes nothing).
  std::string_view data = sendlog_.view().substr(written_);
  written_ = sendlog_.size();
  bytes_handed_ += data.size();
  // A stream connection's setup commands have replies it matches; the rest are dropped once
  // written (what the kernel does not take is copied below).
  const bool drop_written = options_.kind == BackendKind::kStream && ops_.empty();
  auto* stream = reinterpret_cast<uv_stream_t*>(tcp_);
  uv_buf_t buf = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
  int rc = uv_try_write(stream, &buf, 1);
  if (rc < 0 && rc != UV_EAGAIN) {
    Fail(std::string("write: ") + uv_strerror(rc));
    return;
  }
  size_t done = rc > 0 ? static_cast<size_t>(rc) : 0;
  if (done == data.size()) {
    if (drop_written) {
      sendlog_.Consume(sendlog_.size());
      written_ = 0;
    }
    return;
  }
  auto* w = new WriteReq;
  w->data.assign(data.substr(done));
  uv_buf_t b = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  w->req.data = this;
  rc = uv_write(&w->req, stream, &b, 1, [](uv_write_t* r, int status) {
    auto* wr = reinterpret_cast<WriteReq*>(r);
    delete wr;
    (void)status;  // a failed write also fails the read side, which fails the ops
  });
  if (rc != 0) {
    delete w;
    Fail(std::string("write: ") + uv_strerror(rc));
    return;
  }
  if (drop_written) {
    sendlog_.Consume(sendlog_.size());
    written_ = 0;
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
    worker_->ReportBackendFailure(address_);
    return;
  }
  rbuf_.Commit(static_cast<size_t>(nread));
  bytes_read_ += static_cast<uint64_t>(nread);
  worker_->StampBatch();
  ConsumeReplies();
}

void Backend::ConsumeReplies() {
  uint64_t now = worker_->batch_ns();
  // A reply may make the worker retire or close this backend (a session returned, a transaction
  // replayed elsewhere): it never deletes it here, but reading stops at once.
  const uint64_t generation = generation_;
  while (!rbuf_.empty() && !retiring_ && generation == generation_) {
    std::string_view data = rbuf_.view();
    size_t len = 0;
    resp::ReplyInfo info;
    resp::ScanStatus st = scanner_.Scan(data, &len, &info);
    if (st == resp::ScanStatus::kNeedMore) break;
    if (st == resp::ScanStatus::kError) {
      Fail(std::string("bad reply: ") + scanner_.error());
      return;
    }
    std::string_view reply = data.substr(0, len);
    if (info.type == resp::ReplyType::kPush && options_.kind == BackendKind::kSession) {
      // Out-of-band data (a tracking invalidation): no request the proxy sends over a session
      // connection is answered with a push.
      worker_->OnSessionPush(this, reply);
      if (generation == generation_) rbuf_.Consume(len);
      continue;
    }
    if (ops_.empty() || ops_.size() == unwritten_) {
      if (options_.kind != BackendKind::kStream || sink == nullptr) {
        Fail("reply without a request");
        return;
      }
      ++replies_;
      sink->OnStreamReply(this, reply, info);
      if (generation == generation_) rbuf_.Consume(len);
      continue;
    }
    Op op = std::move(ops_.front());
    ops_.pop_front();
    std::string_view command = sendlog_.view().substr(0, op.len);
    ++replies_;
    if (op.sent_ns && now > op.sent_ns) latency_us_total_ += (now - op.sent_ns) / 1000;
    bool is_error = info.type == resp::ReplyType::kError;
    // A redirect or retry sends the request again, and a slow request's log line shows it: only
    // then does the op need its own copy of the bytes (not for every request the slowlog times).
    if (op.client != nullptr && (is_error || worker_->SlowRequestUs(op) > 0)) {
      op.command.assign(command);
    }
    sendlog_.Consume(op.len);
    written_ -= op.len;
    if (op.client == nullptr) {
      if (is_error) spdlog::warn("backend {}: {}", address_, info.line);
    } else {
      --op.client->inflight;
      worker_->OnReply(op, reply, is_error, info.line, this);
    }
    if (generation == generation_) rbuf_.Consume(len);
  }
}

void Backend::CheckTimeouts(uint64_t now_ms, bool loop_stalled) {
  if (ops_.empty()) return;
  // The proxy's own loop was busy (a 100 MB request copied in one turn): the node had no chance
  // to answer, and requests queued in that turn carry its stale start time.
  if (loop_stalled) progress_ms_ = now_ms;
  // The clock runs from the oldest request or the last progress, whichever is later: a reply
  // still streaming in, or a request still draining into the socket, is a live node. Progress is
  // sampled here (bytes read plus bytes the socket took) rather than stamped where it happens, so
  // a loop turn that was busy for long still counts what moved during it.
  uint64_t moved = bytes_read_ + bytes_handed_;
  if (state_ == State::kConnected) {
    moved -= uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(tcp_));
  }
  if (moved != checked_moved_) {
    checked_moved_ = moved;
    progress_ms_ = now_ms;
  }
  uint64_t limit = static_cast<uint64_t>(worker_->config().backend_timeout_ms);
  const Op& oldest = ops_.front();
  if (oldest.role == OpRole::kBlocking || oldest.role == OpRole::kWait) {
    // It waits by design: only past its own timeout (plus the usual grace) is the node silent.
    if (oldest.deadline_ms == 0 || now_ms < oldest.deadline_ms + limit) return;
    Fail("no reply " + std::to_string(limit) + " ms after a blocking command's timeout");
    worker_->ReportBackendFailure(address_);
    return;
  }
  if (now_ms - std::max(oldest.queued_ms, progress_ms_) <= limit) {
    probe_sent_ms_ = 0;
    return;
  }
  if (options_.kind == BackendKind::kStream) {
    Fail("timed out after " + std::to_string(limit) + " ms");
    return;
  }
  // Silent for --backend-timeout: a slow command, or a dead node? Ask on another connection.
  if (probe_sent_ms_ == 0) {
    if (!probe_) {
      BackendOptions options;
      options.kind = BackendKind::kStream;
      probe_ = std::make_unique<Backend>(worker_, address_, options);
      probe_->sink = this;
    }
    probe_failed_ = false;
    probe_sent_ms_ = now_ms;
    probe_->SendRaw("*1\r\n$4\r\nPING\r\n");
    return;
  }
  if (!probe_failed_ && probe_answered_ms_ >= probe_sent_ms_) {
    // Alive, just busy (a long script, a big command): wait on, and ask again later.
    spdlog::debug("backend {}: no reply for {} ms but the node answers: busy", address_,
                  now_ms - std::max(oldest.queued_ms, progress_ms_));
    progress_ms_ = now_ms;
    probe_sent_ms_ = 0;
    return;
  }
  if (probe_failed_ || now_ms - probe_sent_ms_ > limit) {
    probe_sent_ms_ = 0;
    spdlog::debug("backend {}: no answer to a PING on another connection either", address_);
    Fail("timed out after " + std::to_string(limit) + " ms");
    worker_->ReportBackendFailure(address_);
  }
}

void Backend::OnStreamReply(Backend*, std::string_view, const resp::ReplyInfo&) {
  probe_answered_ms_ = worker_->now_ms();
}

void Backend::OnStreamLost(Backend*, const std::string&) { probe_failed_ = true; }

void Backend::Fail(const std::string& why) {
  bool was_connected = state_ == State::kConnected;
  last_error_ = why;
  if ((was_connected || state_ == State::kConnecting) && options_.kind == BackendKind::kShared) {
    spdlog::warn("backend {}: {}; {} requests fail", address_, why, ops_.size());
  } else if (was_connected || state_ == State::kConnecting) {
    spdlog::debug("backend {} ({}): {}", address_,
                  options_.kind == BackendKind::kSession ? "session" : "stream", why);
  }
  Close();
  down_until_ms_ = worker_->now_ms() + worker_->config().reconnect_interval_ms;
  if (options_.kind == BackendKind::kSession) {
    worker_->OnSessionLost(this, why);
  } else if (options_.kind == BackendKind::kStream && sink != nullptr) {
    sink->OnStreamLost(this, why);
  }
}

void Backend::Retire() {
  retiring_ = true;
  if (tcp_ != nullptr && state_ == State::kConnected) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
  }
}

void Backend::Close() {
  ++generation_;
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
  sendlog_.Consume(sendlog_.size());
  sendlog_.ReleaseIfEmpty();
  written_ = 0;
  Ring<Op> failed;
  failed.swap(ops_);
  const size_t unwritten = unwritten_;
  unwritten_ = 0;
  if (failed.empty()) return;
  // The ops before `unwritten` were handed to the socket: the node may have run them.
  const size_t sent = failed.size() - unwritten;
  std::string may_have_run, not_sent;
  for (size_t i = 0; i < failed.size(); ++i) {
    Op& op = failed[i];
    if (op.client == nullptr) continue;
    --op.client->inflight;
    std::string& text = i < sent ? may_have_run : not_sent;
    if (text.empty()) text = errors::BackendLost(address_, last_error_, i < sent);
    worker_->OnOpLost(op, address_, text, i < sent);
  }
}

}  // namespace rs::proxy
