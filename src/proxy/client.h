// One client connection: its parser state, its replies in request order, its output buffer, and
// the connection state Redis keeps per client (protocol, transaction, blocking, subscriptions).
#pragma once

#include <uv.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/resp_parser.h"
#include "proxy/buffer.h"
#include "proxy/request.h"

namespace rs::proxy {

class Worker;
class Backend;
struct Subscriptions;
struct MonitorState;
class ClientTracking;

// MULTI / WATCH state. Redis Cluster's rule: every key of a transaction, WATCHed keys included,
// is in one slot, so the whole transaction runs on that slot's master over one session
// connection (Client::session).
struct TxState {
  bool in_multi = false;
  bool watching = false;
  bool dirty = false;       // a command was refused while queuing: EXEC answers EXECABORT
  bool watch_lost = false;  // the WATCH could not be kept (node lost, slot moved): EXEC is nil
  bool asking = false;      // queued on an importing node after ASK (ASKING sent before MULTI)
  bool multi_sent = false;  // the session's node is in MULTI for this transaction
  bool exec_sent = false;   // EXEC is on its way; the state lives until its reply
  int slot = -1;            // the slot of the transaction's keys, once one was seen
  uint8_t replays = 0;
  std::string multi_bytes;  // the client's own MULTI, sent when the transaction is pinned
  // The bytes of every command sent to the node in this MULTI, in order: replayed on another
  // node after MOVED or ASK.
  std::vector<std::string> queued;
};

// A blocking command (BLPOP, XREAD BLOCK, ...) that waits on a session connection; the client
// reads no further request until it is answered, as Redis does with a blocked client.
struct BlockState {
  std::vector<std::string> args;  // the request, to send again with the time left
  int timeout_index = -1;         // which argument is the timeout
  bool millis = false;            // XREAD BLOCK: milliseconds; otherwise seconds
  uint64_t deadline_ms = 0;       // loop time it times out at; 0: blocks for ever
  uint64_t started_ms = 0;
  int slot = -1;
  Backend* backend = nullptr;     // the session it waits on (nullptr while between nodes)
};

enum class ReplyMode : uint8_t { kOn, kOff, kSkipNext };

// Thread contract: owned by its worker loop. Lives until its handle is closed AND no backend op
// still points at it (`inflight == 0`): an op in a backend's queue or the retry list keeps the
// object (not the socket) alive after the client disconnects, and its reply is then dropped.
// Session connections it holds are closed when it disconnects.
class Client {
 public:
  Client(Worker* worker, uint64_t id);
  ~Client();

  // A reply slot at the back of the queue, in request order.
  PendingReply* Push() {
    if (!queue) queue = std::make_unique<std::deque<PendingReply>>();
    queue->emplace_back();
    queue->back().suppressed = suppress_current;
    return &queue->back();
  }
  // Out-of-band data (a pub/sub message, a MONITOR line): after the replies queued before it,
  // never dropped by CLIENT REPLY.
  void PushData(std::string_view data) {
    if (queued() == 0) {
      out.Append(data);
      return;
    }
    queue->emplace_back();
    queue->back().data.assign(data);
    queue->back().done = true;
  }
  // Marks `p` done with `reply`; replies at the head of the queue move to the output buffer.
  void Complete(PendingReply* p, std::string_view reply);
  void CompleteOwned(PendingReply* p, std::string&& reply);
  void Drain();
  size_t queued() const { return queue ? queue->size() : 0; }
  bool in_multi() const { return tx && tx->in_multi; }
  bool subscribed() const;
  // The id CLIENT ID answers (unique on its worker thread).
  int64_t public_id() const { return static_cast<int64_t>(id & 0xffffffffffffULL); }
  // This connection's address (peer: the client's; else the proxy's end, the address the client
  // reached the proxy at), or ("?" / "127.0.0.1", 0) when the socket cannot say.
  std::pair<std::string, int> SocketAddress(bool peer) const;

  uv_tcp_t tcp;
  Worker* worker;
  uint64_t id;
  resp::RequestParser parser;
  Buffer in;
  Buffer out;
  std::unique_ptr<std::deque<PendingReply>> queue;
  std::string name;
  size_t inflight = 0;  // ops in backends that point here
  size_t writing = 0;   // bytes handed to uv_write, not yet confirmed
  uint64_t last_active_ms = 0;
  uint64_t connected_ms = 0;
  uint16_t last_cmd = UINT16_MAX;  // CommandTable index of its last command (CLIENT LIST)
  uint8_t resp = 2;  // 3 after HELLO 3
  ReplyMode reply_mode = ReplyMode::kOn;
  bool suppress_current = false;  // the request being handled is answered into the void
  bool authed = false;
  bool closing = false;            // handle close requested
  bool closed = false;             // handle close callback ran
  bool close_after_flush = false;  // QUIT, protocol error
  bool reading = true;
  bool dirty = false;        // on the worker's flush list
  bool readonly = false;     // READONLY: read-only commands may go to replicas (--read-from)
  // The next request waits until every earlier one is answered (a blocked client, a request that
  // needs a session connection while others are in flight, WAIT).
  bool hold_input = false;
  bool monitor = false;  // MONITOR: the connection only streams
  // The session connection the client holds for its transaction / WATCH; while held, every
  // request of the client to that node goes over it, so its requests keep their order.
  Backend* session = nullptr;
  bool release_session = false;  // give `session` back once nothing is in flight on it
  std::unique_ptr<TxState> tx;
  std::unique_ptr<BlockState> block;
  std::unique_ptr<Subscriptions> subs;
  std::unique_ptr<MonitorState> monitor_state;
  // CLIENT TRACKING (tracking_client.h): while set, its requests to masters go over its tracking
  // sessions.
  std::unique_ptr<ClientTracking> tracking;
  // The shared connections this client sent writes over: WAIT waits on their masters.
  std::vector<Backend*> written;
  // Session connections held for one request (WAIT's, a blocking command's other than
  // `session`): closed if the client disconnects first.
  std::vector<Backend*> temp_sessions;
  // Takes `b` out of temp_sessions; false if it was not there.
  bool ForgetTempSession(const Backend* b) {
    auto it = std::find(temp_sessions.begin(), temp_sessions.end(), b);
    if (it == temp_sessions.end()) return false;
    temp_sessions.erase(it);
    return true;
  }
  Client* prev = nullptr;  // worker's list of live clients
  Client* next = nullptr;
};

}  // namespace rs::proxy
