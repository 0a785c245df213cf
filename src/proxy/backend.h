// One connection from a worker to one Redis node: a FIFO of operations, replies matched in order,
// writes batched per loop turn, a deadline on the oldest request, rate-limited reconnect.
// The request bytes of the queued operations live in one contiguous send log, in queue order: a
// flush is one write, and a reply frees its request's bytes from the front.
//
// Three uses (BackendOptions::kind):
//  - shared: the worker's pipelined connection to a node, shared by all its clients; lives as
//    long as the worker (or until the node leaves the topology);
//  - session: a dedicated connection for one client's connection state on a node (a transaction
//    or WATCH, a blocking command, WAIT); taken from the worker's SessionPool, held while that
//    state lives, then returned clean or closed (see session_pool.h);
//  - stream: a connection that, after its setup, carries unsolicited data (a pub/sub subscriber,
//    MONITOR): every reply goes to its StreamSink, and request bytes are dropped once written.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/resp_scanner.h"
#include "proxy/buffer.h"
#include "proxy/request.h"
#include "proxy/ring.h"

namespace rs::proxy {

class Worker;
class Backend;

enum class BackendKind : uint8_t { kShared, kSession, kStream };

struct BackendOptions {
  BackendKind kind = BackendKind::kShared;
  uint8_t resp = 2;       // 3: HELLO 3 is the connection's first command
  bool readonly = false;  // READONLY is sent first (a replica serving reads)
};

// Receives every reply of a stream backend, and its failure.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual void OnStreamReply(Backend* b, std::string_view reply, const resp::ReplyInfo& info) = 0;
  // The connection failed; the backend is closed and may be reused (Send reconnects) or deleted.
  virtual void OnStreamLost(Backend* b, const std::string& why) = 0;
};

// Thread contract: owned by its worker loop.
class Backend : private StreamSink {
 public:
  Backend(Worker* worker, std::string address, BackendOptions options = {});
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const std::string& address() const { return address_; }
  const BackendOptions& options() const { return options_; }
  bool is_session() const { return options_.kind == BackendKind::kSession; }

  // Queues `op` with the request bytes `command` (copied into the send log); it is written at the
  // end of this loop turn. When the node is known to be down (within the reconnect interval after
  // a failure) the op is lost at once (Worker::OnOpLost).
  void Send(Op&& op, std::string_view command);
  // The same with the bytes the op carries (retries and redirects).
  void Send(Op&& op);
  // A command of the proxy's own (MULTI before a replayed transaction, a liveness PING): its
  // reply is checked by the router and never reaches a client. asking: ASKING goes first.
  void SendInternal(std::string_view command, bool asking = false);
  // Stream backends: bytes to write, with no reply expected in order.
  void SendRaw(std::string_view command);
  // Writes everything queued since the last flush (called once per loop turn).
  void Flush();
  // Fails the pending requests and drops the connection when the oldest has waited
  // --backend-timeout without progress (a blocking op: past its own deadline).
  // loop_stalled: the worker's timer ran late, so the wait so far is the proxy's, not the node's.
  void CheckTimeouts(uint64_t now_ms, bool loop_stalled);
  // Closes the connection (shutdown); pending ops are lost (Worker::OnOpLost). Never from inside
  // this backend's own reply callbacks: Retire() there, and the worker closes it later.
  void Close();
  // Stops reading: the worker closes and deletes it at the end of the loop turn.
  void Retire();
  bool retiring() const { return retiring_; }
  // Session backends: the queued ops with their request bytes, oldest first, taken out so that
  // closing the connection does not fail them (a transaction replayed on another node).
  std::vector<Op> TakeOps();

  bool connected() const { return state_ == State::kConnected; }
  // Not connected and within the reconnect interval of a failure.
  bool down() const;
  size_t inflight() const { return ops_.size(); }
  uint64_t replies() const { return replies_; }
  uint64_t latency_us_total() const { return latency_us_total_; }
  const std::string& last_error() const { return last_error_; }

  // Session backends: the queued operations of `c`, and the reply slot of the oldest of them
  // (nullptr: none of its requests waits here).
  bool HasClientOps() const;
  // The queued op that is part `part` of `p` is given up: its reply, when it comes, is dropped
  // (it no longer counts in its client's inflight). False when no such op waits here.
  bool DetachOp(const PendingReply* p, int32_t part);
  bool HasOp(const PendingReply* p, int32_t part) const;
  PendingReply* OldestPendingOf(const Client* c) const;

  // Session backends: the client holding it (nullptr while pooled) and when it went idle.
  Client* owner = nullptr;
  // Session backends: the client with CLIENT TRACKING for which this is its connection to the
  // node (tracking.h); a clean SessionPool::Release leaves it with that client.
  Client* tracker = nullptr;
  uint64_t idle_since_ms = 0;
  // Stream backends: where replies go.
  StreamSink* sink = nullptr;

 private:
  enum class State { kDisconnected, kConnecting, kConnected };

  void Connect();
  void OnConnect(int status);
  void OnRead(ssize_t nread);
  void Fail(const std::string& why);
  void ConsumeReplies();
  void Append(Op&& op, std::string_view command);
  void AppendInternal(std::string_view command);
  // The liveness probe (see CheckTimeouts): its PING's answer, or its failure.
  void OnStreamReply(Backend* b, std::string_view reply, const resp::ReplyInfo& info) override;
  void OnStreamLost(Backend* b, const std::string& why) override;

  static void AllocCb(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void ReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);

  Worker* worker_;
  std::string address_;
  BackendOptions options_;
  State state_ = State::kDisconnected;
  uv_tcp_t* tcp_ = nullptr;  // heap: freed in its close callback, which may outlive a reconnect
  Ring<Op> ops_;             // sent or queued, oldest first
  size_t unwritten_ = 0;     // ops at the tail of ops_ not written yet
  Buffer sendlog_;           // the request bytes of ops_, in order
  size_t written_ = 0;       // bytes at the front of sendlog_ handed to the socket
  bool dirty_ = false;
  bool retiring_ = false;
  uint64_t generation_ = 0;  // bumped by Close(): a callback can tell it closed the connection
  Buffer rbuf_;
  resp::ReplyScanner scanner_;
  uint64_t down_until_ms_ = 0;
  std::string last_error_;
  uint64_t replies_ = 0;
  uint64_t latency_us_total_ = 0;
  // Progress seen by CheckTimeouts: reply bytes read, request bytes handed to the socket (what is
  // still in its write queue is subtracted). While they move, a long transfer (a 100 MB value) is
  // not a dead node.
  uint64_t bytes_read_ = 0;
  uint64_t bytes_handed_ = 0;
  uint64_t checked_moved_ = 0;
  uint64_t progress_ms_ = 0;
  // A node that stops answering is asked a PING on a connection of its own before it is declared
  // dead: a node busy with a long script or a slow command still answers (-BUSY, +PONG), a dead
  // or stopped one does not. Created at the first timeout, kept for the next.
  std::unique_ptr<Backend> probe_;
  uint64_t probe_sent_ms_ = 0;     // 0: no probe in flight
  uint64_t probe_answered_ms_ = 0;
  bool probe_failed_ = false;
};

}  // namespace rs::proxy
