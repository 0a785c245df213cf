// ASCII case mapping for protocol words (command names, header names, subcommands): bytes
// outside A-Z / a-z are left as they are, whatever the locale.
#pragma once

#include <string>
#include <string_view>

namespace rs {

std::string AsciiLower(std::string_view s);
std::string AsciiUpper(std::string_view s);
// ASCII case-insensitive equality, for command names and keywords.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace rs
