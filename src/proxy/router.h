// The routing and redirect policy of a worker, as a pure class: where a request goes, and what to
// do when a node answers with a redirect or a retry (MOVED, ASK, TRYAGAIN, CLUSTERDOWN,
// UNBLOCKED) or the connection carrying a request is lost. It returns an Action; the worker,
// which owns the sockets, carries it out. No libuv, no clock: time comes in as arguments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/routing_table.h"

namespace rs::proxy {

// What a request is to its client, which decides what a redirect may do to it.
enum class OpRole : uint8_t {
  kPlain,     // an ordinary request: follow redirects, retry TRYAGAIN/CLUSTERDOWN
  kTxQueued,  // a command queued inside MULTI on a session: its reply is +QUEUED or an error
  kTxExec,    // the EXEC of a transaction
  kBlocking,  // a blocking command (BLPOP, XREAD BLOCK, ...) waiting on a session
  kWatch,     // WATCH on a session: a redirect means the watch cannot be kept
  kWait,      // WAIT on a session: waits by design, never resent
  kInternal,  // the proxy's own command (AUTH, HELLO, ASKING, a replayed MULTI): reply dropped
};

enum class Verdict : uint8_t {
  kDeliver,     // the reply goes to the client as it is
  kFollow,      // send the request again to `address` (after ASKING when `asking`)
  kRetryLater,  // send it again after the retry backoff, to the slot's owner then
  kReplay,      // transaction: replay it (MULTI and what was queued) at `address`
  kAbortWatch,  // transaction with a WATCH that cannot move: QUEUED now, a nil EXEC later
  kReissue,     // blocking command: send it again to the slot's owner with the time left
  kTimedOut,    // blocking command whose time ran out: the client gets the timeout reply
  kFail,        // the client gets `error`
};

struct Action {
  Verdict verdict = Verdict::kDeliver;
  std::string address;  // kFollow, kReplay: where to; kReissue: the MOVED target, if any
  bool asking = false;  // kFollow, kReplay: ASKING before the command(s)
  int patch_slot = -1;  // MOVED: the worker's table should route this slot to `address`
  bool refresh = false;  // ask for a coalesced topology refresh
  std::string error;     // kFail
};

// What the router needs to know about the request a reply belongs to.
struct OpFacts {
  OpRole role = OpRole::kPlain;
  uint8_t redirects = 0;  // redirects followed so far
  uint8_t retries = 0;    // TRYAGAIN / CLUSTERDOWN / connection retries so far
  bool watching = false;  // kTxQueued / kTxExec: the transaction has a WATCH
  // kBlocking: milliseconds left of the command's own timeout; -1 when it blocks for ever.
  int64_t remaining_ms = -1;
  // OnConnectionLost: the request was written to the node before the connection was lost.
  bool sent = true;
};

struct RouterPolicy {
  int max_redirects = 5;
  int max_retries = 10;  // TRYAGAIN / CLUSTERDOWN
  int retry_backoff_ms = 20;
  // A blocking command whose node was lost is sent again for at most this long when it would
  // block for ever (a failover takes seconds); with a timeout, until its timeout.
  int64_t blocking_retry_ms = 30000;
};

// Where a read-only command of a READONLY client goes (--read-from).
enum class ReadFrom : uint8_t { kMaster, kPreferReplica, kReplica };
// "master", "prefer-replica", "replica"; false for anything else.
bool ParseReadFrom(std::string_view text, ReadFrom* out);

// Thread contract: immutable after construction; any thread.
class Router {
 public:
  explicit Router(RouterPolicy policy = {}) : policy_(policy) {}

  const RouterPolicy& policy() const { return policy_; }

  // A node answered the request with the error `line` (the text after '-'). kDeliver when the
  // error is the client's to see.
  Action OnError(const OpFacts& op, std::string_view line) const;

  // The connection to `address` carrying the request failed (or could not be made) before its
  // reply came; `error` is what a plain request's client is told.
  Action OnConnectionLost(const OpFacts& op, std::string_view address,
                          std::string_view error) const;

  // The node for a request on `slot`, or nullptr when the slot has no owner. A replica read (a
  // read-only command of a READONLY client) may go to one of the master's replicas that the
  // table marks healthy, picked by `pick` (a counter the caller advances, to spread the reads);
  // `*is_replica` says which it got.
  static const std::string* Target(const RoutingTable& table, int slot, bool replica_read,
                                   ReadFrom read_from, size_t pick, bool* is_replica);

 private:
  RouterPolicy policy_;
};

}  // namespace rs::proxy
