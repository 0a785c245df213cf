#include "admin/backup_request.h"

#include <nlohmann/json.hpp>

#include "eventlog/backup.h"

namespace rs::admin {

Result<BackupRequest> BackupRequestFromBody(std::string_view body, int64_t now_ms) {
  using nlohmann::json;
  json j = body.find_first_not_of(" \t\r\n") == std::string_view::npos
               ? json::object()
               : json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("the body must be a JSON object (or empty)");
  }
  BackupRequest r;
  if (j.contains("name")) {
    if (!j["name"].is_string() || !eventlog::ValidBackupName(j["name"].get<std::string>())) {
      return Status::InvalidArgument(
          "\"name\" must be one path component of letters, digits, '.', '_' and '-', not "
          "starting with '.', at most 100 characters");
    }
    r.name = j["name"].get<std::string>();
  } else {
    r.name = eventlog::DefaultBackupName(now_ms);
  }
  if (j.contains("keep")) {
    if (!j["keep"].is_number_unsigned() || j["keep"].get<uint64_t>() == 0) {
      return Status::InvalidArgument("\"keep\" must be a whole number of at least 1");
    }
    r.keep = j["keep"].get<uint64_t>();
  }
  return r;
}

}  // namespace rs::admin
