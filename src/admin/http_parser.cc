#include "admin/http_parser.h"

#include <algorithm>
#include <cctype>

namespace rs::admin {
namespace {

bool IsTokenChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Does the comma-separated header value contain `token` (case-insensitive)?
bool HasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = std::min(value.find(','), value.size());
    if (EqualsIgnoreCase(Trim(value.substr(0, comma)), token)) return true;
    value.remove_prefix(std::min(comma + 1, value.size()));
  }
  return false;
}

// Where the head (request line and headers) ends, blank line included; npos when not yet.
size_t HeadEnd(std::string_view data, size_t from) {
  for (size_t i = from; i < data.size(); ++i) {
    if (data[i] != '\n') continue;
    if (i + 1 < data.size() && data[i + 1] == '\n') return i + 2;
    if (i + 2 < data.size() && data[i + 1] == '\r' && data[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool PercentDecode(std::string_view s, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return false;
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(s[i]);
    }
  }
  return true;
}

HttpRequestParser::Result HttpRequestParser::Fail(int status, std::string message) {
  error_status_ = status;
  error_message_ = std::move(message);
  return Result::kError;
}

HttpRequestParser::Result HttpRequestParser::Parse(std::string_view data, size_t* consumed,
                                                   HttpRequest* out) {
  // Empty lines before a request line are allowed (RFC 9112 2.2).
  size_t start = 0;
  while (start < data.size() && (data[start] == '\r' || data[start] == '\n')) ++start;
  if (start > limits_.max_header_bytes) return Fail(400, "too many empty lines before a request");
  size_t from = std::max(scanned_, start);
  size_t end = HeadEnd(data, from > start + 2 ? from - 2 : start);
  if (end == std::string_view::npos) {
    scanned_ = data.size();
    if (data.size() - start > limits_.max_header_bytes) {
      return Fail(431, "the request line and headers exceed " +
                           std::to_string(limits_.max_header_bytes / 1024) + " KiB");
    }
    return Result::kNeedMore;
  }
  if (end - start > limits_.max_header_bytes) {
    return Fail(431, "the request line and headers exceed " +
                         std::to_string(limits_.max_header_bytes / 1024) + " KiB");
  }
  HttpRequest req;
  size_t body_length = 0;
  if (Result r = ParseHead(data.substr(start, end - start), &req, &body_length);
      r != Result::kDone) {
    return r;
  }
  if (data.size() - end < body_length) {
    wants_continue_ = expect_continue_ && data.size() == end;
    return Result::kNeedMore;
  }
  req.body.assign(data.substr(end, body_length));
  *consumed = end + body_length;
  *out = std::move(req);
  scanned_ = 0;
  return Result::kDone;
}

HttpRequestParser::Result HttpRequestParser::ParseHead(std::string_view head, HttpRequest* out,
                                                       size_t* body_length) {
  auto next_line = [&head]() {
    size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  // Request line: METHOD SP TARGET SP HTTP/1.x
  std::string_view line = next_line();
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Fail(400, "malformed request line (want 'METHOD /path HTTP/1.1')");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Fail(400, "malformed request method");
  if (target.empty() || target.front() != '/') {
    return Fail(400, "the request target must be a path starting with '/'");
  }
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Fail(400, "a control character in the request target");
    }
  }
  if (version == "HTTP/1.1") {
    out->minor_version = 1;
  } else if (version == "HTTP/1.0") {
    out->minor_version = 0;
  } else if (version.substr(0, 5) == "HTTP/") {
    return Fail(505, "only HTTP/1.0 and HTTP/1.1 are served");
  } else {
    return Fail(400, "malformed request line (want 'METHOD /path HTTP/1.1')");
  }
  out->method.assign(method);
  out->target.assign(target);
  size_t q = target.find('?');
  if (!PercentDecode(target.substr(0, q), false, &out->path)) {
    return Fail(400, "a bad percent escape in the request path");
  }
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    if (size_t hash = query.find('#'); hash != std::string_view::npos)
      query = query.substr(0, hash);
    while (!query.empty()) {
      size_t amp = std::min(query.find('&'), query.size());
      std::string_view pair = query.substr(0, amp);
      query.remove_prefix(std::min(amp + 1, query.size()));
      if (pair.empty()) continue;
      size_t eq = pair.find('=');
      std::string key, value;
      if (!PercentDecode(pair.substr(0, eq), true, &key) ||
          (eq != std::string_view::npos && !PercentDecode(pair.substr(eq + 1), true, &value))) {
        return Fail(400, "a bad percent escape in the query string");
      }
      out->params.emplace(std::move(key), std::move(value));
    }
  }
  bool have_length = false;
  bool close = false, keep_alive = false;
  expect_continue_ = false;
  while (!head.empty()) {
    line = next_line();
    if (line.empty()) break;  // The blank line that ends the head.
    if (line.front() == ' ' || line.front() == '\t') {
      return Fail(400, "folded header lines are not accepted");
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) {
      return Fail(400, "malformed header line (want 'Name: value')");
    }
    std::string_view name = line.substr(0, colon);
    std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "Content-Length")) {
      if (value.empty() || value.size() > 18 ||
          value.find_first_not_of("0123456789") != std::string_view::npos) {
        return Fail(400, "Content-Length must be a non-negative integer");
      }
      size_t length = std::stoull(std::string(value));
      if (have_length && length != *body_length) {
        return Fail(400, "conflicting Content-Length headers");
      }
      have_length = true;
      *body_length = length;
    } else if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
      return Fail(411,
                  "Transfer-Encoding (chunked bodies) is not accepted: send the body with a "
                  "Content-Length");
    } else if (EqualsIgnoreCase(name, "Expect")) {
      expect_continue_ = HasToken(value, "100-continue");
    } else if (EqualsIgnoreCase(name, "Connection")) {
      close |= HasToken(value, "close");
      keep_alive |= HasToken(value, "keep-alive");
    }
    out->headers.emplace_back(std::string(name), std::string(value));
  }
  if (*body_length > limits_.max_body_bytes) {
    return Fail(
        413, "the body exceeds " + std::to_string(limits_.max_body_bytes / 1024 / 1024) + " MiB");
  }
  out->keep_alive = out->minor_version == 1 ? !close : keep_alive && !close;
  return Result::kDone;
}

}  // namespace rs::admin
