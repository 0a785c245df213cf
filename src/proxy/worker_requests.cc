// The request path of a worker: classify each parsed request, route or split it, and handle the
// replies (the Router's verdict on redirects and retries, merging) in request order.
#include <spdlog/spdlog.h>

#include "common/redis_errors.h"
#include "common/resp_writer.h"
#include "common/slot.h"
#include "proxy/proxy.h"
#include "proxy/proxy_errors.h"
#include "proxy/pubsub.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

// Commands that keep their meaning inside MULTI and in subscribed mode rather than being queued.
bool IsTxControl(Handler h) {
  return h == Handler::kExec || h == Handler::kDiscard || h == Handler::kMulti ||
         h == Handler::kWatch || h == Handler::kQuit || h == Handler::kReset;
}

bool AllowedWhileSubscribed(Handler h) {
  return h == Handler::kPing || h == Handler::kSubscribe || h == Handler::kPsubscribe ||
         h == Handler::kSsubscribe || h == Handler::kUnsubscribe || h == Handler::kPunsubscribe ||
         h == Handler::kSunsubscribe || h == Handler::kQuit || h == Handler::kReset;
}

// Commands the proxy answers without a node, which a MONITOR of the proxy shows itself.
bool AnsweredByProxy(Handler h) {
  return h == Handler::kPing || h == Handler::kEcho || h == Handler::kSelect ||
         h == Handler::kAuth || h == Handler::kHello || h == Handler::kReadonly ||
         h == Handler::kReadwrite || h == Handler::kReset || h == Handler::kQuit;
}

// True when `h` takes a session connection for client `c` now (see HandleRequest). CLIENT
// TRACKING moves the client's requests between shared connections and tracking sessions.
bool NeedsTurn(const Client* c, Handler h, const resp::Request& req) {
  if (c->in_multi()) return !IsTxControl(h) && c->session == nullptr;  // pins the transaction
  if (h == Handler::kBlocking || h == Handler::kWait || h == Handler::kDedicated) return true;
  if (h == Handler::kClient) {
    return req.args.size() > 1 && EqualsIgnoreCase(req.args[1], "tracking");
  }
  return h == Handler::kWatch && c->session == nullptr;
}

}  // namespace

bool Worker::HandleRequest(Client* c, resp::Request& req) {
  if (req.args.empty()) return true;
  const CommandInfo* info = CommandTable::Get().Find(req.args[0]);
  const Classified cls = info ? Classify(*info, req.args)
                              : Classified{CommandKind::kKeyless, Handler::kNone};
  // A request that takes a session connection waits until the client's earlier requests are
  // answered: they went over shared connections, and must not be overtaken.
  if (c->queued() > 0 && c->authed && NeedsTurn(c, cls.handler, req)) return false;
  stats_.requests.Inc();
  stats_.per_command[info ? info->index : stats_.per_command.size() - 1].Inc();
  c->last_cmd = info ? info->index : UINT16_MAX;
  // CLIENT REPLY OFF / SKIP: the request runs, its reply is dropped in order.
  c->suppress_current = c->reply_mode != ReplyMode::kOn;
  if (c->reply_mode == ReplyMode::kSkipNext) c->reply_mode = ReplyMode::kOn;
  std::string_view name = info ? info->name : std::string_view();
  if (!c->authed && name != "auth" && name != "hello" && name != "quit") {
    ReplyError(c, redis_errors::kNoAuth);
    return true;
  }
  if (c->monitor && cls.handler != Handler::kQuit && cls.handler != Handler::kReset) {
    ReplyError(c, errors::kMonitorMode);
    return true;
  }
  if (c->resp == 2 && c->subscribed() && !AllowedWhileSubscribed(cls.handler)) {
    ReplyError(c, errors::OnlySubscribeCommands(req.args[0]));
    return true;
  }
  if (c->in_multi() && !IsTxControl(cls.handler)) {
    TxQueue(c, req, info);
    return true;
  }
  switch (cls.kind) {
    case CommandKind::kNever:
      stats_.proxy_errors.Inc();
      ReplyError(c, errors::kTakesOverConnection);
      return true;
    case CommandKind::kRefused:
      if (!config().allow_admin_commands) {
        stats_.proxy_errors.Inc();
        ReplyError(c, errors::AdminRefused(req.args[0]));
        return true;
      }
      if (cls.handler != Handler::kNone) {
        (this->*HandlerTable()[static_cast<size_t>(cls.handler)])(c, req, *info);
        return true;
      }
      break;  // to one master
    case CommandKind::kHandled:
      if (!monitors_.empty() && AnsweredByProxy(cls.handler)) FeedMonitors(c, req, cls.handler);
      (this->*HandlerTable()[static_cast<size_t>(cls.handler)])(c, req, *info);
      if (park_request_) {
        // The handler found it must wait for the client's earlier requests: it is handled again
        // from the same bytes once they are answered.
        park_request_ = false;
        stats_.requests.Set(stats_.requests.Get() - 1);
        stats_.per_command[info->index].Set(stats_.per_command[info->index].Get() - 1);
        return false;
      }
      return true;
    case CommandKind::kInfo:
      FanOut(c, req, MergeKind::kInfo);
      return true;
    case CommandKind::kSumMasters:
      FanOut(c, req, MergeKind::kSumInt);
      return true;
    case CommandKind::kBroadcast:
      FanOut(c, req, MergeKind::kFirst);
      return true;
    case CommandKind::kKeyed:
    case CommandKind::kSplit:
      RouteKeyed(c, req, *info, cls.kind);
      return true;
    case CommandKind::kKeyless:
      break;
  }
  // Keyless: any master; a node answers MOVED if the command had a key after all.
  Op op;
  op.client = c;
  op.pending = c->Push();
  if (config().slowlog_usec > 0) op.pending->start_ns = batch_ns_;
  Dispatch(std::move(op), AnyMaster(c), RequestBytes(req));
  return true;
}

void Worker::RouteKeyed(Client* c, resp::Request& req, const CommandInfo& info, CommandKind kind) {
  keys_scratch_.clear();
  CommandTable::KeyIndexes(info, req.args, &keys_scratch_);
  if (keys_scratch_.empty()) {
    // An arity error from the node.
    Op op;
    op.client = c;
    op.pending = c->Push();
    Dispatch(std::move(op), AnyMaster(c), RequestBytes(req));
    return;
  }
  int slot = -1;
  if (!SameSlot(req.args, keys_scratch_, &slot)) {
    if (kind == CommandKind::kSplit) {
      SplitRequest(c, req, info, keys_scratch_);
    } else if (info.name == "msetnx") {
      stats_.proxy_errors.Inc();
      ReplyError(c, errors::kMsetnxCrossSlot);
    } else if (info.handler == Handler::kScriptCall) {
      stats_.proxy_errors.Inc();
      ReplyError(c, errors::kScriptCrossSlot);
    } else {
      stats_.errors.Inc();
      ReplyError(c, redis_errors::kCrossSlot);
    }
    return;
  }
  PendingReply* p = c->Push();
  if (config().slowlog_usec > 0) p->start_ns = batch_ns_;
  SendToSlot(c, p, slot, RequestBytes(req), -1, !info.readonly,
             c->readonly && info.readonly && read_from_ != ReadFrom::kMaster);
}

std::string_view Worker::RequestBytes(const resp::Request& req) {
  if (!req.is_inline) return req.raw;
  inline_scratch_.clear();
  resp::AppendCommand(&inline_scratch_, std::span<const std::string_view>(req.args));
  return inline_scratch_;
}

void Worker::SendToSlot(Client* c, PendingReply* p, int slot, std::string_view command, int part,
                        bool write, bool replica_read) {
  Op op;
  op.client = c;
  op.pending = p;
  op.part = part;
  op.slot = slot;
  Backend* b = BackendForSlot(c, slot, replica_read);
  if (write && b != nullptr && (c->written.empty() || c->written.back() != b)) {
    // WAIT waits on every master this client wrote to (a handful at most), looked up by their
    // shared connections.
    Backend* w = b->is_session() ? BackendFor(b->address(), c->resp) : b;
    bool known = false;
    for (Backend* x : c->written) known |= x == w;
    if (!known) c->written.push_back(w);
  }
  Dispatch(std::move(op), b, command);
}

void Worker::Dispatch(Op&& op, Backend* backend, std::string_view command) {
  if (backend == nullptr) {
    FailOp(op, table_ ? redis_errors::kClusterDownUnbound : errors::kNoTopology);
    return;
  }
  if (op.client != nullptr && !backend->is_session()) backend = ForPause(op.client, backend);
  backend->Send(std::move(op), command);
}

Backend* Worker::ForPause(Client* c, Backend* b) {
  const uint64_t until = proxy_->paused_until_ms.load(std::memory_order_relaxed);
  if (until == 0 || now_ms() >= until) return b;
  // While a CLIENT PAUSE sent through the proxy holds the masters, a request that would wait
  // there goes over a session of its own: the node then counts each waiting client in
  // blocked_clients and INFO, as one server does, instead of one shared connection for all.
  // Only for a client with nothing else in flight (its replies keep their order), and within
  // a budget, so a pause under heavy load does not open thousands of connections.
  if (c->inflight > 0 || b->options().readonly || sessions_.in_use() >= kPauseSessionBudget ||
      !IsMasterConnection(b)) {
    return b;
  }
  Backend* s = TempSession(c, b->address());
  return s != nullptr ? s : b;
}

void Worker::Dispatch(Op&& op, Backend* backend) {
  std::string command = std::move(op.command);
  Dispatch(std::move(op), backend, command);
}

void Worker::FanOut(Client* c, resp::Request& req, MergeKind kind) {
  const std::vector<Backend*>& masters = by_master_[c->resp == 3 ? 1 : 0];
  if (masters.empty() && kind == MergeKind::kInfo) {
    // No node to ask yet: the proxy's own section is what an operator needs most now.
    Reply(c, ReplyBuilder(c->resp).Text(proxy_->InfoSection() + BackendReport()).Take());
    return;
  }
  if (masters.empty()) {
    ReplyError(c, errors::kNoTopology);
    return;
  }
  PendingReply* p = c->Push();
  p->merger = std::make_unique<Merger>(kind, masters.size());
  if (kind == MergeKind::kInfo) {
    std::string prefix = proxy_->InfoSection() + BackendReport();
    prefix.resize(prefix.size() - 2);  // # Backends stays open: the merger adds a line per node
    p->merger->set_prefix(std::move(prefix));
    std::vector<std::string> nodes;
    for (const Backend* m : masters) nodes.push_back(m->address());
    p->merger->set_nodes(std::move(nodes));
    p->merger->set_resp(c->resp);
    // What a client of one server reads in "# Clients" is about that server: the proxy.
    p->merger->set_overrides(
        {{"connected_clients", std::to_string(proxy_->clients.load())},
         {"maxclients", std::to_string(config().max_clients)},
         {"tracking_clients", std::to_string(proxy_->tracking_clients.load())}});
  }
  std::string_view command = RequestBytes(req);
  std::vector<Backend*> targets = masters;
  if (kind == MergeKind::kInfo) {
    // Registered before the first send: a node known to be down completes its part at once,
    // and the last part to complete forgets the wait (ForgetInfoWait).
    info_waits_.push_back({c, p, now_ms() + kInfoDeadlineMs, std::vector<Backend*>(targets.size())});
    if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&info_timer_))) {
      uv_timer_start(&info_timer_, OnInfoTimer, kInfoDeadlineMs, 0);
    }
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    Op op;
    op.client = c;
    op.pending = p;
    op.part = static_cast<int32_t>(i);
    Backend* b = Via(c, targets[i]);
    // INFO is how clients and monitors watch a node: it must answer while that node's shared
    // connection waits behind a paused write or a long script, as a node answers it then.
    if (kind == MergeKind::kInfo) {
      if (!b->is_session()) {
        if (Backend* own = TempSession(c, b->address())) b = own;
      }
      for (InfoWait& w : info_waits_) {
        if (w.pending == p) w.backends[i] = b;
      }
    }
    b->Send(std::move(op), command);
  }
}

void Worker::OnInfoTimer(uv_timer_t* h) {
  auto* w = static_cast<Worker*>(h->data);
  const uint64_t now = w->now_ms();
  std::vector<InfoWait> due;
  std::erase_if(w->info_waits_, [&due, now](InfoWait& x) {
    if (x.deadline_ms > now) return false;
    due.push_back(std::move(x));
    return true;
  });
  for (const InfoWait& x : due) w->ExpireInfo(x);
  uint64_t next = UINT64_MAX;
  for (const InfoWait& x : w->info_waits_) next = std::min(next, x.deadline_ms);
  if (next != UINT64_MAX) uv_timer_start(h, OnInfoTimer, next > now ? next - now : 1, 0);
}

void Worker::ExpireInfo(const InfoWait& wait) {
  Client* c = wait.client;  // alive: MaybeFree forgets a client's waits before deleting it
  if (c->closing) return;   // nobody to answer; the replies are dropped as they come
  Merger* m = wait.pending->merger.get();
  // Only parts whose op is still where it was sent are given up (a session connection the
  // client no longer holds may be gone): otherwise the INFO completes the usual way.
  auto live = [this, c](Backend* b) {
    if (b == nullptr) return false;
    if (b == c->session) return true;
    if (std::find(c->temp_sessions.begin(), c->temp_sessions.end(), b) != c->temp_sessions.end()) {
      return true;
    }
    for (auto& by_resp : backends_) {
      for (auto& map : by_resp) {
        for (auto& [addr, shared] : map) {
          if (shared.get() == b) return true;
        }
      }
    }
    return false;
  };
  for (size_t i = 0; i < m->parts(); ++i) {
    if (m->has(i)) continue;
    Backend* b = wait.backends[i];
    if (!live(b) || !b->HasOp(wait.pending, static_cast<int32_t>(i))) return;
  }
  for (size_t i = 0; i < m->parts(); ++i) {
    if (m->has(i)) continue;
    Backend* b = wait.backends[i];
    (void)b->DetachOp(wait.pending, static_cast<int32_t>(i));
    m->AddNoAnswer(i);
    spdlog::debug("client {}: INFO without {}: no answer in {} ms", c->id, b->address(),
                  kInfoDeadlineMs);
    // A session taken for this INFO alone waits on a silent node: closed, not pooled. (Requests
    // the client sent after the INFO may have followed it there (Via): then it stays theirs.)
    if (b != c->session && !b->HasClientOps() && c->ForgetTempSession(b)) {
      sessions_.Release(b, /*clean=*/false);
    }
  }
  c->CompleteOwned(wait.pending, m->Finish());
}

void Worker::ForgetInfoWait(const PendingReply* p) {
  if (info_waits_.empty()) return;
  std::erase_if(info_waits_, [p](const InfoWait& x) { return x.pending == p; });
}

void Worker::ForgetInfoWaits(const Client* c) {
  if (info_waits_.empty()) return;
  std::erase_if(info_waits_, [c](const InfoWait& x) { return x.client == c; });
}

void Worker::SplitRequest(Client* c, resp::Request& req, const CommandInfo& info,
                          const std::vector<int>& keys) {
  std::vector<SubRequest> subs = SplitBySlot(req.args, keys, info.split);
  MergeKind mk = info.split == SplitKind::kMget   ? MergeKind::kMget
                 : info.split == SplitKind::kMset ? MergeKind::kAllOk
                                                  : MergeKind::kSumInt;
  PendingReply* p = c->Push();
  if (config().slowlog_usec > 0) p->start_ns = batch_ns_;
  p->merger = std::make_unique<Merger>(mk, subs.size(), keys.size());
  if (mk == MergeKind::kMget) {
    for (size_t i = 0; i < subs.size(); ++i) p->merger->outputs()[i] = std::move(subs[i].outputs);
  }
  const bool replica_read = c->readonly && info.readonly && read_from_ != ReadFrom::kMaster;
  for (size_t i = 0; i < subs.size(); ++i) {
    SendToSlot(c, p, subs[i].slot, subs[i].command, static_cast<int>(i), !info.readonly,
               replica_read);
  }
}

uint64_t Worker::SlowRequestUs(const Op& op) const {
  if (config().slowlog_usec <= 0 || op.pending == nullptr || op.pending->start_ns == 0) return 0;
  uint64_t total_us = (batch_ns_ - op.pending->start_ns) / 1000;
  return total_us > static_cast<uint64_t>(config().slowlog_usec) ? total_us : 0;
}

OpFacts Worker::FactsOf(const Op& op) const {
  OpFacts f;
  f.role = op.role;
  f.redirects = op.redirects;
  f.retries = op.retries;
  const Client* c = op.client;
  if (c != nullptr && c->tx) f.watching = c->tx->watching;
  if (op.role == OpRole::kBlocking && c != nullptr && c->block) {
    const uint64_t deadline = c->block->deadline_ms;
    const uint64_t now = uv_now(const_cast<uv_loop_t*>(&loop_));
    f.remaining_ms = deadline == 0 ? -1 : (now >= deadline ? 0 : int64_t(deadline - now));
  }
  return f;
}

void Worker::LogSlow(const Op& op, const std::string& backend) {
  uint64_t total_us = SlowRequestUs(op);
  if (total_us == 0) return;
  stats_.slow_requests.Inc();
  LogSuppressedSlowRequests(batch_ns_);  // earlier seconds first
  if (slow_log_.Admit(batch_ns_, total_us)) {
    uint64_t backend_us = op.sent_ns ? (batch_ns_ - op.sent_ns) / 1000 : 0;
    std::string cmd = op.command.substr(0, 64);
    for (char& ch : cmd) {
      if (ch == '\r' || ch == '\n') ch = ' ';
    }
    spdlog::warn("slow request: {} us total, {} us at backend {}, {} redirects: {}", total_us,
                 backend_us, backend, op.redirects, cmd);
  }
}

void Worker::OnReply(Op& op, std::string_view reply, bool is_error, std::string_view line,
                     Backend* from) {
  Client* c = op.client;
  if (c->closing) {
    MaybeFree(c);
    return;
  }
  Action action;
  if (is_error) {
    action = router_.OnError(FactsOf(op), line);
    if (action.patch_slot >= 0 && table_ && !action.address.empty()) {
      const int16_t o = table_->owner[action.patch_slot];
      if (o < 0 || table_->masters[o] != action.address) {
        InstallTable(table_->WithSlotOwner(action.patch_slot, action.address));
        // SCAN cursors must hear of the move before the next refresh does.
        (void)proxy_->scan_log().PatchSlot(action.patch_slot, action.address);
      }
    }
    if (action.refresh) RequestRefresh();
    if (op.role == OpRole::kBlocking && action.verdict != Verdict::kDeliver) {
      BlockingReply(c, op, action, reply, from);
      return;
    }
    switch (action.verdict) {
      case Verdict::kDeliver:
        stats_.errors.Inc();
        break;
      case Verdict::kFollow:
        ++op.redirects;
        (action.asking ? stats_.ask : stats_.moved).Inc();
        op.asking = action.asking;
        if (from->is_session() && from != c->session && from->tracker == nullptr) {
          // A request that had a session of its own (a script) gets one at the new node too.
          Backend* s = sessions_.Acquire(action.address, c->resp, false, c);
          ReleaseTempSession(c, from);
          if (s != nullptr) {
            c->temp_sessions.push_back(s);
            s->Send(std::move(op));
            return;
          }
        }
        Via(c, BackendFor(action.address, c->resp))->Send(std::move(op));
        return;
      case Verdict::kRetryLater:
        ++op.retries;
        stats_.tryagain.Inc();
        RetryLater(std::move(op));
        return;
      case Verdict::kReplay:
        ++op.redirects;
        (action.asking ? stats_.ask : stats_.moved).Inc();
        TxReplay(c, std::move(op), action.address, action.asking);
        return;
      case Verdict::kAbortWatch:
        TxAbortWatch(c, op);
        return;
      case Verdict::kReissue:
      case Verdict::kTimedOut:
        break;  // the blocking path below
      case Verdict::kFail:
        FailOp(op, action.error);
        return;
    }
  }
  if (op.role == OpRole::kBlocking) {
    BlockingReply(c, op, action, reply, from);
    return;
  }
  LogSlow(op, from->address());
  Deliver(c, op, reply);
  if (op.role == OpRole::kTxExec) TxReset(c);
  if (from == c->session) {
    MaybeReleaseSession(c);
  } else if (from->is_session()) {
    ReleaseTempSession(c, from);
  }
}

void Worker::ReleaseTempSession(Client* c, Backend* b) {
  // A session held for one request (WAIT, a script, SCRIPT KILL, an admin command) is given back
  // with its reply (or its redirect elsewhere).
  if (b->inflight() > 0) return;
  if (c->ForgetTempSession(b)) sessions_.Release(b, true);
}

void Worker::Deliver(Client* c, Op& op, std::string_view reply) {
  if (op.part < 0) {
    c->Complete(op.pending, reply);
  } else {
    Merger* m = op.pending->merger.get();
    m->Add(static_cast<size_t>(op.part), reply);
    if (m->done()) {
      ForgetInfoWait(op.pending);
      c->CompleteOwned(op.pending, m->Finish());
    }
  }
}

void Worker::OnOpLost(Op& op, std::string_view address, std::string_view error, bool sent) {
  Client* c = op.client;
  if (c == nullptr) return;
  if (c->closing) {
    MaybeFree(c);
    return;
  }
  OpFacts facts = FactsOf(op);
  facts.sent = sent;
  Action action = router_.OnConnectionLost(facts, address, error);
  if (action.refresh) RequestRefresh();
  switch (action.verdict) {
    case Verdict::kRetryLater:
      ++op.retries;
      op.asking = false;
      RetryLater(std::move(op));
      return;
    case Verdict::kTimedOut:
      BlockingTimedOut(c, op);
      return;
    default:
      break;
  }
  if (op.role == OpRole::kTxQueued && c->tx) c->tx->dirty = true;
  if (op.role == OpRole::kBlocking) c->block.reset();
  FailOp(op, action.error.empty() ? error : std::string_view(action.error));
  if (op.role == OpRole::kTxExec) TxReset(c);
}

void Worker::FailOp(Op& op, std::string_view text) {
  stats_.proxy_errors.Inc();
  stats_.errors.Inc();
  Client* c = op.client;
  if (c == nullptr) return;
  if (c->closing) {
    MaybeFree(c);
    return;
  }
  if (op.part < 0) {
    std::string out;
    resp::AppendError(&out, text);
    c->Complete(op.pending, out);
  } else {
    Merger* m = op.pending->merger.get();
    m->AddError(static_cast<size_t>(op.part), text);
    if (m->done()) {
      ForgetInfoWait(op.pending);
      c->CompleteOwned(op.pending, m->Finish());
    }
  }
}

void Worker::RetryLater(Op&& op) {
  if (op.client) ++op.client->inflight;
  retry_ops_.push_back(std::move(op));
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&retry_timer_))) {
    uv_timer_start(&retry_timer_, OnRetryTimer, config().retry_backoff_ms, 0);
  }
}

void Worker::OnRetryTimer(uv_timer_t* h) {
  auto* w = static_cast<Worker*>(h->data);
  std::vector<Op> ops;
  ops.swap(w->retry_ops_);
  for (Op& op : ops) {
    Client* c = op.client;
    if (c) --c->inflight;
    if (c && c->closing) {
      w->MaybeFree(c);
      continue;
    }
    op.asking = false;
    if (op.role == OpRole::kBlocking && c != nullptr) {
      w->ReissueBlocking(c, std::move(op), "", false);
      continue;
    }
    w->Dispatch(std::move(op), op.slot >= 0 ? w->BackendForSlot(c, op.slot) : w->AnyMaster(c));
  }
}

}  // namespace rs::proxy
