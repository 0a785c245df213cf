// The admin server's incremental HTTP/1.1 request parser: request line, headers and a
// Content-Length body, with limits. Owns no socket: the connection feeds it what it has read.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "admin/http_request.h"

namespace rs::admin {

struct HttpLimits {
  size_t max_header_bytes = 64 * 1024;      // Request line and headers; beyond: 431.
  size_t max_body_bytes = 8 * 1024 * 1024;  // Content-Length beyond: 413.
};

// Thread contract: one parser per connection, used from one thread.
class HttpRequestParser {
 public:
  enum class Result { kDone, kNeedMore, kError };

  explicit HttpRequestParser(HttpLimits limits = {}) : limits_(limits) {}

  // Parses one request from the start of `data` (everything the connection has buffered and not
  // yet consumed). kDone: *out is the request and *consumed its length in bytes; kNeedMore: call
  // again with more data (the parser remembers how far it looked); kError: error_status() and
  // error_message() say why, and the connection must answer them and close.
  Result Parse(std::string_view data, size_t* consumed, HttpRequest* out);
  // Forgets a partial request (after kDone or when the connection is reused).
  void Reset() {
    scanned_ = 0;
    wants_continue_ = false;
  }
  // After kNeedMore: the head is complete, says "Expect: 100-continue" and the body has not
  // come yet, so the client waits for "100 Continue" before sending it.
  bool wants_continue() const { return wants_continue_; }

  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

 private:
  Result Fail(int status, std::string message);
  Result ParseHead(std::string_view head, HttpRequest* out, size_t* body_length);

  HttpLimits limits_;
  size_t scanned_ = 0;            // Bytes already searched for the end of the headers.
  bool expect_continue_ = false;  // The head being parsed says "Expect: 100-continue".
  bool wants_continue_ = false;
  int error_status_ = 0;
  std::string error_message_;
};

// Percent-decodes `s`; '+' becomes a space when `plus_is_space`. False on a bad escape.
bool PercentDecode(std::string_view s, bool plus_is_space, std::string* out);

}  // namespace rs::admin
