#include "proxy/worker.h"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/address.h"
#include "common/redis_errors.h"
#include "common/resp_writer.h"
#include "common/slot.h"
#include "proxy/proxy.h"
#include "proxy/proxy_errors.h"
#include "proxy/pubsub_hub.h"
#include "proxy/tracking_client.h"

namespace rs::proxy {
namespace {

struct ClientWrite {
  uv_write_t req;
  Client* client;
  std::string data;
};

void ClientAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* c = static_cast<Client*>(h->data);
  if (c->in.empty()) {
    // Idle clients own no buffer: read into the worker's, keep only an unfinished tail.
    *buf =
        uv_buf_init(c->worker->read_buffer(), static_cast<unsigned>(c->worker->read_buffer_size()));
  } else {
    char* p = c->in.Reserve(16 * 1024);
    *buf = uv_buf_init(p, static_cast<unsigned>(c->in.spare()));
  }
}

void ClientRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<Client*>(s->data);
  if (nread < 0) {
    c->worker->CloseClient(c, nread == UV_EOF ? nullptr : uv_strerror(static_cast<int>(nread)));
    return;
  }
  if (nread == 0) return;
  if (buf->base == c->worker->read_buffer()) {
    c->worker->ClientReadable(c, buf->base, static_cast<size_t>(nread));
  } else {
    c->in.Commit(static_cast<size_t>(nread));
    c->worker->ClientReadable(c, nullptr, 0);
  }
}

RouterPolicy PolicyOf(const ProxyConfig& cfg) {
  RouterPolicy p;
  p.max_retries = cfg.max_retries;
  p.retry_backoff_ms = cfg.retry_backoff_ms;
  return p;
}

}  // namespace

Worker::Worker(Proxy* proxy, int index)
    : proxy_(proxy),
      index_(index),
      router_(PolicyOf(proxy->config())),
      sessions_(this, proxy->config().max_sessions,
                static_cast<uint64_t>(proxy->config().session_idle_ms)),
      pubsub_(std::make_unique<PubSubHub>(this, &proxy->pubsub)),
      tracking_(std::make_unique<WorkerTracking>()),
      read_buffer_(new char[kReadBufferSize]),
      stats_(CommandTable::Get().size()) {
  uv_loop_init(&loop_);
  if (!ParseReadFrom(proxy->config().read_from, &read_from_)) read_from_ = ReadFrom::kMaster;
}

Worker::~Worker() { uv_loop_close(&loop_); }

const ProxyConfig& Worker::config() const { return proxy_->config(); }

Status Worker::Start(const std::string& host, uint16_t port) {
  sockaddr_storage addr{};
  int rc = uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc != 0) rc = uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr));
  if (rc != 0) return Status::InvalidArgument("listen: bad host " + host);
  // SO_REUSEPORT lets every worker own a listening socket on the same port; the kernel spreads
  // connections across them. libuv 1.44 has no flag for it, so the socket is made here.
  int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  socklen_t len = addr.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    int err = errno;
    close(fd);
    return Status::IoError("bind " + host + ":" + std::to_string(port) + ": " + std::strerror(err));
  }
  uv_tcp_init(&loop_, &listener_);
  listener_.data = this;
  uv_tcp_open(&listener_, fd);
  rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 1024, OnConnection);
  if (rc != 0) return Status::IoError(std::string("listen: ") + uv_strerror(rc));

  uv_async_init(&loop_, &async_, OnAsync);
  async_.data = this;
  uv_check_init(&loop_, &check_);
  check_.data = this;
  uv_check_start(&check_, OnCheck);
  uv_timer_init(&loop_, &timer_);
  timer_.data = this;
  uv_timer_start(&timer_, OnTimer, 100, 100);
  uv_timer_init(&loop_, &retry_timer_);
  retry_timer_.data = this;
  uv_timer_init(&loop_, &info_timer_);
  info_timer_.data = this;
  if (RoutingTablePtr t = proxy_->latest_table()) InstallTable(std::move(t));
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

uint16_t Worker::bound_port() {
  sockaddr_storage ss{};
  int len = sizeof(ss);
  if (uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

void Worker::Run() {
  uv_update_time(&loop_);
  const uint64_t busy_poll_ns = static_cast<uint64_t>(config().busy_poll_usec) * 1000;
  if (busy_poll_ns == 0) {
    uv_run(&loop_, UV_RUN_DEFAULT);
  } else {
    // Busy polling: for a while after the last input, poll without sleeping, so the next request
    // or reply is read without the wake-up latency of a blocked epoll_wait. Costs CPU when the
    // traffic is light; off by default.
    for (;;) {
      if (uv_hrtime() - batch_ns_ < busy_poll_ns) {
        if (uv_run(&loop_, UV_RUN_NOWAIT) == 0) break;
        sched_yield();  // other processes on this core (the nodes, the clients) come first
      } else if (uv_run(&loop_, UV_RUN_ONCE) == 0) {
        break;
      }
    }
  }
  // Clients closed during shutdown that were still on the flush list.
  for (Client* c : dirty_clients_) {
    c->dirty = false;
    MaybeFree(c);
  }
  dirty_clients_.clear();
}

void Worker::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  uv_async_send(&async_);
  thread_.join();
}

void Worker::PostTable(RoutingTablePtr table) {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted_ = std::move(table);
  }
  uv_async_send(&async_);
}

void Worker::OnAsync(uv_async_t* h) {
  auto* w = static_cast<Worker*>(h->data);
  if (w->stopping_) {
    for (Client* c = w->clients_; c != nullptr;) {
      Client* next = c->next;
      w->CloseClient(c, nullptr);
      c = next;
    }
    w->sessions_.Clear();
    w->ShutdownPubSub();
    for (auto& b : w->retired_streams_) b->Close();
    w->retired_streams_.clear();
    for (auto& by_resp : w->backends_) {
      for (auto& map : by_resp) map.clear();  // closes connections; ops fail into closing clients
    }
    w->by_master_[0].clear();
    w->by_master_[1].clear();
    w->dirty_backends_.clear();  // those were just deleted; nothing is flushed after a stop
    uv_close(reinterpret_cast<uv_handle_t*>(&w->listener_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->async_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->check_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->timer_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->retry_timer_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->info_timer_), nullptr);
    w->info_waits_.clear();
    for (Op& op : w->retry_ops_) {
      if (op.client) --op.client->inflight;
    }
    w->retry_ops_.clear();
    return;
  }
  RoutingTablePtr t;
  {
    std::lock_guard<std::mutex> lock(w->posted_mu_);
    t = std::move(w->posted_);
  }
  if (t) w->InstallTable(std::move(t));
}

void Worker::InstallTable(RoutingTablePtr table) {
  // MOVED patches are routine during a reshard: debug level; published tables: info.
  if (table->source == "moved") {
    spdlog::debug("routing table: slot patched after MOVED");
  } else if (index_ == 0 && (!table_ || table_->epoch != table->epoch ||
                             table_->source == "moved" || table->source != table_->source)) {
    spdlog::info("routing table: epoch {} from {}, {} masters, {} slots assigned", table->epoch,
                 table->source, table->masters.size(), table->AssignedSlots());
  }
  table_ = std::move(table);
  for (int r = 0; r < 2; ++r) {
    by_master_[r].clear();
    for (const std::string& m : table_->masters) {
      by_master_[r].push_back(BackendFor(m, static_cast<uint8_t>(r + 2)));
    }
  }
  serves_slots_.assign(table_->masters.size(), false);
  for (int16_t o : table_->owner) {
    if (o >= 0) serves_slots_[static_cast<size_t>(o)] = true;
  }
  PubSubTableChanged();
}

Backend* Worker::BackendFor(const std::string& address, uint8_t resp, bool readonly) {
  auto& map = backends_[resp == 3 ? 1 : 0][readonly ? 1 : 0];
  auto it = map.find(address);
  if (it != map.end()) return it->second.get();
  BackendOptions options;
  options.resp = resp;
  options.readonly = readonly;
  auto b = std::make_unique<Backend>(this, address, options);
  Backend* raw = b.get();
  map.emplace(address, std::move(b));
  return raw;
}

bool Worker::IsMasterConnection(const Backend* b) const {
  for (const auto& list : by_master_) {
    if (std::find(list.begin(), list.end(), b) != list.end()) return true;
  }
  return false;
}

Backend* Worker::Via(Client* c, Backend* b) {
  if (c == nullptr || b == nullptr) return b;
  if (c->session != nullptr && b->address() == c->session->address()) return c->session;
  // A request behind one still running on a session of its own (a script) follows it there.
  for (Backend* t : c->temp_sessions) {
    if (t->inflight() > 0 && t->address() == b->address()) return t;
  }
  if (c->tracking) return TrackingVia(c, b);
  return b;
}

Backend* Worker::BackendForSlot(Client* c, int slot, bool replica_read) {
  if (!table_) return nullptr;
  const int r = c != nullptr && c->resp == 3 ? 1 : 0;
  if (replica_read && (c == nullptr || !c->tracking)) {  // a tracking client reads its masters
    bool is_replica = false;
    const std::string* target =
        Router::Target(*table_, slot, true, read_from_, replica_pick_++, &is_replica);
    if (target == nullptr) return nullptr;
    if (is_replica) return BackendFor(*target, static_cast<uint8_t>(r + 2), true);
  }
  int16_t o = table_->owner[slot];
  return o < 0 ? nullptr : Via(c, by_master_[r][o]);
}

Backend* Worker::AnyMaster(Client* c) {
  if (c != nullptr && c->session != nullptr) return c->session;
  const int r = c != nullptr && c->resp == 3 ? 1 : 0;
  if (by_master_[r].empty()) return nullptr;
  Backend* b = by_master_[r][round_robin_++ % by_master_[r].size()];
  return c != nullptr && c->tracking ? Via(c, b) : b;
}

void Worker::RequestRefresh() { proxy_->RequestRefresh(); }

void Worker::ReportBackendFailure(const std::string& address) {
  proxy_->ReportBackendFailure(address);
}

// ---- clients ----

void Worker::OnConnection(uv_stream_t* server, int status) {
  auto* w = static_cast<Worker*>(server->data);
  if (status < 0) return;
  auto* c = new Client(w, (static_cast<uint64_t>(w->index_) << 48) | w->next_client_id_++);
  uv_tcp_init(&w->loop_, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp),
             [](uv_handle_t* h) { delete static_cast<Client*>(h->data); });
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  c->last_active_ms = w->now_ms();
  c->connected_ms = c->last_active_ms;
  c->authed = w->config().requirepass.empty();
  c->next = w->clients_;
  if (w->clients_) w->clients_->prev = c;
  w->clients_ = c;
  w->stats_.clients.Inc();
  w->stats_.clients_total.Inc();
  int total = ++w->proxy_->clients;
  if (total > w->config().max_clients) {
    w->stats_.clients_rejected.Inc();
    std::string err;
    resp::AppendError(&err, errors::kMaxClients);
    c->out.Append(err);
    c->close_after_flush = true;
    w->MarkDirty(c);
    return;
  }
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), ClientAlloc, ClientRead);
}

void Worker::CloseClient(Client* c, const char* why) {
  if (c->closing) return;
  if (why != nullptr) spdlog::debug("client {} closed: {}", c->id, why);
  c->closing = true;
  EndTracking(c);
  CloseSessions(c);
  EndMonitor(c);
  DropSubscriptions(c, false);
  if (c->prev) c->prev->next = c->next;
  if (c->next) c->next->prev = c->prev;
  if (clients_ == c) clients_ = c->next;
  c->prev = c->next = nullptr;
  stats_.clients.Set(stats_.clients.Get() - 1);
  --proxy_->clients;
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), [](uv_handle_t* h) {
    auto* cl = static_cast<Client*>(h->data);
    cl->closed = true;
    cl->worker->MaybeFree(cl);
  });
}

void Worker::MaybeFree(Client* c) {
  if (c->closed && c->inflight == 0 && !c->dirty && c->writing == 0) {
    ForgetInfoWaits(c);
    delete c;
  }
}

void Worker::MarkDirty(Client* c) {
  if (!c->dirty) {
    c->dirty = true;
    dirty_clients_.push_back(c);
  }
}

void Worker::MarkDirty(Backend* b) { dirty_backends_.push_back(b); }

void Worker::ClientReadable(Client* c, const char* data, size_t n) {
  if (c->closing || c->close_after_flush) return;
  StampBatch();
  c->last_active_ms = now_ms();
  const bool from_shared = data != nullptr;
  std::string_view buf = from_shared ? std::string_view(data, n) : c->in.view();
  size_t off = 0;
  const size_t max_pending = config().max_pending_per_client;
  while (off < buf.size()) {
    if (c->queued() >= max_pending) {
      // Backpressure: stop reading until the replies drain (FlushClient resumes).
      if (c->reading) {
        uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
        c->reading = false;
      }
      break;
    }
    // A blocked client (or one whose next request needs a clean slate) reads on only when every
    // earlier request is answered; FlushClient resumes it.
    if (c->hold_input && c->queued() > 0) break;
    c->hold_input = false;
    size_t consumed = 0;
    resp::ParseStatus st = c->parser.Parse(buf.substr(off), &consumed, &scratch_);
    if (st == resp::ParseStatus::kOk) {
      if (!(c->tracking ? HandleTracked(c, scratch_) : HandleRequest(c, scratch_))) {
        c->hold_input = true;  // handled again from the same bytes once the queue drains
        break;
      }
      off += consumed;
      if (c->closing || c->close_after_flush) break;
    } else if (st == resp::ParseStatus::kNeedMore) {
      off += consumed;
      break;
    } else {
      stats_.protocol_errors.Inc();
      ReplyError(c, c->parser.error());
      c->close_after_flush = true;
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
      c->reading = false;
      off = buf.size();
      break;
    }
  }
  if (from_shared) {
    if (off < buf.size()) c->in.Append(buf.substr(off));
  } else {
    c->in.Consume(off);
    c->in.ReleaseIfEmpty();
  }
  // A held client keeps reading (so a disconnect is seen) but does not buffer without bound.
  if (c->hold_input && c->reading && c->in.size() > kHeldInputLimit) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
    c->reading = false;
  }
}

void Worker::Reply(Client* c, std::string_view reply) {
  if (c->suppress_current) {
    if (c->queued() > 0) c->CompleteOwned(c->Push(), std::string());  // keeps the order
    return;
  }
  if (c->queued() == 0) {
    c->out.Append(reply);
    MarkDirty(c);
  } else {
    c->CompleteOwned(c->Push(), std::string(reply));
  }
}

void Worker::ReplyError(Client* c, std::string_view text) {
  stats_.errors.Inc();
  std::string out;
  resp::AppendError(&out, text);
  Reply(c, out);
}

void Worker::FlushClient(Client* c) {
  if (c->closing) return;
  if (!c->out.empty()) {
    if (c->out.size() + c->writing > config().max_output_per_client) {
      stats_.slow_consumers.Inc();
      spdlog::warn("client {}: output buffer over {} bytes (slow consumer), disconnecting", c->id,
                   config().max_output_per_client);
      CloseClient(c, "slow consumer");
      return;
    }
    std::string_view data = c->out.view();
    uv_buf_t b = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
    int rc = uv_try_write(reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1);
    size_t wrote = rc > 0 ? static_cast<size_t>(rc) : 0;
    if (rc < 0 && rc != UV_EAGAIN) {
      CloseClient(c, uv_strerror(rc));
      return;
    }
    if (wrote < data.size()) {
      auto* w = new ClientWrite;
      w->client = c;
      w->data.assign(data.substr(wrote));
      c->writing += w->data.size();
      uv_buf_t rest = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
      w->req.data = w;
      rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c->tcp), &rest, 1,
                    [](uv_write_t* r, int status) {
                      auto* cw = static_cast<ClientWrite*>(r->data);
                      Client* cl = cw->client;
                      cl->writing -= cw->data.size();
                      delete cw;
                      if (status < 0) {
                        cl->worker->CloseClient(cl, uv_strerror(status));
                      } else if (cl->close_after_flush && cl->writing == 0 && cl->out.empty()) {
                        cl->worker->CloseClient(cl, nullptr);
                      }
                      cl->worker->MaybeFree(cl);
                    });
      if (rc != 0) {
        c->writing -= w->data.size();
        delete w;
        CloseClient(c, uv_strerror(rc));
        return;
      }
    }
    c->out.Consume(data.size());
    c->out.ReleaseIfEmpty();
  }
  if (c->close_after_flush && c->writing == 0 && c->queued() == 0) {
    CloseClient(c, nullptr);
    return;
  }
  if (!c->reading && !c->close_after_flush && c->queued() < config().max_pending_per_client / 2 &&
      !(c->hold_input && c->queued() > 0)) {
    c->reading = true;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), ClientAlloc, ClientRead);
    if (!c->in.empty()) ClientReadable(c, nullptr, 0);
  } else if (c->hold_input && c->queued() == 0 && !c->in.empty() && !c->close_after_flush) {
    ClientReadable(c, nullptr, 0);
  }
}

void Worker::OnCheck(uv_check_t* h) { static_cast<Worker*>(h->data)->FlushAll(); }

void Worker::FlushAll() {
  // Backends first: requests parsed this turn go out in one write per node. Flushing a client can
  // resume its reading and queue new requests (and a failed backend write completes replies), so
  // repeat until both lists stay empty; otherwise those writes would wait for the next event.
  while (!dirty_backends_.empty() || !dirty_clients_.empty()) {
    while (!dirty_backends_.empty()) {
      std::vector<Backend*> list;
      list.swap(dirty_backends_);
      for (Backend* b : list) b->Flush();
    }
    std::vector<Client*> list;
    list.swap(dirty_clients_);
    for (Client* c : list) {
      c->dirty = false;
      FlushClient(c);
      if (c->closing) MaybeFree(c);
    }
  }
  // Session connections given up during the turn are closed now, outside their own callbacks.
  if (retired_pending_) {
    retired_pending_ = false;
    sessions_.CollectRetired();
    std::vector<std::unique_ptr<Backend>> streams;
    streams.swap(retired_streams_);
    for (auto& b : streams) b->Close();
  }
}

void Worker::OnTimer(uv_timer_t* h) { static_cast<Worker*>(h->data)->Tick(); }

void Worker::Tick() {
  uint64_t now = now_ms();
  // The timer runs every 100 ms; much later means one loop turn kept the worker busy.
  const bool stalled = last_tick_ms_ != 0 && now - last_tick_ms_ > 250;
  last_tick_ms_ = now;
  for (auto& by_resp : backends_) {
    for (auto& map : by_resp) {
      for (auto& [addr, b] : map) b->CheckTimeouts(now, stalled);
    }
  }
  sessions_.CheckTimeouts(now, stalled);
  TickPubSub(now, stalled);
  TickTracking(now, stalled);
  if (config().slowlog_usec > 0) LogSuppressedSlowRequests(uv_hrtime());
  if (now - last_sweep_ms_ < 1000) return;
  last_sweep_ms_ = now;
  sessions_.Sweep(now);
  const int idle_s = config().client_timeout_s;
  for (Client* c = clients_; c != nullptr;) {
    Client* next = c->next;
    if (c->queue && c->queue->empty()) c->queue.reset();  // idle clients keep no queue memory
    if (idle_s > 0 && c->queued() == 0 && now - c->last_active_ms > uint64_t(idle_s) * 1000) {
      CloseClient(c, "idle timeout");
    }
    c = next;
  }
}

void Worker::LogSuppressedSlowRequests(uint64_t now_ns) {
  if (auto s = slow_log_.TakeSummary(now_ns)) {
    spdlog::warn(
        "slow requests: {} more not logged in the last second(s), the slowest {} us "
        "(INFO proxy_slow_requests counts all)",
        s->count, s->slowest_us);
  }
}

std::string Worker::BackendReport() {
  std::string out = "# Backends\r\n";
  int i = 0;
  for (auto& [addr, b] : backends_[0][0]) {
    uint64_t n = b->replies();
    out += "backend" + std::to_string(i++) + ":addr=" + addr +
           ",connected=" + (b->connected() ? "1" : "0") +
           ",inflight=" + std::to_string(b->inflight()) + ",replies=" + std::to_string(n) +
           ",avg_latency_us=" + std::to_string(n ? b->latency_us_total() / n : 0) + "\r\n";
  }
  out += "sessions_in_use:" + std::to_string(sessions_.in_use()) +
         "\r\nsessions_idle:" + std::to_string(sessions_.idle()) + "\r\n";
  out += "\r\n";
  return out;
}

}  // namespace rs::proxy
