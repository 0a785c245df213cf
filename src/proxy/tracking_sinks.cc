// REDIRECT's sinks (tracking_client.h): per tracking client and master, a RESP3 stream connection
// whose node-side id the client's tracking session there redirects to; what arrives on it goes to
// the redirect target (Worker::ForwardInvalidation). CLIENT TRACKING on REDIRECT is answered once
// every master's sink has its id. Also ClientTracking's own lookups.
#include <spdlog/spdlog.h>

#include "common/resp_parser.h"
#include "proxy/tracking_client.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

constexpr std::string_view kClientIdCommand = "*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n";

}  // namespace

// ---- ClientTracking ----

void ClientTracking::OnStreamReply(Backend* b, std::string_view reply,
                                   const resp::ReplyInfo& info) {
  worker_->OnTrackingSinkReply(client_, b, reply, info);
}

void ClientTracking::OnStreamLost(Backend* b, const std::string&) {
  worker_->OnTrackingSinkLost(client_, b);
}

TrackingLink* ClientTracking::LinkFor(std::string_view address) {
  for (TrackingLink& l : links) {
    if (l.address == address) return &l;
  }
  return nullptr;
}

TrackingLink* ClientTracking::LinkOf(const Backend* session) {
  for (TrackingLink& l : links) {
    if (l.session == session) return &l;
  }
  return nullptr;
}

TrackingSink* ClientTracking::SinkFor(std::string_view address) {
  for (TrackingSink& s : sinks) {
    if (s.address == address) return &s;
  }
  return nullptr;
}

TrackingSink* ClientTracking::SinkOf(const Backend* b) {
  for (TrackingSink& s : sinks) {
    if (s.backend.get() == b) return &s;
  }
  return nullptr;
}

// ---- REDIRECT's sinks ----

bool Worker::SinksReady(Client* c) {
  if (!table_) return true;
  ClientTracking& t = *c->tracking;
  for (const std::string& m : table_->masters) {
    const TrackingSink* s = t.SinkFor(m);
    if (s == nullptr || (!s->failed && s->node_id == 0)) return false;
  }
  return true;
}

void Worker::StartSinks(Client* c) {
  if (!table_) return;
  ClientTracking& t = *c->tracking;
  const uint64_t now = now_ms();
  const auto retry_ms = static_cast<uint64_t>(config().reconnect_interval_ms);
  std::vector<size_t> fresh;
  for (const std::string& m : table_->masters) {
    TrackingSink* s = t.SinkFor(m);
    if (s != nullptr && (!s->failed || now - s->failed_ms < retry_ms)) continue;
    if (s == nullptr) {
      t.sinks.emplace_back();
      s = &t.sinks.back();
      s->address = m;
    }
    BackendOptions options;
    options.kind = BackendKind::kStream;
    options.resp = 3;  // invalidations come as pushes
    s->backend = std::make_unique<Backend>(this, m, options);
    s->backend->sink = &t;
    s->node_id = 0;
    s->failed = false;
    fresh.push_back(static_cast<size_t>(s - t.sinks.data()));
  }
  // (SendRaw may report a failure at once, which retires the backend: not while looking above.)
  for (size_t i : fresh) {
    if (i < t.sinks.size() && t.sinks[i].backend) t.sinks[i].backend->SendRaw(kClientIdCommand);
  }
}

void Worker::RetireSink(TrackingSink* sink) {
  if (!sink->backend) return;
  sink->backend->sink = nullptr;
  sink->backend->Retire();
  retired_streams_.push_back(std::move(sink->backend));
  retired_pending_ = true;
}

void Worker::OnTrackingSinkReply(Client* c, Backend* b, std::string_view reply,
                                 const resp::ReplyInfo& info) {
  if (!c->tracking || c->closing) return;
  ClientTracking& t = *c->tracking;
  TrackingSink* s = t.SinkOf(b);
  if (s == nullptr) return;
  if (s->node_id == 0) {
    int64_t id = 0;
    if (info.type != resp::ReplyType::kInteger || !resp::ParseRedisInt(info.line, &id) || id <= 0) {
      spdlog::warn("client {}: tracking sink to {}: unexpected CLIENT ID reply {}", c->id,
                   b->address(), reply.substr(0, 64));
      OnTrackingSinkLost(c, b);
      return;
    }
    s->node_id = id;
    MaybeFinishWaiting(c);
    return;
  }
  TrackingPush push;
  if (!ParseTrackingPush(reply, &push) || push.kind != TrackingPushKind::kInvalidate) {
    spdlog::debug("client {}: tracking sink to {}: dropped {}", c->id, b->address(),
                  reply.substr(0, 64));
    return;
  }
  ForwardInvalidation(c, push);
}

void Worker::OnTrackingSinkLost(Client* c, Backend* b) {
  if (!c->tracking) return;
  ClientTracking& t = *c->tracking;
  TrackingSink* s = t.SinkOf(b);
  if (s == nullptr) return;
  spdlog::debug("client {}: tracking sink to {} lost", c->id, b->address());
  const std::string address = s->address;
  RetireSink(s);
  s->node_id = 0;
  s->failed = true;
  s->failed_ms = now_ms();
  // The session there redirects to an id the node no longer has: it goes too.
  if (TrackingLink* l = t.LinkFor(address)) sessions_.Release(l->session, false);
  MaybeFinishWaiting(c);
}

void Worker::MaybeFinishWaiting(Client* c) {
  ClientTracking& t = *c->tracking;
  if (t.waiting == nullptr || !SinksReady(c)) return;
  PendingReply* p = t.waiting;
  t.waiting = nullptr;
  TrackingCommand cmd = std::move(t.waiting_cmd);
  EnableTracking(c, cmd);
  c->Complete(p, "+OK\r\n");
}

}  // namespace rs::proxy
