// One HTTP GET over a raw libuv TCP stream: resolve, connect, write, read until the body ends
// (Content-Length reached, or the peer closes). lainlet's watch has no length and never ends by
// itself, so the body is handed over as it arrives. Plain GETs are sent as HTTP/1.0 so a Go server
// answers without chunked encoding.
// Thread contract: owned by its loop thread. The object frees itself: after on_done or Cancel()
// the owner must forget the pointer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <uv.h>

#include "common/status.h"

namespace rs::discovery {

struct HttpCallbacks {
  // Status code and headers (names lower-cased), once.
  std::function<void(int status, const std::map<std::string, std::string>& headers)> on_headers;
  // Body bytes as they arrive.
  std::function<void(std::string_view bytes)> on_body;
  // Exactly once unless cancelled: Ok when the body ended normally, else why it failed.
  std::function<void(Status status)> on_done;
};

class HttpRequest {
 public:
  // `target` is the path with its query ("/v2/procwatcher?appname=x&watch=1").
  static HttpRequest* Start(uv_loop_t* loop, std::string host, uint16_t port, std::string target,
                            bool http10, HttpCallbacks callbacks);
  // Closes the connection; no callback runs afterwards.
  void Cancel();

 private:
  HttpRequest(uv_loop_t* loop, std::string host, uint16_t port, std::string target, bool http10,
              HttpCallbacks callbacks);
  ~HttpRequest() = default;

  void Resolve();
  void OnResolved(int status, addrinfo* res);
  void OnConnected(int status);
  void OnRead(ssize_t nread, const uv_buf_t* buf);
  void Consume(std::string_view bytes);
  void Finish(Status status);  // Calls on_done once and closes.
  void Close();

  uv_loop_t* loop_;
  std::string host_;
  uint16_t port_;
  std::string target_;
  bool http10_;
  HttpCallbacks cb_;

  uv_getaddrinfo_t resolver_;
  uv_tcp_t tcp_;
  uv_connect_t connect_;
  uv_write_t write_;
  std::string request_;
  bool resolving_ = false;
  bool tcp_open_ = false;
  bool done_ = false;  // on_done ran or Cancel was called: no more callbacks.
  bool closing_ = false;
  bool deferred_ = false;  // A failure report is queued on the loop; it also does the Close.

  bool have_headers_ = false;
  std::string head_;
  int64_t content_length_ = -1;
  int64_t body_seen_ = 0;
  char read_buf_[64 * 1024];
};

}  // namespace rs::discovery
