// POST /v1/backup's body, validated at the edge: {"name": NAME, "keep": N}, both optional. The
// name is one path component under the backup root (eventlog::ValidBackupName), by default
// eventlog::DefaultBackupName(now); keep N removes default-named backups beyond the newest N
// once the new one has verified.
// Thread contract: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace rs::admin {

struct BackupRequest {
  std::string name;
  std::optional<uint64_t> keep;  // At least 1.
};

// An empty body is {}. Fails with a reason for a 400.
Result<BackupRequest> BackupRequestFromBody(std::string_view body, int64_t now_ms);

}  // namespace rs::admin
