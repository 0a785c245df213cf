// The static discovery syntaxes: `--discovery static:host:port,...`, `--discovery file:PATH` (one
// `host:port [host-label]` per line) and `--discovery lainlet`. Pure: parsing only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/member.h"

namespace rs::discovery {

// File syntax: one member per line, `host:port [host-label]`; blank lines and lines starting with
// '#' are ignored, as is anything after a '#'. instance = the line number; host = the label, else
// the host part of the address. Errors name the line. Members come back sorted by address.
Result<std::vector<model::Member>> ParseMemberFile(std::string_view text);

// Static syntax: `host:port,host:port,...`. instance = position (1..); host = the host part.
Result<std::vector<model::Member>> ParseStaticMembers(std::string_view list);

struct DiscoverySpec {
  enum class Kind { kLainlet, kStatic, kFile };
  Kind kind = Kind::kLainlet;
  std::vector<model::Member> members;  // kStatic only.
  std::string path;                       // kFile only.
};

// "lainlet", "static:h:p,h:p" or "file:PATH".
Result<DiscoverySpec> ParseDiscoverySpec(std::string_view spec);

}  // namespace rs::discovery
