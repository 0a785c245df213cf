// An HTTP/1.1 request as the admin server's parser produces it, and the response its handlers
// build. Plain values: no sockets, no loop.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rs::admin {

struct HttpRequest {
  std::string method;  // As sent: GET, POST, ...
  std::string target;  // The request target, undecoded: /v1/topology?after=3
  std::string path;    // Percent-decoded path without the query.
  std::multimap<std::string, std::string> params;  // Decoded query parameters ('+' is a space).
  std::vector<std::pair<std::string, std::string>> headers;  // In order, names as sent.
  std::string body;
  std::vector<std::string> matches;  // Set by a router: the path's regex groups, [0] the path.
  int minor_version = 1;             // HTTP/1.<minor_version>.
  bool keep_alive = true;  // HTTP/1.1 unless "Connection: close"; 1.0 only with keep-alive.

  bool has_param(std::string_view name) const;
  // The first value of `name`, "" when absent.
  std::string param(std::string_view name) const;
  // The first header named `name` (case-insensitive), "" when absent.
  std::string header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;  // Empty: no Content-Type (no body).
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Extra headers.

  void set_content(std::string content, std::string type) {
    body = std::move(content);
    content_type = std::move(type);
  }
  void set_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }

  static HttpResponse Text(int status, std::string body);
  static HttpResponse Json(int status, std::string body);
};

// The reason phrase of a status code ("Not Modified").
std::string_view StatusReason(int status);

// The bytes of `res` on the wire. HEAD requests get the headers of the body without it.
std::string SerializeResponse(const HttpResponse& res, bool keep_alive, bool head);

}  // namespace rs::admin
