// The request path of a worker: classify each parsed request, route or split it, and handle
// the replies (redirects, retries, merging) in request order.
#include <spdlog/spdlog.h>

#include "common/redis_errors.h"
#include "common/resp_writer.h"
#include "common/slot.h"
#include "proxy/proxy.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
  }
  return out;
}

std::string ErrorReply(std::string_view text) {
  std::string out;
  resp::AppendError(&out, text);
  return out;
}

}  // namespace

void Worker::HandleRequest(Client* c, resp::Request& req) {
  stats_.requests.Inc();
  if (req.args.empty()) return;
  const CommandInfo* info = CommandTable::Get().Find(req.args[0]);
  stats_.per_command[info ? info->index : stats_.per_command.size() - 1].Inc();
  std::string_view name = info ? info->name : std::string_view();
  if (!c->authed && name != "auth" && name != "hello" && name != "quit") {
    ReplyError(c, redis_errors::kNoAuth);
    return;
  }
  if (c->in_refused_multi) {
    if (name == "exec") {
      c->in_refused_multi = false;
      ReplyError(c, "EXECABORT Transaction discarded because of previous errors.");
    } else if (name == "discard") {
      c->in_refused_multi = false;
      Reply(c, "+OK\r\n");
    } else {
      ReplyError(c,
                 "ERR proxy: command refused inside a MULTI block (transactions are not "
                 "supported by the proxy)");
    }
    return;
  }
  CommandKind kind = info ? RefineKind(*info, req.args) : CommandKind::kKeyless;
  switch (kind) {
    case CommandKind::kProxy:
      AnswerProxy(c, req, *info);
      return;
    case CommandKind::kRefused:
      if (!config().allow_admin_commands) {
        stats_.proxy_errors.Inc();
        ReplyError(c, "ERR proxy: '" + Upper(req.args[0]) +
                          "' is refused by the proxy (start it with --allow-admin-commands)");
        return;
      }
      if (name == "flushall" || name == "flushdb") {
        FanOut(c, req, MergeKind::kAllOk);
        return;
      }
      break;  // to one master
    case CommandKind::kUnsupported:
      stats_.proxy_errors.Inc();
      ReplyError(c, "ERR proxy: '" + Upper(req.args[0]) + "' is not supported by the proxy yet");
      return;
    case CommandKind::kInfo:
      FanOut(c, req, MergeKind::kInfo);
      return;
    case CommandKind::kSumMasters:
      FanOut(c, req, MergeKind::kSumInt);
      return;
    case CommandKind::kBroadcast:
      FanOut(c, req, MergeKind::kFirst);
      return;
    case CommandKind::kKeyed:
    case CommandKind::kSplit: {
      keys_scratch_.clear();
      CommandTable::KeyIndexes(*info, req.args, &keys_scratch_);
      if (keys_scratch_.empty()) break;  // arity error from the node
      int slot = -1;
      if (!SameSlot(req.args, keys_scratch_, &slot)) {
        if (kind == CommandKind::kSplit) {
          SplitRequest(c, req, *info, keys_scratch_);
        } else if (name == "msetnx") {
          stats_.proxy_errors.Inc();
          ReplyError(c,
                     "ERR proxy: MSETNX with keys in several slots is refused (it could not be "
                     "atomic); use keys with one {hash tag}");
        } else if (name == "eval" || name == "evalsha" || name == "eval_ro" ||
                   name == "evalsha_ro" || name == "fcall" || name == "fcall_ro") {
          stats_.proxy_errors.Inc();
          ReplyError(c,
                     "ERR proxy: scripts with keys in several slots are not supported by the "
                     "proxy yet");
        } else {
          stats_.errors.Inc();
          ReplyError(c, redis_errors::kCrossSlot);
        }
        return;
      }
      PendingReply* p = c->Push();
      if (config().slowlog_usec > 0) p->start_ns = batch_ns_;
      SendToSlot(c, p, slot, RequestBytes(req), -1);
      return;
    }
    case CommandKind::kKeyless:
      break;
  }
  // Keyless: any master; a node answers MOVED if the command had a key after all.
  Op op;
  op.client = c;
  op.pending = c->Push();
  if (config().slowlog_usec > 0) op.pending->start_ns = batch_ns_;
  Dispatch(std::move(op), AnyMaster(), RequestBytes(req));
}

std::string_view Worker::RequestBytes(const resp::Request& req) {
  if (!req.is_inline) return req.raw;
  inline_scratch_.clear();
  resp::AppendCommand(&inline_scratch_, std::span<const std::string_view>(req.args));
  return inline_scratch_;
}

void Worker::SendToSlot(Client* c, PendingReply* p, int slot, std::string_view command, int part) {
  Op op;
  op.client = c;
  op.pending = p;
  op.part = part;
  op.slot = slot;
  Dispatch(std::move(op), BackendForSlot(slot), command);
}

void Worker::Dispatch(Op&& op, Backend* backend, std::string_view command) {
  if (backend == nullptr) {
    FailOp(op, table_ ? redis_errors::kClusterDownUnbound
                      : std::string_view("CLUSTERDOWN proxy: no topology known yet"));
    return;
  }
  backend->Send(std::move(op), command);
}

void Worker::Dispatch(Op&& op, Backend* backend) {
  std::string command = std::move(op.command);
  Dispatch(std::move(op), backend, command);
}

void Worker::FanOut(Client* c, resp::Request& req, MergeKind kind) {
  if (by_master_.empty() && kind == MergeKind::kInfo) {
    // No node to ask yet: the proxy's own section is what an operator needs most now.
    std::string out;
    resp::AppendBulk(&out, proxy_->InfoSection() + BackendReport());
    Reply(c, out);
    return;
  }
  if (by_master_.empty()) {
    ReplyError(c, "CLUSTERDOWN proxy: no topology known yet");
    return;
  }
  PendingReply* p = c->Push();
  p->merger = std::make_unique<Merger>(kind, by_master_.size());
  if (kind == MergeKind::kInfo) p->merger->set_prefix(proxy_->InfoSection() + BackendReport());
  std::string_view command = RequestBytes(req);
  std::vector<Backend*> targets = by_master_;
  for (size_t i = 0; i < targets.size(); ++i) {
    Op op;
    op.client = c;
    op.pending = p;
    op.part = static_cast<int32_t>(i);
    targets[i]->Send(std::move(op), command);
  }
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
  for (size_t i = 0; i < subs.size(); ++i) {
    SendToSlot(c, p, subs[i].slot, subs[i].command, static_cast<int>(i));
  }
}

uint64_t Worker::SlowRequestUs(const Op& op) const {
  if (config().slowlog_usec <= 0 || op.pending == nullptr || op.pending->start_ns == 0) return 0;
  uint64_t total_us = (batch_ns_ - op.pending->start_ns) / 1000;
  return total_us > static_cast<uint64_t>(config().slowlog_usec) ? total_us : 0;
}

void Worker::OnReply(Op& op, std::string_view reply, bool is_error, std::string_view line,
                     const std::string& backend) {
  Client* c = op.client;
  if (is_error) {
    Redirect r = ParseRedirect(line);
    if ((r.kind == RedirectKind::kMoved || r.kind == RedirectKind::kAsk) &&
        op.redirects < kMaxRedirects) {
      ++op.redirects;
      if (r.kind == RedirectKind::kMoved) {
        stats_.moved.Inc();
        if (table_ &&
            (table_->owner[r.slot] < 0 || table_->masters[table_->owner[r.slot]] != r.address)) {
          InstallTable(table_->WithSlotOwner(r.slot, r.address));
        }
        RequestRefresh();
        op.asking = false;
      } else {
        stats_.ask.Inc();
        op.asking = true;
      }
      BackendFor(r.address)->Send(std::move(op));
      return;
    }
    if ((r.kind == RedirectKind::kTryAgain || r.kind == RedirectKind::kClusterDown) &&
        op.retries < config().max_retries) {
      ++op.retries;
      stats_.tryagain.Inc();
      RetryLater(std::move(op));
      return;
    }
    stats_.errors.Inc();
  }
  if (uint64_t total_us = SlowRequestUs(op)) {
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
  if (c->closing) {
    MaybeFree(c);
    return;
  }
  if (op.part < 0) {
    c->Complete(op.pending, reply);
  } else {
    Merger* m = op.pending->merger.get();
    m->Add(static_cast<size_t>(op.part), reply);
    if (m->done()) c->CompleteOwned(op.pending, m->Finish());
  }
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
    c->Complete(op.pending, ErrorReply(text));
  } else {
    Merger* m = op.pending->merger.get();
    m->AddError(static_cast<size_t>(op.part), text);
    if (m->done()) c->CompleteOwned(op.pending, m->Finish());
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
    if (op.client) --op.client->inflight;
    if (op.client && op.client->closing) {
      w->MaybeFree(op.client);
      continue;
    }
    op.asking = false;
    w->Dispatch(std::move(op), op.slot >= 0 ? w->BackendForSlot(op.slot) : w->AnyMaster());
  }
}

}  // namespace rs::proxy
