// The requests that need a session connection: transactions (MULTI/EXEC/DISCARD/WATCH/UNWATCH),
// blocking commands and WAIT.
//
// A transaction follows Redis Cluster's rule: all its keys, WATCHed ones included, are in one
// slot, and it runs on that slot's master over the client's session. MULTI is answered by the
// proxy; the first command queued pins the session (MULTI goes to the node then), and the
// commands queued are remembered so that a MOVED or ASK while queuing replays the transaction on
// the right node. A WATCH cannot be carried: then EXEC answers nil, as an aborted transaction.
// Once EXEC is sent nothing is replayed unless the node answered with a redirect (which means it
// discarded the transaction); a lost connection gives the client an error, not a guess.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "common/redis_errors.h"
#include "common/resp_parser.h"
#include "common/resp_writer.h"
#include "common/slot.h"
#include "proxy/proxy.h"
#include "proxy/proxy_errors.h"
#include "proxy/pubsub.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

constexpr std::string_view kMultiCommand = "*1\r\n$5\r\nMULTI\r\n";
constexpr std::string_view kDiscardCommand = "*1\r\n$7\r\nDISCARD\r\n";
constexpr std::string_view kPingCommand = "*1\r\n$4\r\nPING\r\n";

void SendInternal(Backend* b, std::string_view command, bool asking = false) {
  Op op;
  op.role = OpRole::kInternal;
  op.asking = asking;
  b->Send(std::move(op), command);
}

// Redis's getTimeoutFromObjectOrReply for seconds: a non-negative float. -1 when invalid.
int64_t ParseSecondsTimeout(std::string_view text) {
  std::string s(text);
  if (s.empty() || s.size() > 64) return -1;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || std::isnan(v) || v < 0) return -1;
  double ms = v * 1000.0;
  if (ms > 9.0e15) return -1;
  return static_cast<int64_t>(std::ceil(ms));
}

void Remove(std::vector<Backend*>* list, Backend* b) {
  for (size_t i = 0; i < list->size(); ++i) {
    if ((*list)[i] == b) {
      (*list)[i] = list->back();
      list->pop_back();
      return;
    }
  }
}

}  // namespace

// ---- transactions ----

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
  if (!tx.watching) tx.slot = -1;
  if (tx.watching && !tx.watch_lost && c->session != nullptr) {
    // The WATCH lives on the session's node: MULTI goes there now.
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
    case Handler::kClient:
      // They would change the session connection, not the client.
      TxRefuse(c, errors::InsideMultiRefused(info->name));
      return;
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
  op.asking = tx.asking;
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
      SendInternal(c->session, kMultiCommand);
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
  Backend* s = sessions_.Acquire(address, c->resp, false, c);
  if (s == nullptr) {
    stats_.proxy_errors.Inc();
    TxRefuse(c, errors::TooManySessions(config().max_sessions));
    return nullptr;
  }
  c->session = s;
  c->release_session = false;
  SendInternal(s, kMultiCommand);
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
  Backend* s = sessions_.Acquire(address, c->resp, false, c);
  if (s == nullptr) {
    stats_.proxy_errors.Inc();
    tx.dirty = true;
    for (Op& op : pending) FailOp(op, errors::TooManySessions(config().max_sessions));
    return false;
  }
  c->session = s;
  c->release_session = false;
  SendInternal(s, kMultiCommand);
  tx.multi_sent = true;
  // The commands whose replies the client has are queued again, their replies dropped; the
  // others go with their reply slots.
  size_t unanswered = 0;
  for (const Op& op : pending) unanswered += op.role == OpRole::kTxQueued;
  const size_t answered = tx.queued.size() >= unanswered ? tx.queued.size() - unanswered : 0;
  for (size_t i = 0; i < answered; ++i) SendInternal(s, tx.queued[i], tx.asking);
  for (Op& op : pending) {
    if (op.role == OpRole::kTxQueued || op.role == OpRole::kTxExec) op.asking = tx.asking;
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
    if (c->session != nullptr && tx.multi_sent) SendInternal(c->session, kDiscardCommand);
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
  op.asking = tx.asking;
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
    Backend* s = sessions_.Acquire(*owner, c->resp, false, c);
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

void Worker::EndSession(Client* c) {
  if (c->session == nullptr) return;
  c->release_session = true;
  MaybeReleaseSession(c);
}

void Worker::MaybeReleaseSession(Client* c) {
  Backend* s = c->session;
  if (s == nullptr || !c->release_session || s->inflight() > 0) return;
  if (c->tx && (c->tx->in_multi || c->tx->watching || c->tx->exec_sent)) return;
  c->session = nullptr;
  c->release_session = false;
  sessions_.Release(s, true);
}

void Worker::CloseSessions(Client* c) {
  // Closing (not pooling) them ends what they carried: a transaction is discarded, a blocked pop
  // is not served to a client that is gone.
  if (c->session != nullptr) {
    sessions_.Release(c->session, false);
    c->session = nullptr;
  }
  for (Backend* b : c->temp_sessions) sessions_.Release(b, false);
  c->temp_sessions.clear();
  if (c->block) c->block->backend = nullptr;
}

void Worker::OnSessionLost(Backend* b, const std::string& why) {
  Client* c = b->owner;
  sessions_.OnLost(b);
  if (c == nullptr) return;
  spdlog::debug("client {}: session to {} lost: {}", c->id, b->address(), why);
  if (c->session == b) {
    c->session = nullptr;
    c->release_session = false;
    if (c->tx) {
      if (c->tx->watching) c->tx->watch_lost = true;
      if (c->tx->in_multi && c->tx->multi_sent) c->tx->dirty = true;  // what was queued is gone
      c->tx->multi_sent = false;
    }
  }
  Remove(&c->temp_sessions, b);
  if (c->block && c->block->backend == b) c->block->backend = nullptr;
}

// ---- blocking commands ----

void Worker::OnBlocking(Client* c, resp::Request& req, const CommandInfo& info) {
  keys_scratch_.clear();
  CommandTable::KeyIndexes(info, req.args, &keys_scratch_);
  const int argc = static_cast<int>(req.args.size());
  int slot = -1;
  if (keys_scratch_.empty()) {
    RouteKeyed(c, req, info, CommandKind::kKeyed);  // an arity error from a node
    return;
  }
  if (!SameSlot(req.args, keys_scratch_, &slot)) {
    stats_.errors.Inc();
    ReplyError(c, redis_errors::kCrossSlot);
    return;
  }
  int timeout_index = -1;
  bool millis = false;
  switch (info.timeout) {
    case TimeoutArg::kLastSeconds:
      timeout_index = argc - 1;
      break;
    case TimeoutArg::kFirstSeconds:
      timeout_index = 1;
      break;
    case TimeoutArg::kBlockMillis:
      millis = true;
      for (int i = 1; i + 1 < argc; ++i) {
        if (EqualsIgnoreCase(req.args[i], "streams")) break;
        if (EqualsIgnoreCase(req.args[i], "block")) timeout_index = i + 1;
      }
      break;
    case TimeoutArg::kNone:
      break;
  }
  int64_t timeout_ms = -1;
  if (timeout_index > 0 && timeout_index < argc) {
    if (millis) {
      int64_t v = 0;
      if (resp::ParseRedisInt(req.args[timeout_index], &v) && v >= 0) timeout_ms = v;
    } else {
      timeout_ms = ParseSecondsTimeout(req.args[timeout_index]);
    }
  }
  const std::string* owner = table_ ? table_->OwnerOf(slot) : nullptr;
  if (timeout_ms < 0 || owner == nullptr) {
    // A bad timeout is answered by the node at once, without blocking; an unserved slot too.
    RouteKeyed(c, req, info, CommandKind::kKeyed);
    return;
  }
  Backend* s = c->session != nullptr && c->session->address() == *owner
                   ? c->session
                   : sessions_.Acquire(*owner, c->resp, false, c);
  if (s == nullptr) {
    stats_.proxy_errors.Inc();
    ReplyError(c, errors::TooManySessions(config().max_sessions));
    return;
  }
  if (s != c->session) c->temp_sessions.push_back(s);
  auto block = std::make_unique<BlockState>();
  block->args.reserve(req.args.size());
  for (std::string_view a : req.args) block->args.emplace_back(a);
  block->timeout_index = timeout_index;
  block->millis = millis;
  block->started_ms = now_ms();
  block->deadline_ms = timeout_ms == 0 ? 0 : now_ms() + static_cast<uint64_t>(timeout_ms);
  block->slot = slot;
  block->backend = s;
  c->block = std::move(block);
  Op op;
  op.client = c;
  op.pending = c->Push();
  op.role = OpRole::kBlocking;
  op.slot = slot;
  op.deadline_ms = c->block->deadline_ms;
  if (config().slowlog_usec > 0) op.pending->start_ns = 0;  // blocking by design: not "slow"
  s->Send(std::move(op), RequestBytes(req));
  c->hold_input = true;  // a blocked client reads no further request
}

std::string Worker::BlockingCommand(const BlockState& b, uint64_t now) const {
  std::vector<std::string_view> args(b.args.begin(), b.args.end());
  std::string timeout;
  if (b.deadline_ms == 0) {
    timeout = "0";
  } else {
    const uint64_t left = b.deadline_ms > now ? b.deadline_ms - now : 1;
    timeout = b.millis ? std::to_string(left) : fmt::format("{:.3f}", double(left) / 1000.0);
  }
  args[static_cast<size_t>(b.timeout_index)] = timeout;
  std::string out;
  resp::AppendCommand(&out, std::span<const std::string_view>(args));
  return out;
}

void Worker::ReleaseBlockBackend(Client* c, bool clean) {
  if (!c->block || c->block->backend == nullptr) return;
  Backend* b = c->block->backend;
  c->block->backend = nullptr;
  if (b == c->session) return;
  Remove(&c->temp_sessions, b);
  sessions_.Release(b, clean);
}

void Worker::BlockingReply(Client* c, Op& op, const Action& action, std::string_view reply,
                           Backend* from) {
  switch (action.verdict) {
    case Verdict::kReissue:
    case Verdict::kRetryLater:
      if (c->block) {
        ReleaseBlockBackend(c, false);
        ++op.retries;
        if (action.verdict == Verdict::kRetryLater) {
          stats_.tryagain.Inc();
          RetryLater(std::move(op));
        } else {
          ReissueBlocking(c, std::move(op), action.address, action.asking);
        }
        return;
      }
      break;
    case Verdict::kTimedOut:
      BlockingTimedOut(c, op);
      return;
    default:
      break;
  }
  Deliver(c, op, reply);
  if (c->block) {
    ReleaseBlockBackend(c, true);
    c->block.reset();
  } else if (from != c->session) {
    Remove(&c->temp_sessions, from);
    sessions_.Release(from, true);
  }
  if (from == c->session) MaybeReleaseSession(c);
}

void Worker::ReissueBlocking(Client* c, Op&& op, const std::string& address, bool asking) {
  if (!c->block) {
    FailOp(op, errors::kBlockingLostState);
    return;
  }
  BlockState& b = *c->block;
  ReleaseBlockBackend(c, false);
  const uint64_t now = now_ms();
  if (b.deadline_ms != 0 && now >= b.deadline_ms) {
    BlockingTimedOut(c, op);
    return;
  }
  std::string target = address;
  if (target.empty()) {
    const std::string* owner = table_ ? table_->OwnerOf(b.slot) : nullptr;
    if (owner == nullptr) {
      // No owner yet (a failover in progress): wait, within the command's time.
      OpFacts facts = FactsOf(op);
      Action a = router_.OnError(facts, "CLUSTERDOWN Hash slot not served");
      if (a.verdict == Verdict::kRetryLater) {
        ++op.retries;
        RetryLater(std::move(op));
        return;
      }
      if (a.verdict == Verdict::kTimedOut) {
        BlockingTimedOut(c, op);
        return;
      }
      c->block.reset();
      FailOp(op, redis_errors::kClusterDownUnbound);
      return;
    }
    target = *owner;
  }
  Backend* s = c->session != nullptr && c->session->address() == target
                   ? c->session
                   : sessions_.Acquire(target, c->resp, false, c);
  if (s == nullptr) {
    c->block.reset();
    FailOp(op, errors::TooManySessions(config().max_sessions));
    return;
  }
  if (s != c->session) c->temp_sessions.push_back(s);
  b.backend = s;
  op.command = BlockingCommand(b, now);
  op.asking = asking;
  op.deadline_ms = b.deadline_ms;
  s->Send(std::move(op));
}

void Worker::BlockingTimedOut(Client* c, Op& op) {
  ReleaseBlockBackend(c, false);
  c->block.reset();
  // What a node answers a blocked list, zset or stream command that timed out (blocked.c
  // replyToBlockedClientTimedOut): a null array, BLMOVE included.
  Deliver(c, op, ReplyBuilder(c->resp).NullArray().str());
}

// ---- WAIT ----

void Worker::OnWait(Client* c, resp::Request& req, const CommandInfo&) {
  if (req.args.size() != 3) {
    ReplyError(c, errors::WrongArity("wait"));
    return;
  }
  int64_t replicas = 0, timeout = 0;
  const std::vector<Backend*>& masters = by_master_[c->resp == 3 ? 1 : 0];
  if (!resp::ParseRedisInt(req.args[1], &replicas) ||
      !resp::ParseRedisInt(req.args[2], &timeout) || timeout < 0 || masters.empty()) {
    // Answered by a node at once (Redis's own errors), without waiting.
    Op op;
    op.client = c;
    op.pending = c->Push();
    Dispatch(std::move(op), AnyMaster(c), RequestBytes(req));
    return;
  }
  // WAIT counts the replicas that acknowledged the client's last write. On a node, a
  // connection's "last write" offset is taken after each of its commands, so a fresh session
  // connection that first runs PING waits for everything written before (the client's earlier
  // writes are answered: HandleRequest held WAIT until then), on every master written to.
  std::vector<std::string> targets;
  for (Backend* w : c->written) {
    for (Backend* m : masters) {
      if (m == w) targets.push_back(m->address());
    }
  }
  if (targets.empty()) targets.push_back(masters[round_robin_++ % masters.size()]->address());
  PendingReply* p = c->Push();
  p->merger = std::make_unique<Merger>(MergeKind::kMinInt, targets.size());
  std::string_view bytes = RequestBytes(req);
  const uint64_t deadline = timeout == 0 ? 0 : now_ms() + static_cast<uint64_t>(timeout);
  for (size_t i = 0; i < targets.size(); ++i) {
    Backend* s = c->session != nullptr && c->session->address() == targets[i]
                     ? c->session
                     : sessions_.Acquire(targets[i], c->resp, false, c);
    Op op;
    op.client = c;
    op.pending = p;
    op.part = static_cast<int32_t>(i);
    op.role = OpRole::kWait;
    op.deadline_ms = deadline;
    if (s == nullptr) {
      FailOp(op, errors::TooManySessions(config().max_sessions));
      continue;
    }
    if (s != c->session) c->temp_sessions.push_back(s);
    SendInternal(s, kPingCommand);
    s->Send(std::move(op), bytes);
  }
  c->hold_input = true;  // WAIT blocks the client, as on a node
}

}  // namespace rs::proxy
