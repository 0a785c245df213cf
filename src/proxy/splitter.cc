#include "proxy/splitter.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <unordered_map>

#include "common/resp_parser.h"
#include "common/resp_scanner.h"
#include "common/resp_writer.h"
#include "common/slot.h"
#include "proxy/proxy_errors.h"

namespace rs::proxy {

bool SameSlot(const std::vector<std::string_view>& args, const std::vector<int>& key_indexes,
              int* slot) {
  if (key_indexes.empty()) return false;
  int first = KeySlot(args[key_indexes[0]]);
  for (size_t i = 1; i < key_indexes.size(); ++i) {
    if (KeySlot(args[key_indexes[i]]) != first) return false;
  }
  *slot = first;
  return true;
}

std::vector<SubRequest> SplitBySlot(const std::vector<std::string_view>& args,
                                    const std::vector<int>& key_indexes, SplitKind kind) {
  std::vector<SubRequest> subs;
  std::vector<std::vector<std::string_view>> sub_args;
  std::unordered_map<int, size_t> by_slot;
  for (size_t n = 0; n < key_indexes.size(); ++n) {
    int i = key_indexes[n];
    int slot = KeySlot(args[i]);
    auto [it, added] = by_slot.emplace(slot, subs.size());
    if (added) {
      subs.emplace_back();
      subs.back().slot = slot;
      sub_args.push_back({args[0]});
    }
    SubRequest& sub = subs[it->second];
    sub_args[it->second].push_back(args[i]);
    if (kind == SplitKind::kMset) sub_args[it->second].push_back(args[i + 1]);
    sub.outputs.push_back(static_cast<uint32_t>(n));
  }
  for (size_t s = 0; s < subs.size(); ++s) {
    resp::AppendCommand(&subs[s].command, std::span<const std::string_view>(sub_args[s]));
  }
  return subs;
}

Merger::Merger(MergeKind kind, size_t parts, size_t outputs)
    : kind_(kind),
      remaining_(parts),
      parts_(parts),
      is_error_(parts, false),
      has_(parts, false),
      no_answer_(parts, false) {
  if (kind == MergeKind::kMget) {
    values_.resize(outputs);
    outputs_.resize(parts);
  }
}

void Merger::AddError(size_t part, std::string_view error_text) {
  has_[part] = true;
  parts_[part].clear();
  resp::AppendError(&parts_[part], error_text);
  is_error_[part] = true;
  --remaining_;
}

void Merger::AddNoAnswer(size_t part) {
  has_[part] = true;
  no_answer_[part] = true;
  parts_[part].clear();
  --remaining_;
}

void Merger::Add(size_t part, std::string_view reply, const std::vector<uint32_t>* outputs) {
  has_[part] = true;
  --remaining_;
  if (kind_ == MergeKind::kCustom) {
    parts_[part].assign(reply);
    is_error_[part] = !reply.empty() && reply[0] == '-';
    return;
  }
  if (reply.empty() || reply[0] == '-') {
    parts_[part].assign(reply);
    is_error_[part] = true;
    return;
  }
  switch (kind_) {
    case MergeKind::kMget: {
      const std::vector<uint32_t>& outs = outputs ? *outputs : outputs_[part];
      resp::ReplyInfo info;
      size_t len = 0;
      if (resp::ScanReply(reply, &len, &info) != resp::ScanStatus::kOk ||
          info.type != resp::ReplyType::kArray) {
        parts_[part].clear();
        resp::AppendError(&parts_[part], errors::UnexpectedReply("MGET", "a node"));
        is_error_[part] = true;
        return;
      }
      // Elements start after the "*N\r\n" header.
      size_t pos = reply.find("\r\n") + 2;
      for (uint32_t out : outs) {
        size_t elen = 0;
        if (pos >= reply.size() ||
            resp::ScanReply(reply.substr(pos), &elen) != resp::ScanStatus::kOk) {
          parts_[part].clear();
          resp::AppendError(&parts_[part], errors::UnexpectedReply("(short) MGET", "a node"));
          is_error_[part] = true;
          return;
        }
        if (out < values_.size()) values_[out].assign(reply.substr(pos, elen));
        pos += elen;
      }
      return;
    }
    case MergeKind::kSumInt:
    case MergeKind::kMinInt: {
      if (reply[0] != ':') {
        parts_[part].clear();
        resp::AppendError(&parts_[part], errors::UnexpectedReply("(not an integer)", "a node"));
        is_error_[part] = true;
        return;
      }
      int64_t v = 0;
      std::string_view digits = reply.substr(1, reply.find('\r') - 1);
      std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (kind_ == MergeKind::kMinInt) {
        sum_ = seen_ ? std::min(sum_, v) : v;
        seen_ = true;
      } else {
        sum_ += v;
      }
      return;
    }
    case MergeKind::kInfo: {
      resp::ReplyInfo info;
      size_t len = 0;
      if (resp::ScanReply(reply, &len, &info) == resp::ScanStatus::kOk) {
        std::string_view text = info.payload;
        // A verbatim string (RESP3) starts with its format: "txt:".
        if (info.type == resp::ReplyType::kVerbatimString && text.size() >= 4) {
          text.remove_prefix(4);
        }
        parts_[part].assign(text);
      }
      return;
    }
    case MergeKind::kAllOk:
    case MergeKind::kFirst:
      parts_[part].assign(reply);
      return;
    case MergeKind::kCustom:
      return;
  }
}

std::string Merger::Finish() const {
  if (kind_ == MergeKind::kCustom) {
    std::vector<NodeReply> replies(parts_.size());
    for (size_t i = 0; i < parts_.size(); ++i) {
      replies[i].node = i < nodes_.size() ? nodes_[i] : std::string();
      replies[i].reply = parts_[i];
    }
    return custom_(replies);
  }
  if (kind_ == MergeKind::kInfo) return FinishInfo();
  for (size_t i = 0; i < parts_.size(); ++i) {
    if (is_error_[i]) return parts_[i];
  }
  std::string out;
  switch (kind_) {
    case MergeKind::kMget: {
      size_t total = 16;
      for (const auto& v : values_) total += v.size();
      out.reserve(total);
      resp::AppendArrayHeader(&out, static_cast<int64_t>(values_.size()));
      for (const auto& v : values_) out += v;
      return out;
    }
    case MergeKind::kSumInt:
    case MergeKind::kMinInt:
      resp::AppendInteger(&out, sum_);
      return out;
    case MergeKind::kAllOk:
      return parts_.empty() ? "+OK\r\n" : parts_[0];
    case MergeKind::kFirst:
      if (parts_.empty()) resp::AppendError(&out, errors::kNoTopology);
      return parts_.empty() ? out : parts_[0];
    case MergeKind::kCustom:
      return out;
    case MergeKind::kInfo:
      return out;
  }
  return out;
}

std::string Merger::FinishInfo() const {
  // A node that failed or did not answer in time is named, not waited for: INFO is what an
  // operator reads exactly when a node is down or stalled.
  std::string text = prefix_;
  std::vector<std::string> answered;
  for (size_t i = 0; i < parts_.size(); ++i) {
    const bool ok = !is_error_[i] && !no_answer_[i];
    if (ok) answered.push_back(parts_[i]);
    if (i >= nodes_.size()) continue;
    text += "info_node" + std::to_string(i) + ":addr=" + nodes_[i] +
            ",state=" + (no_answer_[i] ? "no-answer" : ok ? "ok" : "error");
    if (is_error_[i]) {
      // "-ERR ...\r\n": the text, kept on one line and out of the field separators.
      std::string why = parts_[i].substr(parts_[i].empty() ? 0 : 1);
      while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
      std::replace(why.begin(), why.end(), ',', ';');
      std::replace(why.begin(), why.end(), '\r', ' ');
      std::replace(why.begin(), why.end(), '\n', ' ');
      text += ",error=" + why;
    }
    text += "\r\n";
  }
  if (!nodes_.empty()) text += "\r\n";
  text += AggregateInfo(answered, overrides_);
  std::string out;
  if (resp_ == 3) {
    resp::AppendVerbatim(&out, "txt", text);
  } else {
    resp::AppendBulk(&out, text);
  }
  return out;
}

namespace {

bool ParseI64(std::string_view s, int64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}

// "keys=3,expires=0,avg_ttl=0": sums the integer fields into `sums`, in order.
void SumKeyspace(std::string_view value, std::vector<std::pair<std::string, int64_t>>* sums) {
  size_t field = 0;
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view kv = value.substr(0, comma);
    size_t eq = kv.find('=');
    int64_t n = 0;
    if (eq != std::string_view::npos && ParseI64(kv.substr(eq + 1), &n)) {
      if (field >= sums->size()) sums->emplace_back(std::string(kv.substr(0, eq)), 0);
      (*sums)[field].second += n;
      ++field;
    }
    if (comma == std::string_view::npos) break;
    value = value.substr(comma + 1);
  }
}

// Sections whose integers add up across nodes; elsewhere (Server, Replication) a sum means nothing,
// except for the few counters named here.
// How the masters' values of an INFO field become one server's.
enum class Combine : uint8_t { kFirst, kSum, kMax };

Combine CombineOf(std::string_view section, std::string_view key) {
  // What the proxy puts on every master (SCRIPT LOAD, FUNCTION LOAD, CONFIG SET go to all of
  // them): one server has it once, so the largest count is the one closest to it.
  if (key == "number_of_cached_scripts" || key == "number_of_functions" ||
      key == "number_of_libraries" || key == "maxmemory") {
    return Combine::kMax;
  }
  // A BCAST client registers its prefixes on every master (its tracked keys, on one each).
  if (key == "tracking_total_prefixes") {
    return Combine::kMax;
  }
  if (section == "# Clients" || section == "# Memory" || section == "# Stats" ||
      section == "# Keyspace" || section == "# CPU" ||
      (section == "# Persistence" && key == "rdb_changes_since_last_save")) {
    return Combine::kSum;
  }
  return Combine::kFirst;
}

}  // namespace

std::string AggregateInfo(const std::vector<std::string>& payloads,
                          const std::vector<std::pair<std::string, std::string>>& overrides) {
  struct Field {
    std::string section;
    std::string key;
    std::string first_value;
    bool numeric = true;
    int64_t sum = 0;
    std::vector<std::pair<std::string, int64_t>> keyspace;
  };
  std::vector<Field> fields;
  std::map<std::string, size_t> index;
  for (const std::string& payload : payloads) {
    std::string_view text(payload);
    std::string section;
    while (!text.empty()) {
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      if (line[0] == '#') {
        section = std::string(line);
        continue;
      }
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string key(line.substr(0, colon));
      std::string_view value = line.substr(colon + 1);
      auto [it, added] = index.emplace(section + "\n" + key, fields.size());
      if (added) fields.push_back({section, key, std::string(value), true, 0, {}});
      Field& f = fields[it->second];
      int64_t n = 0;
      if (key.rfind("db", 0) == 0 && value.find("keys=") != std::string_view::npos) {
        SumKeyspace(value, &f.keyspace);
        f.numeric = false;
      } else if (Combine how = CombineOf(section, key);
                 f.numeric && how != Combine::kFirst && ParseI64(value, &n)) {
        f.sum = how == Combine::kSum ? f.sum + n : (added ? n : std::max(f.sum, n));
      } else {
        f.numeric = false;
      }
    }
  }
  std::string out;
  std::string section = "\x01";
  for (const Field& f : fields) {
    if (f.section != section) {
      if (!out.empty()) out += "\r\n";
      if (!f.section.empty()) out += f.section + "\r\n";
      section = f.section;
    }
    out += f.key;
    out += ':';
    auto over = std::find_if(overrides.begin(), overrides.end(),
                             [&f](const auto& o) { return o.first == f.key; });
    if (over != overrides.end()) {
      out += over->second;
    } else if (!f.keyspace.empty()) {
      for (size_t i = 0; i < f.keyspace.size(); ++i) {
        if (i) out += ',';
        out += f.keyspace[i].first + "=" + std::to_string(f.keyspace[i].second);
      }
    } else if (f.numeric) {
      out += std::to_string(f.sum);
    } else {
      out += f.first_value;
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace rs::proxy
