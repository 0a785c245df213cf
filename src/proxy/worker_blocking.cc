// Blocking commands (BLPOP and the rest, XREAD/XREADGROUP BLOCK) and WAIT, each on a session
// connection of the client's. A blocked command the node unblocks with a redirect (the slot
// moved, a failover) is re-issued at the new owner with what is left of its timeout, so the
// client sees one reply; WAIT goes to the masters the client wrote to over sessions of its own,
// so it never stalls a shared connection.
#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "common/redis_errors.h"
#include "common/resp_parser.h"
#include "common/resp_writer.h"
#include "proxy/proxy.h"
#include "proxy/proxy_errors.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

constexpr std::string_view kPingCommand = "*1\r\n$4\r\nPING\r\n";

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

}  // namespace

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
                   : AcquireSession(c, *owner);
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
  c->ForgetTempSession(b);
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
    c->ForgetTempSession(from);
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
                   : AcquireSession(c, target);
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
  if (!resp::ParseRedisInt(req.args[1], &replicas) || !resp::ParseRedisInt(req.args[2], &timeout) ||
      timeout < 0 || masters.empty()) {
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
  // Masters that no longer serve a slot are skipped: their writes moved with the slots (or were
  // lost in a failover) and such a node may be a replica by now, which refuses WAIT.
  std::vector<std::string> targets;
  for (Backend* w : c->written) {
    for (size_t i = 0; i < masters.size(); ++i) {
      if (masters[i] == w && serves_slots_[i]) targets.push_back(masters[i]->address());
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
    s->SendInternal(kPingCommand);
    s->Send(std::move(op), bytes);
  }
  c->hold_input = true;  // WAIT blocks the client, as on a node
}

}  // namespace rs::proxy
