#include "discovery/member_file.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "common/address.h"

namespace rs::discovery {
namespace {

std::string_view Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

void SortByAddress(std::vector<model::Member>* members) {
  std::sort(
      members->begin(), members->end(),
      [](const model::Member& a, const model::Member& b) { return a.address < b.address; });
}

}  // namespace

Result<std::vector<model::Member>> ParseMemberFile(std::string_view text) {
  std::vector<model::Member> out;
  std::map<std::string, uint32_t> line_of;
  uint32_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    line = Trim(line);
    if (line.empty()) continue;
    size_t sp = line.find_first_of(" \t");
    std::string_view addr_text = line.substr(0, sp);
    std::string_view label;
    if (sp != std::string_view::npos) {
      label = Trim(line.substr(sp));
      if (label.find_first_of(" \t") != std::string_view::npos) {
        return Status::InvalidArgument(
            fmt::format("line {}: expected 'host:port [host-label]', got '{}'", line_no, line));
      }
    }
    auto addr = Address::Parse(addr_text);
    if (!addr.ok()) {
      return addr.status().WithContext(fmt::format("line {}", line_no));
    }
    std::string address = addr->ToString();
    auto [it, inserted] = line_of.emplace(address, line_no);
    if (!inserted) {
      return Status::InvalidArgument(
          fmt::format("line {}: {} is already listed on line {}", line_no, address, it->second));
    }
    out.push_back(
        model::Member{line_no, address, label.empty() ? addr->host : std::string(label)});
  }
  SortByAddress(&out);
  return out;
}

Result<std::vector<model::Member>> ParseStaticMembers(std::string_view list) {
  std::vector<model::Member> out;
  std::map<std::string, uint32_t> pos_of;
  uint32_t pos = 0;
  if (Trim(list).empty()) return Status::InvalidArgument("static member list is empty");
  while (true) {
    ++pos;
    size_t comma = list.find(',');
    std::string_view item = Trim(list.substr(0, comma));
    auto addr = Address::Parse(item);
    if (!addr.ok()) return addr.status().WithContext(fmt::format("static member {}", pos));
    std::string address = addr->ToString();
    auto [it, inserted] = pos_of.emplace(address, pos);
    if (!inserted) {
      return Status::InvalidArgument(
          fmt::format("static member {}: {} is already member {}", pos, address, it->second));
    }
    out.push_back(model::Member{pos, address, addr->host});
    if (comma == std::string_view::npos) break;
    list = list.substr(comma + 1);
  }
  SortByAddress(&out);
  return out;
}

Result<DiscoverySpec> ParseDiscoverySpec(std::string_view spec) {
  DiscoverySpec out;
  if (spec == "lainlet") return out;
  if (spec.starts_with("static:")) {
    out.kind = DiscoverySpec::Kind::kStatic;
    RS_ASSIGN_OR_RETURN(out.members, ParseStaticMembers(spec.substr(7)));
    return out;
  }
  if (spec.starts_with("file:")) {
    out.kind = DiscoverySpec::Kind::kFile;
    out.path = std::string(spec.substr(5));
    if (out.path.empty()) return Status::InvalidArgument("--discovery file: needs a path");
    return out;
  }
  return Status::InvalidArgument(fmt::format(
      "unknown --discovery '{}': expected lainlet, static:host:port,... or file:PATH", spec));
}

}  // namespace rs::discovery
