// Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH over the client's session connection.
//
// A transaction follows Redis Cluster's rule: all its keys, WATCHed ones included, are in one
// slot, and it runs on that slot's master over the client's session. MULTI is answered by the
// proxy; the first command queued pins the session (MULTI goes to the node then), and the
// commands queued are remembered so that a MOVED or ASK while queuing replays the transaction on
// the right node. A WATCH cannot be carried: then EXEC answers nil, as an aborted transaction.
// Once EXEC is sent nothing is replayed unless the node answered with a redirect (which means it
// discarded the transaction); a lost connection gives the client an error, not a guess.
#include <spdlog/spdlog.h>

#include "common/redis_errors.h"
#include "proxy/proxy.h"
#include "proxy/proxy_errors.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

constexpr std::string_view kMultiCommand = "*1\r\n$5\r\nMULTI\r\n";
constexpr std::string_view kDiscardCommand = "*1\r\n$7\r\nDISCARD\r\n";

std::string_view MultiBytes(const TxState& tx) {
  return tx.multi_bytes.empty() ? kMultiCommand : std::string_view(tx.multi_bytes);
}

}  // namespace

void Worker::OnMulti(Client* c, resp::Request& req, const CommandInfo&) {
  if (req.args.size() != 1) {
    ReplyError(c, errors::WrongArity("multi"));
    return;
  }
  if (c->in_multi()) {
    ReplyError(c, errors::kMultiNested);
    return;
  }
  if (!c->tx) c->tx = std::make_unique<TxState>();
  TxState& tx = *c->tx;
  tx.in_multi = true;
  tx.dirty = false;
  tx.asking = false;
  tx.replays = 0;
  tx.exec_sent = false;
  tx.queued.clear();
  tx.multi_bytes.assign(RequestBytes(req));  // a MONITOR shows the client's own MULTI
  if (!tx.watching) tx.slot = -1;
  if (tx.watching && !tx.watch_lost && c->session != nullptr) {
    // The WATCH lives on the session's node: MULTI goes there now.
    if (c->tracking) SendCaching(c, c->session);
    Op op;
    op.client = c;
    op.pending = c->Push();
    c->session->Send(std::move(op), RequestBytes(req));
    tx.multi_sent = true;
    return;
  }
  tx.multi_sent = false;
  Reply(c, "+OK\r\n");
}

void Worker::TxRefuse(Client* c, std::string_view error) {
  // As Redis does with a command it rejects while queuing: the transaction can only abort now.
  c->tx->dirty = true;
  ReplyError(c, error);
}

void Worker::TxQueue(Client* c, resp::Request& req, const CommandInfo* info) {
  TxState& tx = *c->tx;
  const Classified cls =
      info ? Classify(*info, req.args) : Classified{CommandKind::kKeyless, Handler::kNone};
  if (cls.kind == CommandKind::kNever) {
    TxRefuse(c, errors::kTakesOverConnection);
    return;
  }
  if (cls.kind == CommandKind::kRefused && !config().allow_admin_commands) {
    stats_.proxy_errors.Inc();
    TxRefuse(c, errors::AdminRefused(req.args[0]));
    return;
  }
  switch (cls.handler) {
    case Handler::kSubscribe:
    case Handler::kPsubscribe:
    case Handler::kSsubscribe:
    case Handler::kMonitor:
      TxRefuse(c, errors::kSubscribeInMulti);
      return;
    case Handler::kHello:
    case Handler::kAuth:
      // They would change the session connection, not the client.
      TxRefuse(c, errors::InsideMultiRefused(info->name));
      return;
    case Handler::kClient:
      // CLIENT PAUSE, SETNAME, ... run on the transaction's node like any command; REPLY and
      // TRACKING would change how that connection answers.
      if (req.args.size() > 1 &&
          (EqualsIgnoreCase(req.args[1], "reply") || EqualsIgnoreCase(req.args[1], "tracking"))) {
        TxRefuse(c, errors::InsideMultiRefused("client " + std::string(req.args[1])));
        return;
      }
      break;
    case Handler::kAcl:
      // As outside a transaction: the nodes' users are not the proxy's (OnAcl).
      if (req.args.size() > 1 && AclChangesUsers(req.args[1])) {
        stats_.proxy_errors.Inc();
        TxRefuse(c, errors::SubcommandRefused("acl", req.args[1], errors::kAclUsersReason));
        return;
      }
      break;
    default:
      break;
  }
  int slot = -1;
  if (info != nullptr) {
    keys_scratch_.clear();
    CommandTable::KeyIndexes(*info, req.args, &keys_scratch_);
    if (!keys_scratch_.empty()) {
      if (!SameSlot(req.args, keys_scratch_, &slot) || (tx.slot >= 0 && tx.slot != slot)) {
        stats_.errors.Inc();
        TxRefuse(c, redis_errors::kCrossSlot);
        return;
      }
    }
  }
  Backend* s = TxSession(c, slot);
  if (s == nullptr) return;
  if (slot >= 0) tx.slot = slot;
  Op op;
  op.client = c;
  op.pending = c->Push();
  op.role = OpRole::kTxQueued;
  op.slot = slot;
  std::string_view bytes = RequestBytes(req);
  tx.queued.emplace_back(bytes);
  s->Send(std::move(op), bytes);
}

Backend* Worker::TxSession(Client* c, int slot) {
  TxState& tx = *c->tx;
  const std::string* want = slot >= 0 && table_ ? table_->OwnerOf(slot) : nullptr;
  if (c->session != nullptr) {
    if (want != nullptr && *want != c->session->address() && !tx.asking && !tx.watching) {
      // Keyless commands pinned the transaction to another master: it moves to the slot's.
      return TxMove(c, *want, nullptr) ? c->session : nullptr;
    }
    c->release_session = false;
    if (!tx.multi_sent) {
      if (c->tracking) SendCaching(c, c->session);
      c->session->SendInternal(MultiBytes(tx));
      tx.multi_sent = true;
    }
    return c->session;
  }
  if (!table_ || by_master_[0].empty()) {
    TxRefuse(c, errors::kNoTopology);
    return nullptr;
  }
  std::string address;
  if (slot >= 0) {
    if (want == nullptr) {
      TxRefuse(c, redis_errors::kClusterDownUnbound);
      return nullptr;
    }
    address = *want;
  } else {
    address = table_->masters[round_robin_++ % table_->masters.size()];
  }
  Backend* s = AcquireSession(c, address);
  if (s == nullptr) {
    stats_.proxy_errors.Inc();
    TxRefuse(c, errors::TooManySessions(config().max_sessions));
    return nullptr;
  }
  c->session = s;
  c->release_session = false;
  s->SendInternal(MultiBytes(tx));
  tx.multi_sent = true;
  // After a lost session the commands queued so far are gone with it; the transaction is dirty
  // (OnSessionLost), so EXEC aborts whatever is queued from here.
  return s;
}

bool Worker::TxMove(Client* c, const std::string& address, Op* redirected) {
  TxState& tx = *c->tx;
  std::vector<Op> pending;
  if (redirected != nullptr) pending.push_back(std::move(*redirected));
  if (c->session != nullptr) {
    std::vector<Op> rest = c->session->TakeOps();
    for (Op& op : rest) pending.push_back(std::move(op));
    sessions_.Release(c->session, false);  // closing it discards the node's MULTI
    c->session = nullptr;
  }
  tx.multi_sent = false;
  Backend* s = AcquireSession(c, address);
  if (s == nullptr) {
    stats_.proxy_errors.Inc();
    tx.dirty = true;
    for (Op& op : pending) FailOp(op, errors::TooManySessions(config().max_sessions));
    return false;
  }
  c->session = s;
  c->release_session = false;
  // After ASK, ASKING goes before MULTI: a node keeps the flag for the whole MULTI block until
  // EXEC, whereas an ASKING inside it would only be queued (and the command after it answered
  // with MOVED back to the slot's owner).
  s->SendInternal(MultiBytes(tx), tx.asking);
  tx.multi_sent = true;
  // The commands whose replies the client has are queued again, their replies dropped; the
  // others go with their reply slots.
  size_t unanswered = 0;
  for (const Op& op : pending) unanswered += op.role == OpRole::kTxQueued;
  const size_t answered = tx.queued.size() >= unanswered ? tx.queued.size() - unanswered : 0;
  for (size_t i = 0; i < answered; ++i) s->SendInternal(tx.queued[i]);
  for (Op& op : pending) {
    if (op.role == OpRole::kTxQueued || op.role == OpRole::kTxExec) op.asking = false;
    s->Send(std::move(op));
  }
  return true;
}

void Worker::TxReplay(Client* c, Op&& redirected, const std::string& address, bool asking) {
  if (!c->tx) {
    FailOp(redirected, errors::kTxWithoutState);
    return;
  }
  TxState& tx = *c->tx;
  if (++tx.replays > router_.policy().max_redirects) {
    tx.dirty = true;
    FailOp(redirected, errors::kTxTooManyRedirects);
    return;
  }
  tx.asking = asking;
  spdlog::debug("client {}: transaction replayed on {} ({})", c->id, address,
                asking ? "ASK" : "MOVED");
  TxMove(c, address, &redirected);
}

void Worker::TxAbortWatch(Client* c, Op& op) {
  if (c->tx) c->tx->watch_lost = true;
  ReplyBuilder r(c->resp);
  if (op.role == OpRole::kTxQueued) {
    r.Status("QUEUED");  // the client goes on queuing; EXEC answers nil
  } else if (op.role == OpRole::kWatch) {
    r.Status("OK");
  } else {
    r.NullArray();  // EXEC: the transaction aborted, as with a touched WATCHed key
  }
  Deliver(c, op, r.str());
  if (op.role == OpRole::kTxExec) {
    TxReset(c);
    if (c->session != nullptr) MaybeReleaseSession(c);
  }
}

void Worker::OnExec(Client* c, resp::Request& req, const CommandInfo&) {
  if (!c->in_multi()) {
    ReplyError(c, errors::kExecWithoutMulti);
    return;
  }
  TxState& tx = *c->tx;
  if (req.args.size() != 1) {
    TxRefuse(c, errors::WrongArity("exec"));
    return;
  }
  tx.in_multi = false;
  if (tx.dirty || tx.watch_lost) {
    if (c->session != nullptr && tx.multi_sent) c->session->SendInternal(kDiscardCommand);
    const bool dirty = tx.dirty;
    TxReset(c);
    EndSession(c);
    if (dirty) {
      ReplyError(c, errors::kExecAbort);
    } else {
      Reply(c, ReplyBuilder(c->resp).NullArray().Take());
    }
    return;
  }
  if (c->session == nullptr || !tx.multi_sent) {
    // Nothing was queued (and no WATCH): an empty transaction.
    TxReset(c);
    Reply(c, "*0\r\n");
    return;
  }
  tx.exec_sent = true;
  Op op;
  op.client = c;
  op.pending = c->Push();
  op.role = OpRole::kTxExec;
  op.slot = tx.slot;
  c->session->Send(std::move(op), RequestBytes(req));
  EndSession(c);
}

void Worker::OnDiscard(Client* c, resp::Request& req, const CommandInfo&) {
  if (!c->in_multi()) {
    ReplyError(c, errors::kDiscardWithoutMulti);
    return;
  }
  const bool on_node = c->session != nullptr && c->tx->multi_sent;
  TxReset(c);  // DISCARD also forgets the WATCH
  if (on_node) {
    Op op;
    op.client = c;
    op.pending = c->Push();
    c->session->Send(std::move(op), RequestBytes(req));
  } else {
    Reply(c, "+OK\r\n");
  }
  EndSession(c);
}

void Worker::OnWatch(Client* c, resp::Request& req, const CommandInfo& info) {
  if (c->in_multi()) {
    ReplyError(c, errors::kWatchInsideMulti);
    return;
  }
  keys_scratch_.clear();
  CommandTable::KeyIndexes(info, req.args, &keys_scratch_);
  if (keys_scratch_.empty()) {
    ReplyError(c, errors::WrongArity("watch"));
    return;
  }
  int slot = -1;
  const bool watching = c->tx && c->tx->watching;
  if (!SameSlot(req.args, keys_scratch_, &slot) || (watching && c->tx->slot != slot)) {
    stats_.errors.Inc();
    ReplyError(c, redis_errors::kCrossSlot);
    return;
  }
  if (!c->tx) c->tx = std::make_unique<TxState>();
  TxState& tx = *c->tx;
  const std::string* owner = table_ ? table_->OwnerOf(slot) : nullptr;
  if (owner == nullptr) {
    ReplyError(c, table_ ? redis_errors::kClusterDownUnbound : errors::kNoTopology);
    return;
  }
  if (c->session != nullptr && c->session->address() != *owner && !watching) {
    // A session kept from an earlier transaction, to another node: it is idle (HandleRequest
    // waited for the client's earlier requests).
    sessions_.Release(c->session, c->session->inflight() == 0);
    c->session = nullptr;
  }
  if (c->session == nullptr) {
    if (watching) {
      // The session holding the earlier WATCH was lost: this one cannot complete it.
      tx.watch_lost = true;
      Reply(c, "+OK\r\n");
      return;
    }
    Backend* s = AcquireSession(c, *owner);
    if (s == nullptr) {
      stats_.proxy_errors.Inc();
      ReplyError(c, errors::TooManySessions(config().max_sessions));
      return;
    }
    c->session = s;
  }
  c->release_session = false;
  if (!watching) tx.watch_lost = false;
  tx.watching = true;
  tx.slot = slot;
  Op op;
  op.client = c;
  op.pending = c->Push();
  op.role = OpRole::kWatch;
  op.slot = slot;
  c->session->Send(std::move(op), RequestBytes(req));
}

void Worker::OnUnwatch(Client* c, resp::Request& req, const CommandInfo&) {
  const bool on_node = c->tx && c->tx->watching && c->session != nullptr;
  if (c->tx) {
    c->tx->watching = false;
    c->tx->watch_lost = false;
    if (!c->tx->in_multi) c->tx->slot = -1;
  }
  if (on_node) {
    Op op;
    op.client = c;
    op.pending = c->Push();
    c->session->Send(std::move(op), RequestBytes(req));
    EndSession(c);
  } else {
    Reply(c, "+OK\r\n");
  }
}

void Worker::TxReset(Client* c) {
  if (!c->tx) return;
  TxState& tx = *c->tx;
  tx.in_multi = false;
  tx.watching = false;
  tx.dirty = false;
  tx.watch_lost = false;
  tx.asking = false;
  tx.multi_sent = false;
  tx.exec_sent = false;
  tx.slot = -1;
  tx.replays = 0;
  tx.queued.clear();
  tx.queued.shrink_to_fit();
}
}  // namespace rs::proxy
