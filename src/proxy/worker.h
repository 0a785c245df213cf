// One worker thread: its libuv loop, its listening socket (SO_REUSEPORT), its clients, one
// backend connection per node and its copy of the routing table.
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
#include "proxy/redirect.h"
#include "proxy/routing_table.h"
#include "proxy/slow_log.h"
#include "proxy/stats.h"

namespace rs::proxy {

class Proxy;

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

  // How long `op`'s request has taken by this batch when that is over --slowlog-usec, else 0.
  uint64_t SlowRequestUs(const Op& op) const;

  // Called by backends and clients.
  void OnReply(Op& op, std::string_view reply, bool is_error, std::string_view error_line,
               const std::string& backend);
  void FailOp(Op& op, std::string_view error_text);
  void MarkDirty(Backend* b);
  void MarkDirty(Client* c);
  void ClientReadable(Client* c, const char* data, size_t n);
  void CloseClient(Client* c, const char* why);
  void MaybeFree(Client* c);
  char* read_buffer() { return read_buffer_.get(); }
  size_t read_buffer_size() const { return kReadBufferSize; }
  void RequestRefresh();
  // Snapshot of backend latencies for INFO: "addr:replies:avg_us".
  std::string BackendReport();

 private:
  static constexpr size_t kReadBufferSize = 64 * 1024;

  void Run();
  void InstallTable(RoutingTablePtr table);
  Backend* BackendFor(const std::string& address);
  Backend* BackendForSlot(int slot);
  Backend* AnyMaster();

  void HandleRequest(Client* c, resp::Request& req);
  // `command`: the request bytes (Dispatch without them sends the bytes the op carries).
  void Dispatch(Op&& op, Backend* backend, std::string_view command);
  void Dispatch(Op&& op, Backend* backend);
  void SendToSlot(Client* c, PendingReply* p, int slot, std::string_view command, int part);
  // The request's bytes as a node reads them: the raw bytes, or inline commands re-encoded into
  // `inline_scratch_`.
  std::string_view RequestBytes(const resp::Request& req);
  void FanOut(Client* c, resp::Request& req, MergeKind kind);
  void SplitRequest(Client* c, resp::Request& req, const CommandInfo& info,
                    const std::vector<int>& keys);
  void AnswerProxy(Client* c, resp::Request& req, const CommandInfo& info);
  void Reply(Client* c, std::string_view reply);
  void ReplyError(Client* c, std::string_view text);
  void RetryLater(Op&& op);
  void FlushAll();
  void Tick();
  // Logs the slow requests the limiter kept out of the log in seconds that are over.
  void LogSuppressedSlowRequests(uint64_t now_ns);
  void FlushClient(Client* c);

  static void OnConnection(uv_stream_t* server, int status);
  static void OnAsync(uv_async_t* h);
  static void OnCheck(uv_check_t* h);
  static void OnTimer(uv_timer_t* h);
  static void OnRetryTimer(uv_timer_t* h);

  Proxy* proxy_;
  int index_;
  uv_loop_t loop_;
  uv_tcp_t listener_;
  uv_async_t async_;
  uv_check_t check_;
  uv_timer_t timer_;
  uint64_t last_tick_ms_ = 0;  // Loop time of the last Tick.
  uv_timer_t retry_timer_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  std::mutex posted_mu_;
  RoutingTablePtr posted_;  // guarded by posted_mu_

  RoutingTablePtr table_;
  std::vector<Backend*> by_master_;  // parallel to table_->masters
  std::unordered_map<std::string, std::unique_ptr<Backend>> backends_;
  size_t round_robin_ = 0;
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
