// Logging setup on spdlog: level and plain/JSON format chosen by flags.
#pragma once

#include <string_view>

#include "common/status.h"

namespace rs {

enum class LogFormat { kPlain, kJson };

Result<LogFormat> ParseLogFormat(std::string_view text);

// Installs the default logger on stderr. `level` is one of trace, debug, info, warn, error, off.
Status SetupLogging(std::string_view level, LogFormat format);

}  // namespace rs
