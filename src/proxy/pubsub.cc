#include "proxy/pubsub.h"

#include <algorithm>
#include <charconv>
#include <unordered_set>

namespace rs::proxy {
namespace {

constexpr std::string_view kKeyspacePrefix = "__keyspace@";
constexpr std::string_view kKeyeventPrefix = "__keyevent@";

// Reads "<digits>\r\n" at `pos` (after a type byte); false when malformed.
bool ReadLine(std::string_view s, size_t* pos, std::string_view* line) {
  size_t end = s.find("\r\n", *pos);
  if (end == std::string_view::npos) return false;
  *line = s.substr(*pos, end - *pos);
  *pos = end + 2;
  return true;
}

bool ToInt(std::string_view text, int64_t* v) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *v);
  return ec == std::errc() && p == text.data() + text.size();
}

// One bulk string, integer or null element at `pos`.
bool ReadElement(std::string_view s, size_t* pos, std::string_view* out, bool* null) {
  if (*pos >= s.size()) return false;
  const char type = s[*pos];
  ++*pos;
  std::string_view line;
  if (!ReadLine(s, pos, &line)) return false;
  *null = false;
  switch (type) {
    case ':':
      *out = line;
      return true;
    case '_':
      *null = true;
      *out = {};
      return true;
    case '$': {
      int64_t len = 0;
      if (!ToInt(line, &len)) return false;
      if (len < 0) {
        *null = true;
        *out = {};
        return true;
      }
      if (*pos + static_cast<size_t>(len) + 2 > s.size()) return false;
      *out = s.substr(*pos, static_cast<size_t>(len));
      *pos += static_cast<size_t>(len) + 2;
      return true;
    }
    default:
      return false;
  }
}

// A flat array ('*' or '>') of bulk strings / integers / nulls.
bool ParseFlat(std::string_view s, std::vector<std::string_view>* out) {
  if (s.empty() || (s[0] != '*' && s[0] != '>')) return false;
  size_t pos = 1;
  std::string_view line;
  int64_t n = 0;
  if (!ReadLine(s, &pos, &line) || !ToInt(line, &n) || n < 0) return false;
  out->clear();
  for (int64_t i = 0; i < n; ++i) {
    std::string_view e;
    bool null = false;
    if (!ReadElement(s, &pos, &e, &null)) return false;
    out->push_back(e);
  }
  return true;
}

}  // namespace

std::string_view SubscribeWord(SubKind kind) {
  switch (kind) {
    case SubKind::kChannel:
      return "subscribe";
    case SubKind::kPattern:
      return "psubscribe";
    case SubKind::kShard:
      return "ssubscribe";
  }
  return "";
}

std::string_view UnsubscribeWord(SubKind kind) {
  switch (kind) {
    case SubKind::kChannel:
      return "unsubscribe";
    case SubKind::kPattern:
      return "punsubscribe";
    case SubKind::kShard:
      return "sunsubscribe";
  }
  return "";
}

bool Subscriptions::Add(SubKind kind, std::string_view name) {
  switch (kind) {
    case SubKind::kChannel:
      return channels.emplace(name).second;
    case SubKind::kShard:
      return shard_channels.emplace(name).second;
    case SubKind::kPattern:
      if (std::find(patterns.begin(), patterns.end(), name) != patterns.end()) return false;
      patterns.emplace_back(name);
      return true;
  }
  return false;
}

bool Subscriptions::Remove(SubKind kind, std::string_view name) {
  switch (kind) {
    case SubKind::kChannel:
      return channels.erase(std::string(name)) > 0;
    case SubKind::kShard:
      return shard_channels.erase(std::string(name)) > 0;
    case SubKind::kPattern: {
      auto it = std::find(patterns.begin(), patterns.end(), name);
      if (it == patterns.end()) return false;
      patterns.erase(it);
      return true;
    }
  }
  return false;
}

std::vector<std::string> Subscriptions::Names(SubKind kind) const {
  switch (kind) {
    case SubKind::kChannel:
      return {channels.begin(), channels.end()};
    case SubKind::kShard:
      return {shard_channels.begin(), shard_channels.end()};
    case SubKind::kPattern:
      return patterns;
  }
  return {};
}

bool IsKeyspaceChannel(std::string_view channel) {
  return channel.starts_with(kKeyspacePrefix) || channel.starts_with(kKeyeventPrefix);
}

bool PatternMayMatchPrefix(std::string_view p, std::string_view prefix) {
  size_t pi = 0, si = 0;
  while (si < prefix.size()) {
    // The prefix is not used up yet: the pattern must match its next byte.
    if (pi >= p.size()) return false;
    const char c = prefix[si];
    switch (p[pi]) {
      case '*':
        return true;  // absorbs the rest of the prefix; what follows can match some suffix
      case '?':
        ++pi;
        break;
      case '[': {
        size_t j = pi + 1;
        const bool negate = j < p.size() && p[j] == '^';
        if (negate) ++j;
        bool matched = false;
        while (j < p.size() && p[j] != ']') {
          if (p[j] == '\\' && j + 1 < p.size()) {
            matched |= p[j + 1] == c;
            j += 2;
          } else if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
            char lo = p[j], hi = p[j + 2];
            if (lo > hi) std::swap(lo, hi);
            matched |= c >= lo && c <= hi;
            j += 3;
          } else {
            matched |= p[j] == c;
            ++j;
          }
        }
        if (j >= p.size()) return true;  // an unclosed class: malformed, assume it may match
        if (matched == negate) return false;
        pi = j + 1;
        break;
      }
      case '\\':
        if (pi + 1 < p.size()) ++pi;  // the escaped byte is a literal; a trailing '\' is itself
        [[fallthrough]];
      default:
        if (p[pi] != c) return false;
        ++pi;
        break;
    }
    ++si;
  }
  return true;  // the rest of the pattern only has to match what follows the prefix
}

bool PatternMayMatchKeyspace(std::string_view pattern) {
  return PatternMayMatchPrefix(pattern, kKeyspacePrefix) ||
         PatternMayMatchPrefix(pattern, kKeyeventPrefix);
}

bool ParsePush(std::string_view reply, PushView* out) {
  if (reply.empty() || (reply[0] != '*' && reply[0] != '>')) return false;
  out->push = reply[0] == '>';
  size_t pos = 1;
  std::string_view line;
  int64_t n = 0;
  if (!ReadLine(reply, &pos, &line) || !ToInt(line, &n) || n < 1 || n > 4) return false;
  out->size = static_cast<int>(n);
  for (int i = 0; i < out->size; ++i) {
    if (!ReadElement(reply, &pos, &out->e[i], &out->null[i])) return false;
  }
  return true;
}

ClientMessage ReencodeMessage(std::string_view reply, int resp) {
  return {resp == 3 ? '>' : '*', reply.empty() ? reply : reply.substr(1)};
}

PubsubMerge MergePubsubReplies(PubsubQuery query, const std::vector<std::string>& replies) {
  PubsubMerge m;
  std::vector<std::string_view> elems;
  std::unordered_set<std::string_view> seen;
  for (const std::string& r : replies) {
    if (r.empty() || r[0] == '-' || r[0] == '!') {
      m.error = r.empty() ? "-ERR proxy: empty reply from a node\r\n" : r;
      return m;
    }
    switch (query) {
      case PubsubQuery::kNumpat: {
        int64_t v = 0;
        std::string_view digits = std::string_view(r).substr(1, r.find('\r') - 1);
        if (r[0] != ':' || !ToInt(digits, &v)) {
          m.error = "-ERR proxy: unexpected PUBSUB NUMPAT reply from a node\r\n";
          return m;
        }
        m.numpat += v;
        break;
      }
      case PubsubQuery::kChannels:
      case PubsubQuery::kShardChannels:
        if (!ParseFlat(r, &elems)) {
          m.error = "-ERR proxy: unexpected PUBSUB reply from a node\r\n";
          return m;
        }
        for (std::string_view e : elems) {
          if (seen.insert(e).second) m.channels.emplace_back(e);
        }
        break;
      case PubsubQuery::kNumsub:
      case PubsubQuery::kShardNumsub: {
        if (!ParseFlat(r, &elems) || elems.size() % 2 != 0) {
          m.error = "-ERR proxy: unexpected PUBSUB reply from a node\r\n";
          return m;
        }
        const bool first = m.counts.empty();
        if (!first && m.counts.size() * 2 != elems.size()) {
          m.error = "-ERR proxy: nodes disagree on a PUBSUB reply's length\r\n";
          return m;
        }
        for (size_t i = 0; i < elems.size(); i += 2) {
          int64_t v = 0;
          if (!ToInt(elems[i + 1], &v)) v = 0;
          if (first) {
            m.counts.emplace_back(std::string(elems[i]), v);
          } else {
            m.counts[i / 2].second += v;
          }
        }
        break;
      }
    }
  }
  return m;
}

bool GlobMatch(std::string_view p, std::string_view s) {
  while (!p.empty()) {
    switch (p[0]) {
      case '*': {
        while (p.size() > 1 && p[1] == '*') p.remove_prefix(1);
        if (p.size() == 1) return true;
        for (size_t i = 0; i <= s.size(); ++i) {
          if (GlobMatch(p.substr(1), s.substr(i))) return true;
        }
        return false;
      }
      case '?':
        if (s.empty()) return false;
        s.remove_prefix(1);
        p.remove_prefix(1);
        break;
      case '[': {
        if (s.empty()) return false;
        p.remove_prefix(1);
        const bool negate = !p.empty() && p[0] == '^';
        if (negate) p.remove_prefix(1);
        bool match = false;
        while (!p.empty() && p[0] != ']') {
          if (p[0] == '\\' && p.size() >= 2) {
            p.remove_prefix(1);
            if (p[0] == s[0]) match = true;
          } else if (p.size() >= 3 && p[1] == '-') {
            char lo = p[0], hi = p[2];
            if (lo > hi) std::swap(lo, hi);
            if (s[0] >= lo && s[0] <= hi) match = true;
            p.remove_prefix(2);
          } else if (p[0] == s[0]) {
            match = true;
          }
          p.remove_prefix(1);
        }
        if (!p.empty()) p.remove_prefix(1);  // the ']'
        if (negate) match = !match;
        if (!match) return false;
        s.remove_prefix(1);
        break;
      }
      case '\\':
        if (p.size() >= 2) p.remove_prefix(1);
        [[fallthrough]];
      default:
        if (s.empty() || p[0] != s[0]) return false;
        s.remove_prefix(1);
        p.remove_prefix(1);
        break;
    }
  }
  return s.empty();
}

int64_t PubSubRegistry::ClientsReceiving(std::string_view channel) const {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t n = 0;
  auto it = names_[static_cast<size_t>(SubKind::kChannel)].find(std::string(channel));
  if (it != names_[static_cast<size_t>(SubKind::kChannel)].end()) n += it->second.clients;
  for (const auto& [pattern, counts] : names_[static_cast<size_t>(SubKind::kPattern)]) {
    if (counts.clients > 0 && GlobMatch(pattern, channel)) n += counts.clients;
  }
  return n;
}

void PubSubRegistry::Add(SubKind kind, const std::string& name, int clients, int connections) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& map = names_[Index(kind)];
  Counts& c = map[name];
  c.clients += clients;
  c.connections += connections;
  if (kind == SubKind::kPattern) connection_patterns_ += connections;
  if (c.clients <= 0 && c.connections <= 0) map.erase(name);
}

void PubSubRegistry::AddClient(SubKind kind, const std::string& name, int delta) {
  Add(kind, name, delta, 0);
}

void PubSubRegistry::AddConnection(SubKind kind, const std::string& name, int delta) {
  Add(kind, name, 0, delta);
}

int64_t PubSubRegistry::Clients(SubKind kind, const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = names_[Index(kind)].find(name);
  return it == names_[Index(kind)].end() ? 0 : it->second.clients;
}

int64_t PubSubRegistry::Connections(SubKind kind, const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = names_[Index(kind)].find(name);
  return it == names_[Index(kind)].end() ? 0 : it->second.connections;
}

int64_t PubSubRegistry::DistinctClientPatterns() const {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t n = 0;
  for (const auto& [name, c] : names_[Index(SubKind::kPattern)]) n += c.clients > 0;
  return n;
}

int64_t PubSubRegistry::ConnectionPatterns() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connection_patterns_;
}

}  // namespace rs::proxy
