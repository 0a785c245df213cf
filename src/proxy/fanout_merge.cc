#include "proxy/fanout_merge.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <map>

#include "common/resp_scanner.h"
#include "common/resp_writer.h"
#include "proxy/proxy_errors.h"

namespace rs::proxy {
namespace {

bool IsAggregate(char t) { return t == '*' || t == '%' || t == '~' || t == '>'; }

bool ParseInt(std::string_view s, int64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}

// A reply as a small tree, for the merges that look inside elements.
struct Value {
  char type = '_';
  std::string_view text;  // the header line (simple types) or the payload (bulk types)
  std::string_view raw;   // the whole encoded value
  std::vector<Value> children;
};

bool Parse(std::string_view bytes, Value* v, int depth = 0) {
  size_t len = 0;
  resp::ReplyInfo info;
  if (depth > 16 || resp::ScanReply(bytes, &len, &info) != resp::ScanStatus::kOk) return false;
  v->type = static_cast<char>(info.type);
  v->raw = bytes.substr(0, len);
  v->text = info.payload.empty() ? info.line : info.payload;
  v->children.clear();
  if (!IsAggregate(v->type) || info.is_null) return true;
  std::vector<std::string_view> elems;
  if (!AggregateElements(v->raw, &elems)) return false;
  v->children.resize(elems.size());
  for (size_t i = 0; i < elems.size(); ++i) {
    if (!Parse(elems[i], &v->children[i], depth + 1)) return false;
  }
  return true;
}

const NodeReply* FirstError(const std::vector<NodeReply>& parts) {
  for (const NodeReply& p : parts) {
    if (p.is_error()) return &p;
  }
  return nullptr;
}

std::string Error(std::string_view text) {
  std::string out;
  resp::AppendError(&out, text);
  return out;
}

// Sums `v` into `acc` (same shape): integers added, aggregates merged by key (maps and flat
// key/value arrays) or by position, anything else kept from the first.
void SumInto(const Value& v, Value* acc, std::deque<std::string>* storage) {
  if (v.type == ':' && acc->type == ':') {
    int64_t a = 0, b = 0;
    if (ParseInt(acc->text, &a) && ParseInt(v.text, &b)) {
      storage->push_back(fmt::format(":{}\r\n", a + b));
      acc->raw = storage->back();
      acc->text = std::string_view(storage->back()).substr(1, storage->back().size() - 3);
    }
    return;
  }
  if (!IsAggregate(v.type) || !IsAggregate(acc->type)) return;
  const bool keyed = (v.children.size() % 2 == 0) && !v.children.empty() &&
                     (v.children[0].type == '$' || v.children[0].type == '+');
  if (!keyed) {
    for (size_t i = 0; i < v.children.size() && i < acc->children.size(); ++i) {
      SumInto(v.children[i], &acc->children[i], storage);
    }
    return;
  }
  for (size_t i = 0; i + 1 < v.children.size(); i += 2) {
    bool found = false;
    for (size_t j = 0; j + 1 < acc->children.size(); j += 2) {
      if (acc->children[j].text == v.children[i].text) {
        SumInto(v.children[i + 1], &acc->children[j + 1], storage);
        found = true;
        break;
      }
    }
    if (!found) {
      acc->children.push_back(v.children[i]);
      acc->children.push_back(v.children[i + 1]);
    }
  }
}

void Write(const Value& v, std::string* out) {
  if (!IsAggregate(v.type) || v.raw.empty() || v.raw[1] == '-') {
    out->append(v.raw);
    return;
  }
  const int64_t n = static_cast<int64_t>(v.type == '%' ? v.children.size() / 2 : v.children.size());
  out->push_back(v.type);
  out->append(std::to_string(n));
  out->append("\r\n");
  for (const Value& c : v.children) Write(c, out);
}

}  // namespace

std::string_view NodeReply::error_text() const {
  std::string_view t = reply;
  if (!t.empty() && t[0] == '-') t.remove_prefix(1);
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.remove_suffix(1);
  return t;
}

bool AggregateElements(std::string_view reply, std::vector<std::string_view>* elements) {
  elements->clear();
  if (reply.empty() || !IsAggregate(reply[0])) return false;
  size_t eol = reply.find("\r\n");
  if (eol == std::string_view::npos) return false;
  int64_t n = 0;
  if (!ParseInt(reply.substr(1, eol - 1), &n)) return false;
  if (n < 0) return true;  // a null array has no elements
  if (reply[0] == '%') n *= 2;
  size_t pos = eol + 2;
  for (int64_t i = 0; i < n; ++i) {
    size_t len = 0;
    if (pos >= reply.size() || resp::ScanReply(reply.substr(pos), &len) != resp::ScanStatus::kOk) {
      return false;
    }
    elements->push_back(reply.substr(pos, len));
    pos += len;
  }
  return true;
}

std::string MergeConcat(const std::vector<NodeReply>& parts) {
  if (const NodeReply* e = FirstError(parts)) return e->reply;
  std::vector<std::string_view> all, one;
  for (const NodeReply& p : parts) {
    if (!AggregateElements(p.reply, &one)) return Error(errors::UnexpectedReply("fan-out", p.node));
    all.insert(all.end(), one.begin(), one.end());
  }
  std::string out;
  resp::AppendArrayHeader(&out, static_cast<int64_t>(all.size()));
  for (std::string_view e : all) out.append(e);
  return out;
}

std::string MergeAllOk(const std::vector<NodeReply>& parts, std::string_view command) {
  std::string failures;
  size_t ok = 0;
  for (const NodeReply& p : parts) {
    if (p.reply == "+OK\r\n") {
      ++ok;
      continue;
    }
    if (!failures.empty()) failures += ", ";
    failures += fmt::format("{} ({})", p.node, p.is_error() ? p.error_text() : p.reply);
  }
  if (failures.empty()) return "+OK\r\n";
  // Every node refused it alike (a bad value): the error is the one a single node gives.
  if (ok == 0 && std::all_of(parts.begin(), parts.end(),
                             [&parts](const NodeReply& p) { return p.reply == parts[0].reply; })) {
    return parts[0].reply;
  }
  if (ok > 0) failures += fmt::format("; it succeeded on the other {} node(s)", ok);
  return Error(errors::FanOutFailed(command, failures));
}

std::string MergeKill(const std::vector<NodeReply>& parts) {
  const NodeReply* other = nullptr;
  for (const NodeReply& p : parts) {
    if (p.reply == "+OK\r\n") return p.reply;
    if (p.is_error() && p.error_text().substr(0, 7) != "NOTBUSY" && other == nullptr) other = &p;
  }
  if (other != nullptr) return other->reply;
  return parts.empty() ? Error(errors::kNotBusy) : parts.front().reply;
}

std::string MergePing(const std::vector<NodeReply>& parts, const std::string& own) {
  for (const NodeReply& p : parts) {
    if (p.is_error() && p.error_text().substr(0, 10) != "ERR proxy:") return p.reply;
  }
  return own;
}

std::string MergeFunctionStats(const std::vector<NodeReply>& parts) {
  if (const NodeReply* e = FirstError(parts)) return e->reply;
  if (parts.empty()) return "*0\r\n";
  std::vector<std::string_view> fields;
  for (const NodeReply& p : parts) {
    if (!AggregateElements(p.reply, &fields)) continue;
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].find("running_script") == std::string_view::npos) continue;
      const std::string_view v = fields[i + 1];
      if (v != "*-1\r\n" && v != "$-1\r\n" && v != "_\r\n") return p.reply;
    }
  }
  return parts.front().reply;
}

std::string MergeAndArrays(const std::vector<NodeReply>& parts) {
  if (const NodeReply* e = FirstError(parts)) return e->reply;
  std::vector<bool> all;
  std::vector<std::string_view> one;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!AggregateElements(parts[i].reply, &one)) {
      return Error(errors::UnexpectedReply("fan-out", parts[i].node));
    }
    if (i == 0) all.assign(one.size(), true);
    for (size_t k = 0; k < one.size() && k < all.size(); ++k) {
      if (one[k] != ":1\r\n") all[k] = false;
    }
  }
  std::string out;
  resp::AppendArrayHeader(&out, static_cast<int64_t>(all.size()));
  for (bool b : all) resp::AppendInteger(&out, b ? 1 : 0);
  return out;
}

std::string MergeRandomNonNil(const std::vector<NodeReply>& parts, size_t pick, int resp) {
  for (size_t i = 0; i < parts.size(); ++i) {
    const NodeReply& p = parts[(pick + i) % parts.size()];
    if (p.is_error()) return p.reply;
    if (p.reply != "$-1\r\n" && p.reply != "_\r\n") return p.reply;
  }
  return resp == 3 ? "_\r\n" : "$-1\r\n";
}

std::string MergeSlowlog(const std::vector<NodeReply>& parts, int64_t count) {
  if (const NodeReply* e = FirstError(parts)) return e->reply;
  struct Entry {
    int64_t time;
    std::string_view raw;
  };
  std::vector<Entry> entries;
  std::vector<std::string_view> one, fields;
  for (const NodeReply& p : parts) {
    if (!AggregateElements(p.reply, &one)) return Error(errors::UnexpectedReply("fan-out", p.node));
    for (std::string_view e : one) {
      int64_t t = 0;
      if (AggregateElements(e, &fields) && fields.size() > 1 && fields[1].size() > 3) {
        ParseInt(fields[1].substr(1, fields[1].size() - 3), &t);
      }
      entries.push_back({t, e});
    }
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.time > b.time; });
  if (count >= 0 && entries.size() > static_cast<size_t>(count)) entries.resize(count);
  std::string out;
  resp::AppendArrayHeader(&out, static_cast<int64_t>(entries.size()));
  for (const Entry& e : entries) out.append(e.raw);
  return out;
}

std::string MergeNamedText(const std::vector<NodeReply>& parts, int resp) {
  std::string text;
  for (const NodeReply& p : parts) {
    Value v;
    std::string_view body = p.is_error() ? p.error_text() : std::string_view();
    if (!p.is_error() && Parse(p.reply, &v)) body = v.text;
    if (v.type == '=' && body.size() >= 4) body.remove_prefix(4);  // "txt:"
    text += fmt::format("{}:\n{}\n", p.node, body);
  }
  std::string out;
  if (resp == 3) {
    resp::AppendVerbatim(&out, "txt", text);
  } else {
    resp::AppendBulk(&out, text);
  }
  return out;
}

std::string MergeSumFields(const std::vector<NodeReply>& parts) {
  if (const NodeReply* e = FirstError(parts)) return e->reply;
  if (parts.empty()) return "*0\r\n";
  Value acc;
  if (!Parse(parts[0].reply, &acc)) return Error(errors::UnexpectedReply("fan-out", parts[0].node));
  std::deque<std::string> storage;  // SumInto points into it: elements never move
  for (size_t i = 1; i < parts.size(); ++i) {
    Value v;
    if (!Parse(parts[i].reply, &v)) return Error(errors::UnexpectedReply("fan-out", parts[i].node));
    SumInto(v, &acc, &storage);
  }
  std::string out;
  Write(acc, &out);
  return out;
}

std::string WithConfigValue(const std::string& reply, std::string_view key, std::string_view value) {
  std::vector<std::string_view> elems;
  if (!AggregateElements(reply, &elems) || elems.size() % 2 != 0) return reply;
  bool found = false;
  std::string out;
  out.append(reply.substr(0, reply.find("\r\n") + 2));  // the same header
  for (size_t i = 0; i + 1 < elems.size(); i += 2) {
    out.append(elems[i]);
    Value k;
    if (Parse(elems[i], &k) && k.text == key) {
      resp::AppendBulk(&out, value);
      found = true;
    } else {
      out.append(elems[i + 1]);
    }
  }
  return found ? out : reply;
}

bool ParseClusterSlotsReply(std::string_view reply, std::string_view node_host,
                            RoutingTable* out) {
  Value v;
  if (!Parse(reply, &v) || v.type != '*') return false;
  out->source = "cluster-slots";
  for (const Value& range : v.children) {
    if (range.type != '*' || range.children.size() < 3) return false;
    int64_t first = 0, last = 0;
    if (!ParseInt(range.children[0].text, &first) || !ParseInt(range.children[1].text, &last) ||
        first < 0 || last >= kSlotCount || first > last) {
      return false;
    }
    const Value& master = range.children[2];
    if (master.type != '*' || master.children.size() < 2) return false;
    std::string host(master.children[0].text);
    if (host.empty() || host == "?") host = node_host;
    std::string address = host + ":" + std::string(master.children[1].text);
    const int16_t index = out->AddMaster(address);
    for (int64_t s = first; s <= last; ++s) out->owner[static_cast<size_t>(s)] = index;
  }
  return true;
}

}  // namespace rs::proxy
