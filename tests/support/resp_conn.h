// A raw RESP connection for tests that hiredis 0.14 cannot express: RESP3 replies (maps, pushes,
// "_" nulls), replies read one by one as bytes, and a socket closed mid-request.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace rs::test {

// Thread contract: not thread-safe; one owner.
class RespConn {
 public:
  static Result<RespConn> Connect(uint16_t port, const std::string& host = "127.0.0.1");
  RespConn(RespConn&& other) noexcept;
  RespConn& operator=(RespConn&& other) noexcept;
  ~RespConn();

  // Sends `args` as one multibulk request.
  Status Send(const std::vector<std::string>& args);
  // Sends raw bytes (several requests, inline commands).
  Status SendRaw(const std::string& bytes);
  // The next whole reply as bytes ("+OK\r\n", ">3\r\n$7\r\nmessage\r\n..."), or a failed
  // Result after `timeout` (Timeout) or when the peer closed (Unavailable).
  Result<std::string> Read(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Send then Read.
  Result<std::string> Call(const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True when nothing arrives within `wait` (and the connection is still open).
  bool Quiet(std::chrono::milliseconds wait);
  // Closes the socket now (a client that goes away).
  void Close();

 private:
  explicit RespConn(int fd) : fd_(fd) {}
  int fd_ = -1;
  std::string buf_;
};

// The elements of a flat reply of bulk strings, integers and nulls (an array, a push, a map
// flattened), as text: integers in decimal, nulls as "(nil)". Nested aggregates are rendered as
// their raw bytes. Empty for a reply that is not an aggregate.
std::vector<std::string> Elements(const std::string& reply);

}  // namespace rs::test
