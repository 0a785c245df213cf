#include "proxy/router.h"

#include "proxy/proxy_errors.h"
#include "proxy/redirect.h"

namespace rs::proxy {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

Action Make(Verdict v) {
  Action a;
  a.verdict = v;
  return a;
}

}  // namespace

Action Router::OnError(const OpFacts& op, std::string_view line) const {
  if (op.role == OpRole::kInternal) return Make(Verdict::kDeliver);
  // Redis 7.0 unblocks a blocked client with UNBLOCKED when its master turns into a replica
  // (blocked.c disconnectAllBlockedClients). Other UNBLOCKED errors ("the stream key no longer
  // exists", CLIENT UNBLOCK ... ERROR) are the command's answer.
  if (op.role == OpRole::kBlocking && StartsWith(line, "UNBLOCKED ") &&
      line.find("instance state changed") != std::string_view::npos) {
    if (op.remaining_ms == 0) return Make(Verdict::kTimedOut);
    Action a = Make(Verdict::kReissue);
    a.refresh = true;
    return a;
  }
  Redirect r = ParseRedirect(line);
  switch (r.kind) {
    case RedirectKind::kNone:
      return Make(Verdict::kDeliver);
    case RedirectKind::kMoved:
    case RedirectKind::kAsk: {
      if (op.redirects >= policy_.max_redirects) return Make(Verdict::kDeliver);
      const bool moved = r.kind == RedirectKind::kMoved;
      Action a;
      a.address = r.address;
      a.asking = !moved;
      if (moved) {
        a.patch_slot = r.slot;
        a.refresh = true;
      }
      switch (op.role) {
        case OpRole::kPlain:
          a.verdict = Verdict::kFollow;
          return a;
        case OpRole::kTxQueued:
        case OpRole::kTxExec:
          // A redirected command was not queued, and a redirected EXEC discarded the
          // transaction: nothing ran. A WATCH cannot be carried to another node.
          a.verdict = op.watching ? Verdict::kAbortWatch : Verdict::kReplay;
          return a;
        case OpRole::kWatch:
          a.verdict = Verdict::kAbortWatch;
          return a;
        case OpRole::kBlocking:
          if (op.remaining_ms == 0) return Make(Verdict::kTimedOut);
          a.verdict = Verdict::kReissue;
          return a;
        case OpRole::kWait:
        case OpRole::kInternal:
          break;
      }
      return Make(Verdict::kDeliver);
    }
    case RedirectKind::kTryAgain:
    case RedirectKind::kClusterDown: {
      if (op.role == OpRole::kBlocking) {
        if (op.remaining_ms == 0) return Make(Verdict::kTimedOut);
        const int64_t budget =
            op.remaining_ms > 0 ? op.remaining_ms : policy_.blocking_retry_ms;
        if (int64_t{op.retries} * policy_.retry_backoff_ms >= budget) {
          return Make(Verdict::kDeliver);
        }
        Action a = Make(Verdict::kRetryLater);
        a.refresh = r.kind == RedirectKind::kClusterDown;
        return a;
      }
      // Inside a transaction Redis has flagged it (EXEC will answer EXECABORT) or discarded it:
      // the client sees the error, as it would from the node.
      if (op.role != OpRole::kPlain || op.retries >= policy_.max_retries) {
        return Make(Verdict::kDeliver);
      }
      return Make(Verdict::kRetryLater);
    }
  }
  return Make(Verdict::kDeliver);
}

Action Router::OnConnectionLost(const OpFacts& op, std::string_view address,
                                std::string_view error) const {
  Action a;
  a.refresh = true;
  switch (op.role) {
    case OpRole::kTxExec:
      a.verdict = Verdict::kFail;
      // Not sent: the node discards the transaction with the connection; `error` says so.
      a.error = op.sent ? errors::ExecOutcomeUnknown(address, error) : std::string(error);
      return a;
    case OpRole::kBlocking: {
      // Nothing was popped for a client whose reply never came (unless the node died between
      // the pop and the write, which no proxy can tell): wait for the slot's next owner.
      if (op.remaining_ms == 0) return Make(Verdict::kTimedOut);
      const int64_t budget = op.remaining_ms > 0 ? op.remaining_ms : policy_.blocking_retry_ms;
      if (int64_t{op.retries} * policy_.retry_backoff_ms < budget) {
        a.verdict = Verdict::kRetryLater;
        return a;
      }
      a.verdict = Verdict::kFail;
      a.error = std::string(error);
      return a;
    }
    case OpRole::kPlain:
    case OpRole::kTxQueued:
    case OpRole::kWatch:
    case OpRole::kWait:
    case OpRole::kInternal:
      break;
  }
  a.verdict = Verdict::kFail;
  a.error = std::string(error);
  return a;
}

bool ParseReadFrom(std::string_view text, ReadFrom* out) {
  if (text == "master") {
    *out = ReadFrom::kMaster;
  } else if (text == "prefer-replica") {
    *out = ReadFrom::kPreferReplica;
  } else if (text == "replica") {
    *out = ReadFrom::kReplica;
  } else {
    return false;
  }
  return true;
}

const std::string* Router::Target(const RoutingTable& table, int slot, bool replica_read,
                                  ReadFrom read_from, size_t pick, bool* is_replica) {
  if (is_replica) *is_replica = false;
  const int16_t o = table.owner[slot];
  if (o < 0) return nullptr;
  if (replica_read && read_from != ReadFrom::kMaster &&
      static_cast<size_t>(o) < table.replica_healthy.size()) {
    const std::vector<bool>& ok = table.replica_healthy[o];
    const std::vector<std::string>& reps = table.replicas[o];
    size_t healthy = 0;
    for (size_t i = 0; i < ok.size() && i < reps.size(); ++i) healthy += ok[i];
    if (healthy > 0) {
      size_t want = pick % healthy;
      for (size_t i = 0; i < ok.size() && i < reps.size(); ++i) {
        if (!ok[i]) continue;
        if (want-- == 0) {
          if (is_replica) *is_replica = true;
          return &reps[i];
        }
      }
    }
  }
  return &table.masters[o];
}

}  // namespace rs::proxy
