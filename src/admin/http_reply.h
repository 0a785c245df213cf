// JSON answers and query parameters of the admin API's handlers.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "admin/http_request.h"
#include "common/status.h"

namespace rs::admin {

inline void JsonReply(HttpResponse& res, int code, const nlohmann::json& body) {
  res.status = code;
  res.set_content(body.dump(), "application/json");
}

// {"error": message}: every error of the API.
inline void ErrorReply(HttpResponse& res, int code, const std::string& message) {
  JsonReply(res, code, {{"error", message}});
}

// Parses a non-negative integer query parameter; `fallback` when absent.
inline Result<uint64_t> UintParam(const HttpRequest& req, const char* name, uint64_t fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.param(name);
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument(
        fmt::format("{} must be a non-negative integer, got '{}'", name, v));
  }
  return std::stoull(v);
}

}  // namespace rs::admin
