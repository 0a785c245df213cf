// One worker thread: its libuv loop, its listening socket (SO_REUSEPORT), its clients, its shared
// backend connections (one pipelined connection per node and protocol), its session pool and its
// copy of the routing table.
//
// The code is split by concern: worker.cc (loop, clients, flushing), worker_requests.cc (the
// fast path: classify, route, split, and replies through the Router), worker_sessions.cc (the
// session connections' lifecycle), worker_transactions.cc (MULTI/EXEC/WATCH), worker_blocking.cc
// (blocking commands, WAIT), proxy_commands.cc (the handler table and what the proxy answers
// itself; CLIENT in client_commands.cc), fanout.cc (commands that reach every node),
// worker_pubsub.cc (pub/sub commands; the multiplexing itself is PubSubHub's),
// worker_tracking.cc and tracking_sinks.cc (client-side caching).
#pragma once

#include <uv.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/resp_parser.h"
#include "proxy/backend.h"
#include "proxy/client.h"
#include "proxy/command_table.h"
#include "proxy/proxy_config.h"
#include "proxy/reply_builder.h"
#include "proxy/router.h"
#include "proxy/routing_table.h"
#include "proxy/session_pool.h"
#include "proxy/slow_log.h"
#include "proxy/stats.h"
#include "proxy/tracking.h"

namespace rs::proxy {

class Proxy;
class PubSubHub;
class ClientTracking;
struct TrackingSink;
struct WorkerTracking;

// Thread contract: everything below runs on the worker's own loop thread, except Post*(), which
// any thread may call, and stats(), which any thread may read.
class Worker {
 public:
  Worker(Proxy* proxy, int index);
  ~Worker();

  // Binds the listening socket (in the caller's thread, so bind errors reach main) and starts the
  // loop thread.
  Status Start(const std::string& host, uint16_t port);
  // Asks the loop to stop and joins the thread.
  void Stop();

  // Any thread: hands a new routing table to this worker.
  void PostTable(RoutingTablePtr table);

  const WorkerStats& stats() const { return stats_; }
  // The port the listening socket got (for --listen with port 0).
  uint16_t bound_port();
  const ProxyConfig& config() const;
  uv_loop_t* loop() { return &loop_; }
  uint64_t now_ms() { return uv_now(&loop_); }
  uint64_t batch_ns() const { return batch_ns_; }
  // Reads the clock once per batch of input (a client's or a backend's read).
  void StampBatch() { batch_ns_ = uv_hrtime(); }
  Proxy* proxy() { return proxy_; }
  int index() const { return index_; }
  const RoutingTable* table() const { return table_.get(); }

  // How long `op`'s request has taken by this batch when that is over --slowlog-usec, else 0.
  uint64_t SlowRequestUs(const Op& op) const;

  // Called by backends and clients.
  // `from`: the connection the reply came on.
  void OnReply(Op& op, std::string_view reply, bool is_error, std::string_view error_line,
               Backend* from);
  // The op's connection failed, or could not be made (`error` is what a plain request's client
  // is told). sent: its request was written to the node (which may have run it).
  void OnOpLost(Op& op, std::string_view address, std::string_view error, bool sent);
  // A session connection failed (after its ops were lost).
  void OnSessionLost(Backend* b, const std::string& why);
  // A session was retired: close it at the end of this loop turn.
  void MarkRetired() { retired_pending_ = true; }
  void MarkDirty(Backend* b);
  void MarkDirty(Client* c);
  void ClientReadable(Client* c, const char* data, size_t n);
  void CloseClient(Client* c, const char* why);
  void MaybeFree(Client* c);
  char* read_buffer() { return read_buffer_.get(); }
  size_t read_buffer_size() const { return kReadBufferSize; }
  void RequestRefresh();
  // The connection to `address` failed (refused, reset, timed out): the proxy checks who serves
  // that node's slots now, even while following the controller.
  void ReportBackendFailure(const std::string& address);
  // Routes `slot` to `address` from now on (a MOVED reply); a refresh confirms it later.
  void PatchSlotOwner(int slot, const std::string& address);
  // Out-of-band data for `c` (a MONITOR line, a pub/sub message), in order with its replies.
  void Push(Client* c, std::string_view data) {
    if (c->closing) return;
    c->PushData(data);
    MarkDirty(c);
  }
  // Snapshot of backend latencies for INFO: "addr:replies:avg_us".
  std::string BackendReport();

  // Client-side caching (worker_tracking.cc), called by backends and the session pool:
  // an out-of-band push on a session connection (a node's invalidation);
  void OnSessionPush(Backend* b, std::string_view reply);
  // a client's tracking session given up unclean or lost (it is not its connection any more);
  void OnTrackingSessionDropped(Backend* b);
  // a reply on one of `c`'s sinks (its CLIENT ID, then invalidations), and a sink's failure.
  void OnTrackingSinkReply(Client* c, Backend* b, std::string_view reply,
                           const resp::ReplyInfo& info);
  void OnTrackingSinkLost(Client* c, Backend* b);

 private:
  static constexpr size_t kReadBufferSize = 64 * 1024;
  // A client held back (blocked, waiting its turn) buffers at most this much input.
  static constexpr size_t kHeldInputLimit = 1024 * 1024;
  using HandlerFn = void (Worker::*)(Client*, resp::Request&, const CommandInfo&);
  // Indexed by Handler.
  static const HandlerFn* HandlerTable();

  void Run();
  void InstallTable(RoutingTablePtr table);
  // The shared connection to `address` in protocol `resp` (READONLY connections for replicas).
  Backend* BackendFor(const std::string& address, uint8_t resp = 2, bool readonly = false);
  // The connection a client's request on `slot` goes over: its session when it holds one to
  // that node, else the shared one (a replica's for a replica read).
  Backend* BackendForSlot(Client* c, int slot, bool replica_read = false);
  // A shared connection to a master of the table (not a replica's, not a session).
  bool IsMasterConnection(const Backend* b) const;
  // `b`, or during a CLIENT PAUSE sent through the proxy a session of the client's own to that
  // node (worker_requests.cc says why).
  Backend* ForPause(Client* c, Backend* b);
  static constexpr size_t kPauseSessionBudget = 256;
  Backend* AnyMaster(Client* c);
  // `b`, or the client's session when that goes to the same node.
  Backend* Via(Client* c, Backend* b);

  // ---- the request path (worker_requests.cc) ----
  // False: the request must wait until every earlier request of the client is answered (it
  // stays in the input buffer and is handled again then).
  bool HandleRequest(Client* c, resp::Request& req);
  // `command`: the request bytes (Dispatch without them sends the bytes the op carries).
  void Dispatch(Op&& op, Backend* backend, std::string_view command);
  void Dispatch(Op&& op, Backend* backend);
  void SendToSlot(Client* c, PendingReply* p, int slot, std::string_view command, int part,
                  bool write, bool replica_read = false);
  // The request's bytes as a node reads them: the raw bytes, or inline commands re-encoded into
  // `inline_scratch_`.
  std::string_view RequestBytes(const resp::Request& req);
  void RouteKeyed(Client* c, resp::Request& req, const CommandInfo& info, CommandKind kind);
  void FanOut(Client* c, resp::Request& req, MergeKind kind);
  void SplitRequest(Client* c, resp::Request& req, const CommandInfo& info,
                    const std::vector<int>& keys);
  void Reply(Client* c, std::string_view reply);
  void ReplyError(Client* c, std::string_view text);
  // The reply text with the proxy's counters (errors) kept.
  void Deliver(Client* c, Op& op, std::string_view reply);
  void FailOp(Op& op, std::string_view error_text);
  void RetryLater(Op&& op);
  void LogSlow(const Op& op, const std::string& backend);
  OpFacts FactsOf(const Op& op) const;
  void FlushAll();
  void Tick();
  // Logs the slow requests the limiter kept out of the log in seconds that are over.
  void LogSuppressedSlowRequests(uint64_t now_ns);
  void FlushClient(Client* c);

  // ---- sessions: transactions (worker_transactions.cc), blocking commands and WAIT
  // (worker_blocking.cc), the sessions themselves (worker_sessions.cc) ----
  // The session for the client's transaction, on the master of `slot` (any master for -1),
  // replaying the transaction there if it was queued elsewhere. nullptr: the client was told.
  Backend* TxSession(Client* c, int slot);
  void TxQueue(Client* c, resp::Request& req, const CommandInfo* info);
  void TxRefuse(Client* c, std::string_view error);
  void TxReplay(Client* c, Op&& redirected, const std::string& address, bool asking);
  // Moves the transaction to a new session on `address`: MULTI, the commands already answered
  // (replies dropped), then `redirected` (if any) and the ops still in flight, in order.
  bool TxMove(Client* c, const std::string& address, Op* redirected);
  void TxAbortWatch(Client* c, Op& op);
  void TxReset(Client* c);
  // Gives the client's session back once nothing is in flight on it.
  void EndSession(Client* c);
  void MaybeReleaseSession(Client* c);
  void CloseSessions(Client* c);
  void ReleaseTempSession(Client* c, Backend* b);
  // A session of its own for one request to `address` (nullptr: --max-sessions reached).
  Backend* TempSession(Client* c, const std::string& address);
  void BlockingReply(Client* c, Op& op, const Action& action, std::string_view reply,
                     Backend* from);
  void ReissueBlocking(Client* c, Op&& op, const std::string& address, bool asking);
  void BlockingTimedOut(Client* c, Op& op);
  void ReleaseBlockBackend(Client* c, bool clean);
  std::string BlockingCommand(const BlockState& b, uint64_t now_ms) const;

  // ---- client-side caching (worker_tracking.cc; REDIRECT's sinks in tracking_sinks.cc) ----
  // CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO (`sub` in lower case).
  void OnClientTracking(Client* c, resp::Request& req, std::string_view sub);
  // HandleRequest for a client with tracking state: CLIENT CACHING's lifetime around it.
  bool HandleTracked(Client* c, resp::Request& req);
  // The session for `c`'s connection state on `address` (a transaction, a blocking command): its
  // tracking session while it tracks, else one from the pool. nullptr: --max-sessions reached.
  Backend* AcquireSession(Client* c, const std::string& address);
  // Via for a tracking client: its tracking session to a master.
  Backend* TrackingVia(Client* c, Backend* b);
  // CLIENT CACHING before a request about to go over `s`, when it applies.
  void SendCaching(Client* c, Backend* s);
  // HELLO switched a tracking client's protocol: its sessions follow.
  void TrackingProtocolChanged(Client* c, uint8_t resp);
  // CLIENT TRACKING off, and RESET: its sessions are set back and given back.
  void DisableTracking(Client* c);
  // The client disconnects: its sessions and sinks are closed, and it is no redirect target.
  void EndTracking(Client* c);
  void TickTracking(uint64_t now, bool loop_stalled);
  ClientTracking& TrackingOf(Client* c);
  void EnableTracking(Client* c, const TrackingCommand& cmd);
  // The tracking session to `address`, set up now if there is none. nullptr: none could be had
  // (--max-sessions, or REDIRECT's sink for that node is not ready yet).
  Backend* TrackingSession(Client* c, const std::string& address);
  // A request of `c` goes to a master untracked: it is told to forget every key after its reply.
  void Untracked(Client* c);
  // A null invalidation where `c`'s invalidations go: the nodes may have forgotten what it read.
  void InvalidateAll(Client* c);
  void ForwardInvalidation(Client* c, const TrackingPush& push);
  // `bytes` for `c` before the reply of its oldest request still waiting on `b`, where the node
  // wrote them; at the end of its queue when none waits there.
  void DeliverBefore(Client* c, Backend* b, std::string_view bytes);
  void StartSinks(Client* c);
  bool SinksReady(Client* c);
  void MaybeFinishWaiting(Client* c);
  void RetireSink(TrackingSink* sink);
  Client* FindClientById(int64_t id);

  // ---- handlers (proxy_commands.cc and client_commands.cc: answered by the proxy) ----
  void OnPing(Client* c, resp::Request& req, const CommandInfo& info);
  void OnEcho(Client* c, resp::Request& req, const CommandInfo& info);
  void OnQuit(Client* c, resp::Request& req, const CommandInfo& info);
  void OnSelect(Client* c, resp::Request& req, const CommandInfo& info);
  void OnAuth(Client* c, resp::Request& req, const CommandInfo& info);
  void OnHello(Client* c, resp::Request& req, const CommandInfo& info);
  void OnClient(Client* c, resp::Request& req, const CommandInfo& info);
  void OnCluster(Client* c, resp::Request& req, const CommandInfo& info);
  void OnAcl(Client* c, resp::Request& req, const CommandInfo& info);
  void OnReadonly(Client* c, resp::Request& req, const CommandInfo& info);
  void OnReadwrite(Client* c, resp::Request& req, const CommandInfo& info);
  void OnReset(Client* c, resp::Request& req, const CommandInfo& info);
  void ClientKill(Client* c, resp::Request& req);
  void ClientUnblock(Client* c, resp::Request& req);
  // (worker_transactions.cc, worker_blocking.cc)
  void OnMulti(Client* c, resp::Request& req, const CommandInfo& info);
  void OnExec(Client* c, resp::Request& req, const CommandInfo& info);
  void OnDiscard(Client* c, resp::Request& req, const CommandInfo& info);
  void OnWatch(Client* c, resp::Request& req, const CommandInfo& info);
  void OnUnwatch(Client* c, resp::Request& req, const CommandInfo& info);
  void OnBlocking(Client* c, resp::Request& req, const CommandInfo& info);
  void OnWait(Client* c, resp::Request& req, const CommandInfo& info);
  // (fanout.cc)
  void OnKeys(Client* c, resp::Request& req, const CommandInfo& info);
  void OnRandomKey(Client* c, resp::Request& req, const CommandInfo& info);
  void OnFlush(Client* c, resp::Request& req, const CommandInfo& info);
  void OnConfig(Client* c, resp::Request& req, const CommandInfo& info);
  void OnScript(Client* c, resp::Request& req, const CommandInfo& info);
  void OnFunction(Client* c, resp::Request& req, const CommandInfo& info);
  void OnSlowlog(Client* c, resp::Request& req, const CommandInfo& info);
  void OnLatency(Client* c, resp::Request& req, const CommandInfo& info);
  void OnMemory(Client* c, resp::Request& req, const CommandInfo& info);
  void OnMonitor(Client* c, resp::Request& req, const CommandInfo& info);
  void OnDedicated(Client* c, resp::Request& req, const CommandInfo& info);
  void OnScan(Client* c, resp::Request& req, const CommandInfo& info);
  void OnScriptCall(Client* c, resp::Request& req, const CommandInfo& info);
  // `command` to every master, each over a session of its own (SCRIPT KILL must not wait
  // behind the very script it kills on a shared connection).
  void FanOutSessions(Client* c, std::string_view command, NodeMergeFn merge);
  // (a handler without code yet: none left)
  void OnNotYet(Client* c, resp::Request& req, const CommandInfo& info);
  // Every master's shared connection, then every replica's.
  std::vector<Backend*> AllNodes(Client* c);
  // Sends `command` to each of `targets` and answers with `merge` over their replies.
  void FanOutMerged(Client* c, std::string_view command, const std::vector<Backend*>& targets,
                    NodeMergeFn merge);
  // The same with a command of its own for each part (parts may share a backend).
  void FanOutCommands(Client* c, const std::vector<std::pair<Backend*, std::string>>& parts,
                      NodeMergeFn merge);
  void ToAnyMaster(Client* c, resp::Request& req);
  void EndMonitor(Client* c);
  // A MONITOR line for a command the proxy answers itself, to this worker's monitors.
  void FeedMonitors(Client* c, const resp::Request& req, Handler handler);

  // ---- pub/sub (worker_pubsub.cc) ----
  // SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE (told apart by info.handler), and their undoing.
  void OnSubscribe(Client* c, resp::Request& req, const CommandInfo& info);
  void OnUnsubscribe(Client* c, resp::Request& req, const CommandInfo& info);
  void OnPubsub(Client* c, resp::Request& req, const CommandInfo& info);
  void OnPublish(Client* c, resp::Request& req, const CommandInfo& info);
  // The hub carrying `c`'s subscriptions: the worker's, or with --pubsub-connection-per-client
  // one of the client's own (created here).
  PubSubHub* HubFor(Client* c);
  // The client leaves subscribed mode (RESET, `flush_held`) or goes away.
  void DropSubscriptions(Client* c, bool flush_held);
  // The worker's hooks: its tick, a new routing table, shutdown.
  void TickPubSub(uint64_t now, bool loop_stalled);
  void PubSubTableChanged();
  void ShutdownPubSub();

  static void OnConnection(uv_stream_t* server, int status);
  static void OnAsync(uv_async_t* h);
  static void OnCheck(uv_check_t* h);
  static void OnTimer(uv_timer_t* h);
  static void OnRetryTimer(uv_timer_t* h);

  // ---- INFO's deadline (worker_requests.cc) ----
  // An INFO fanned out to the masters, answered without the nodes still silent at its deadline.
  struct InfoWait {
    Client* client;
    PendingReply* pending;
    uint64_t deadline_ms;
    std::vector<Backend*> backends;  // per part: where its op was sent
  };
  static constexpr uint64_t kInfoDeadlineMs = 200;
  static void OnInfoTimer(uv_timer_t* h);
  void ExpireInfo(const InfoWait& wait);
  // The INFO of `p` is complete (or its client is going): no deadline for it any more.
  void ForgetInfoWait(const PendingReply* p);
  void ForgetInfoWaits(const Client* c);

  Proxy* proxy_;
  int index_;
  uv_loop_t loop_;
  uv_tcp_t listener_;
  uv_async_t async_;
  uv_check_t check_;
  uv_timer_t timer_;
  uint64_t last_tick_ms_ = 0;  // Loop time of the last Tick.
  uint64_t last_sweep_ms_ = 0;
  uv_timer_t retry_timer_;
  uv_timer_t info_timer_;
  std::vector<InfoWait> info_waits_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  std::mutex posted_mu_;
  RoutingTablePtr posted_;  // guarded by posted_mu_

  Router router_;
  ReadFrom read_from_ = ReadFrom::kMaster;
  RoutingTablePtr table_;
  // Shared connections, parallel to table_->masters: [0] RESP2, [1] RESP3.
  std::vector<Backend*> by_master_[2];
  // Parallel to table_->masters: serves at least one slot. A master whose slots moved away (a
  // failover the proxy followed itself, before the controller's next table) may be a replica
  // by now: WAIT skips it.
  std::vector<bool> serves_slots_;
  // Shared connections by address: [resp - 2][readonly].
  std::unordered_map<std::string, std::unique_ptr<Backend>> backends_[2][2];
  SessionPool sessions_;
  std::unique_ptr<PubSubHub> pubsub_;
  std::unique_ptr<WorkerTracking> tracking_;
  // --pubsub-connection-per-client (a diagnostic, to measure what multiplexing saves): each
  // subscribed client's own hub, with its own connections.
  std::unordered_map<Client*, std::unique_ptr<PubSubHub>> client_hubs_;
  // Per-client hubs given up (--pubsub-connection-per-client), deleted at the next tick, when no
  // write of their connections is pending.
  std::vector<std::unique_ptr<PubSubHub>> retired_hubs_;
  std::vector<std::unique_ptr<Backend>> retired_streams_;  // closed at the end of the turn
  bool retired_pending_ = false;
  bool park_request_ = false;  // a handler asks for its request to wait (HandleRequest)
  std::vector<Client*> monitors_;  // clients in MONITOR mode
  size_t round_robin_ = 0;
  size_t replica_pick_ = 0;
  std::vector<Backend*> dirty_backends_;
  std::vector<Client*> dirty_clients_;
  std::vector<Op> retry_ops_;
  Client* clients_ = nullptr;
  uint64_t next_client_id_ = 1;
  uint64_t batch_ns_ = 0;
  std::unique_ptr<char[]> read_buffer_;
  resp::Request scratch_;
  std::string inline_scratch_;
  std::vector<int> keys_scratch_;
  WorkerStats stats_;
  SlowLogLimiter slow_log_;
};

}  // namespace rs::proxy
