// An event-driven HTTP/1.1 server on one libuv loop: every connection is accepted, read and
// parsed on the loop thread, so a waiting request or a slow client costs memory, not a thread.
// Handlers run on the loop and must not block: they answer at once, or hand the request to
// another thread (or park it) and answer later through Reply, from any thread.
//
// Thread contract: Start/Stop from the owner's thread; Reply and Post from any thread; the
// handler and the on_* callbacks run on the loop thread.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "admin/http_parser.h"
#include "admin/http_request.h"
#include "common/status.h"

namespace rs::admin {

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // An address or a name; port 0 picks a free port.
  uint16_t port = 0;
  HttpLimits limits;
  // An idle keep-alive connection is closed after this (a console refreshes every second; a
  // proxy polls again at once).
  std::chrono::milliseconds idle_timeout{1000};
  // A request must be complete this long after its first byte (or after the accept), else 408
  // and close: a slow or half-open client holds a socket, never a thread, and not for long.
  std::chrono::milliseconds header_timeout{10000};
  size_t max_connections = 10000;  // Beyond: new connections are closed at once.
  // Stop answers what is pending, then closes every connection within this.
  std::chrono::milliseconds stop_grace{800};
};

// Names one request awaiting its answer; never reused.
using RequestId = uint64_t;

class HttpServer {
 public:
  using Handler = std::function<void(RequestId, HttpRequest)>;

  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Called on the loop when a request's connection closes before it was answered.
  void set_on_abandon(std::function<void(RequestId)> fn) { on_abandon_ = std::move(fn); }
  // Called on the loop about every 100 ms (timeouts of parked requests).
  void set_on_tick(std::function<void()> fn) { on_tick_ = std::move(fn); }
  // Called on the loop first thing in a Stop, so parked requests can be answered.
  void set_on_stop(std::function<void()> fn) { on_stop_ = std::move(fn); }

  // Binds, listens and starts the loop thread. Fails when the address is taken.
  Status Start();
  // Stops accepting, calls on_stop, sends the answers that arrive within stop_grace (with
  // "Connection: close"), closes every connection and joins the loop thread.
  void Stop();

  // Answers request `id` (dropped when its connection is gone). Any thread.
  void Reply(RequestId id, HttpResponse response);
  // Runs `fn` on the loop thread (not at all once the server stopped). Any thread.
  void Post(std::function<void()> fn);
  // True on the loop thread.
  bool OnLoop() const { return std::this_thread::get_id() == loop_thread_id_; }

  uint16_t port() const { return port_; }
  size_t connections() const { return connection_count_.load(); }

 private:
  struct Conn;
  struct WriteReq;

  static void OnConnection(uv_stream_t* server, int status);
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  static void OnClosed(uv_handle_t* handle);
  static void OnAsync(uv_async_t* handle);
  static void OnSweep(uv_timer_t* timer);
  static void OnStopTimer(uv_timer_t* timer);

  void Process(Conn* c);
  void Send(Conn* c, const HttpResponse& response, bool keep_alive, bool head);
  void Write(Conn* c, std::string data);
  void SendReply(RequestId id, const HttpResponse& response);
  void Close(Conn* c);
  void BeginStop();
  void FinishStop();
  uint64_t NowMs() const;

  HttpServerOptions options_;
  Handler handler_;
  std::function<void(RequestId)> on_abandon_;
  std::function<void()> on_tick_;
  std::function<void()> on_stop_;

  uv_loop_t loop_;
  uv_tcp_t listener_;
  uv_async_t async_;
  uv_timer_t sweep_;
  uv_timer_t stop_timer_;
  bool loop_initialized_ = false;
  std::thread thread_;
  std::thread::id loop_thread_id_;
  uint16_t port_ = 0;

  // Loop thread only.
  std::unordered_map<uint64_t, Conn*> conns_;
  std::unordered_map<RequestId, Conn*> pending_;
  uint64_t next_conn_id_ = 1;
  RequestId next_request_id_ = 1;
  bool stopping_ = false;
  bool finished_ = false;
  uint64_t last_full_warning_ms_ = 0;
  char read_buffer_[64 * 1024];
  std::atomic<size_t> connection_count_{0};

  // Handed to the loop from other threads.
  std::mutex mu_;
  bool async_open_ = false;  // Guarded by mu_: uv_async_send only while the handle is open.
  bool stop_requested_ = false;
  std::vector<std::pair<RequestId, HttpResponse>> replies_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace rs::admin
