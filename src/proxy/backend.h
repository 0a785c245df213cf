// One pipelined connection from a worker to one Redis node: a FIFO of operations, replies matched
// in order, writes batched per loop turn, a deadline on the oldest request, rate-limited reconnect.
// The request bytes of the queued operations live in one contiguous send log, in queue order: a
// flush is one write, and a reply frees its request's bytes from the front.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/resp_scanner.h"
#include "proxy/buffer.h"
#include "proxy/request.h"
#include "proxy/ring.h"

namespace rs::proxy {

class Worker;

// Thread contract: owned by its worker loop.
class Backend {
 public:
  Backend(Worker* worker, std::string address);
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const std::string& address() const { return address_; }

  // Queues `op` with the request bytes `command` (copied into the send log); it is written at the
  // end of this loop turn. When the node is known to be down (within the reconnect interval after
  // a failure) the op fails at once with a clear error.
  void Send(Op&& op, std::string_view command);
  // The same with the bytes the op carries (retries and redirects).
  void Send(Op&& op);
  // Writes everything queued since the last flush (called once per loop turn).
  void Flush();
  // Fails the pending requests and drops the connection when the oldest has waited
  // --backend-timeout without progress.
  // loop_stalled: the worker's timer ran late, so the wait so far is the proxy's, not the node's.
  void CheckTimeouts(uint64_t now_ms, bool loop_stalled);
  // Closes the connection (shutdown); pending ops fail.
  void Close();

  bool connected() const { return state_ == State::kConnected; }
  size_t inflight() const { return ops_.size(); }
  uint64_t replies() const { return replies_; }
  uint64_t latency_us_total() const { return latency_us_total_; }
  const std::string& last_error() const { return last_error_; }

 private:
  enum class State { kDisconnected, kConnecting, kConnected };

  void Connect();
  void OnConnect(int status);
  void OnRead(ssize_t nread);
  void Fail(const std::string& why);
  void ConsumeReplies();
  void Append(Op&& op, std::string_view command);

  static void AllocCb(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void ReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);

  Worker* worker_;
  std::string address_;
  State state_ = State::kDisconnected;
  uv_tcp_t* tcp_ = nullptr;  // heap: freed in its close callback, which may outlive a reconnect
  Ring<Op> ops_;             // sent or queued, oldest first
  size_t unwritten_ = 0;     // ops at the tail of ops_ not written yet
  Buffer sendlog_;           // the request bytes of ops_, in order
  size_t written_ = 0;       // bytes at the front of sendlog_ handed to the socket
  bool dirty_ = false;
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
};

}  // namespace rs::proxy
