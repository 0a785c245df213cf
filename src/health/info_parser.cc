#include "health/info_parser.h"

#include <charconv>
#include <cstdlib>

namespace rs::health {

InfoFields InfoFields::Parse(std::string_view text) {
  InfoFields out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.fields_[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
  }
  return out;
}

void InfoFields::Merge(const InfoFields& other) {
  for (const auto& [k, v] : other.fields_) fields_[k] = v;
}

std::optional<std::string_view> InfoFields::Get(std::string_view key) const {
  auto it = fields_.find(key);
  if (it == fields_.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<uint64_t> InfoFields::GetUint(std::string_view key) const {
  auto v = Get(key);
  if (!v) return std::nullopt;
  uint64_t out = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || ptr != v->data() + v->size()) return std::nullopt;
  return out;
}

std::optional<double> InfoFields::GetDouble(std::string_view key) const {
  auto v = Get(key);
  if (!v || v->empty()) return std::nullopt;
  std::string s(*v);
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return d;
}

uint64_t InfoFields::Db0Keys() const {
  auto v = Get("db0");
  if (!v || !v->starts_with("keys=")) return 0;
  std::string_view n = v->substr(5);
  n = n.substr(0, n.find(','));
  uint64_t out = 0;
  std::from_chars(n.data(), n.data() + n.size(), out);
  return out;
}

}  // namespace rs::health
