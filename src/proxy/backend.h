// One pipelined connection from a worker to one Redis node: a FIFO of operations, replies matched
// in order, writes batched per loop turn, a deadline on the oldest request, rate-limited reconnect.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "common/resp_scanner.h"
#include "proxy/buffer.h"
#include "proxy/request.h"

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

  // Queues `op`; it is written at the end of this loop turn. When the node is known to be down
  // (within the reconnect interval after a failure) the op fails at once with a clear error.
  void Send(Op&& op);
  // Writes everything queued since the last flush (called once per loop turn).
  void Flush();
  // Fails every op older than the backend timeout and drops the connection.
  void CheckTimeouts(uint64_t now_ms);
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

  static void AllocCb(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void ReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);

  Worker* worker_;
  std::string address_;
  State state_ = State::kDisconnected;
  uv_tcp_t* tcp_ = nullptr;  // heap: freed in its close callback, which may outlive a reconnect
  std::deque<Op> ops_;       // sent or queued, oldest first
  size_t unwritten_ = 0;     // ops at the tail of ops_ not written yet
  bool dirty_ = false;
  std::vector<uv_buf_t> iov_;
  Buffer rbuf_;
  resp::ReplyScanner scanner_;
  uint64_t down_until_ms_ = 0;
  std::string last_error_;
  uint64_t replies_ = 0;
  uint64_t latency_us_total_ = 0;
};

}  // namespace rs::proxy
