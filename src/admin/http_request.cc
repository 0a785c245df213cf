#include "admin/http_request.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace rs::admin {

bool HttpRequest::has_param(std::string_view name) const {
  return params.find(std::string(name)) != params.end();
}

std::string HttpRequest::param(std::string_view name) const {
  auto it = params.find(std::string(name));
  return it == params.end() ? std::string() : it->second;
}

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return "";
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

std::string_view StatusReason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string SerializeResponse(const HttpResponse& res, bool keep_alive, bool head) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", res.status, StatusReason(res.status));
  // 1xx, 204 and 304 carry no body and no Content-Length.
  const bool bodiless = res.status == 204 || res.status == 304 || res.status < 200;
  if (!bodiless) {
    if (!res.content_type.empty()) out += fmt::format("Content-Type: {}\r\n", res.content_type);
    out += fmt::format("Content-Length: {}\r\n", res.body.size());
  }
  for (const auto& [name, value] : res.headers) out += fmt::format("{}: {}\r\n", name, value);
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!bodiless && !head) out += res.body;
  return out;
}

}  // namespace rs::admin
