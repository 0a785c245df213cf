// The version every binary reports with --version.
#pragma once

namespace rs {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace rs
