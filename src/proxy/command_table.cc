#include "proxy/command_table.h"

#include <cstring>

namespace rs::proxy {
namespace {

using K = CommandKind;

struct Row {
  const char* names;  // space separated, same handling
  K kind;
  int16_t first, last, step, numkeys;
  SplitKind split = SplitKind::kNone;
};

// Key positions as Redis 7.0's COMMAND INFO reports them. Commands missing here still work: they
// go to a master and MOVED redirects them to the key's owner.
const Row kRows[] = {
    // One key at argument 1.
    {"get set setnx setex psetex append strlen incr decr incrby decrby incrbyfloat getset getdel "
     "getex getrange setrange getbit setbit bitcount bitpos bitfield bitfield_ro substr type ttl "
     "pttl expire pexpire expireat pexpireat expiretime pexpiretime persist dump restore "
     "restore-asking sort sort_ro lpush rpush lpushx rpushx lpop rpop llen lindex linsert lrange "
     "lrem lset ltrim lpos sadd srem scard sismember smismember smembers spop srandmember sscan "
     "hset hsetnx hget hmset hmget hdel hlen hstrlen hexists hkeys hvals hgetall hincrby "
     "hincrbyfloat hrandfield hscan zadd zincrby zrem zcard zcount zlexcount zscore zmscore zrank "
     "zrevrank zrange zrangebyscore zrangebylex zrevrange zrevrangebyscore zrevrangebylex "
     "zremrangebyrank zremrangebyscore zremrangebylex zpopmin zpopmax zrandmember zscan pfadd "
     "pfdebug geoadd geodist geohash geopos georadius georadius_ro georadiusbymember "
     "georadiusbymember_ro geosearch xadd xlen xrange xrevrange xdel xtrim xack xclaim xautoclaim "
     "xpending xsetid",
     K::kKeyed, 1, 1, 1, 0},
    // Key at argument 2 (subcommand containers).
    {"xgroup xinfo object", K::kKeyed, 2, 2, 1, 0},
    // Two or more keys, one slot required.
    {"rename renamenx smove lmove rpoplpush copy geosearchstore lcs", K::kKeyed, 1, 2, 1, 0},
    {"sinter sunion sdiff sinterstore sunionstore sdiffstore pfcount pfmerge", K::kKeyed, 1, -1, 1,
     0},
    {"msetnx", K::kKeyed, 1, -1, 2, 0},
    {"bitop", K::kKeyed, 2, -1, 1, 0},
    {"zunionstore zinterstore zdiffstore", K::kKeyed, 1, 0, 0, 2},
    {"zunion zinter zdiff zintercard sintercard lmpop zmpop", K::kKeyed, 0, 0, 0, 1},
    {"eval evalsha eval_ro evalsha_ro fcall fcall_ro", K::kKeyed, 0, 0, 0, 2},
    {"xread xreadgroup", K::kKeyed, 0, 0, 0, 0},
    // Split across slots and merged.
    {"mget", K::kSplit, 1, -1, 1, 0, SplitKind::kMget},
    {"mset", K::kSplit, 1, -1, 2, 0, SplitKind::kMset},
    {"del unlink exists touch", K::kSplit, 1, -1, 1, 0, SplitKind::kSumInt},
    // Keyless.
    {"command time randomkey lastsave publish pubsub memory latency lolwut role config function "
     "module acl",
     K::kKeyless, 0, 0, 0, 0},
    {"dbsize", K::kSumMasters, 0, 0, 0, 0},
    {"script", K::kBroadcast, 0, 0, 0, 0},
    {"info", K::kInfo, 0, 0, 0, 0},
    {"ping echo quit select auth hello client cluster multi exec discard readonly readwrite reset",
     K::kProxy, 0, 0, 0, 0},
    {"flushall flushdb shutdown debug save bgsave bgrewriteaof monitor replicaof slaveof migrate "
     "keys failover sync psync",
     K::kRefused, 0, 0, 0, 0},
    {"blpop brpop brpoplpush blmove blmpop bzpopmin bzpopmax bzmpop subscribe psubscribe "
     "ssubscribe unsubscribe punsubscribe sunsubscribe watch unwatch scan wait spublish",
     K::kUnsupported, 0, 0, 0, 0},
};

uint32_t HashName(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    h = (h ^ static_cast<uint8_t>(l)) * 16777619u;
  }
  return h;
}

bool ParseCount(std::string_view s, int64_t* v) {
  if (s.empty() || s.size() > 9) return false;
  int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  *v = n;
  return true;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

CommandTable::CommandTable() {
  for (const Row& row : kRows) {
    std::string_view names(row.names);
    while (!names.empty()) {
      size_t sp = names.find(' ');
      std::string_view name = names.substr(0, sp);
      names = sp == std::string_view::npos ? std::string_view() : names.substr(sp + 1);
      if (name.empty()) continue;
      CommandInfo info;
      info.name = name;
      info.kind = row.kind;
      info.first = row.first;
      info.last = row.last;
      info.step = row.step;
      info.numkeys_arg = row.numkeys;
      info.split = row.split;
      info.streams_keyword = name == "xread" || name == "xreadgroup";
      info.index = static_cast<uint16_t>(entries_.size());
      entries_.push_back(info);
    }
  }
  buckets_.assign(1024, 0);
  for (const CommandInfo& e : entries_) {
    uint32_t i = HashName(e.name) & 1023;
    while (buckets_[i] != 0) i = (i + 1) & 1023;
    buckets_[i] = e.index + 1u;
  }
}

const CommandTable& CommandTable::Get() {
  static const CommandTable table;
  return table;
}

const CommandInfo* CommandTable::Find(std::string_view name) const {
  if (name.empty() || name.size() > 32) return nullptr;
  uint32_t i = HashName(name) & 1023;
  while (buckets_[i] != 0) {
    const CommandInfo& e = entries_[buckets_[i] - 1];
    if (EqualsIgnoreCase(e.name, name)) return &e;
    i = (i + 1) & 1023;
  }
  return nullptr;
}

void CommandTable::KeyIndexes(const CommandInfo& info, const std::vector<std::string_view>& args,
                              std::vector<int>* out) {
  const int argc = static_cast<int>(args.size());
  if (info.streams_keyword) {
    // XREAD [COUNT n] [BLOCK ms] STREAMS k1 k2 id1 id2: keys are the first half after STREAMS.
    for (int i = 1; i < argc; ++i) {
      if (EqualsIgnoreCase(args[i], "streams")) {
        int rest = argc - i - 1;
        if (rest <= 0 || rest % 2 != 0) return;
        for (int k = 0; k < rest / 2; ++k) out->push_back(i + 1 + k);
        return;
      }
    }
    return;
  }
  if (info.numkeys_arg > 0) {
    if (info.first > 0 && info.first < argc) out->push_back(info.first);
    if (info.numkeys_arg >= argc) return;
    int64_t n = 0;
    if (!ParseCount(args[info.numkeys_arg], &n)) return;
    if (info.numkeys_arg + n > argc - 1) return;
    for (int64_t k = 1; k <= n; ++k) out->push_back(static_cast<int>(info.numkeys_arg + k));
    return;
  }
  if (info.first <= 0 || info.first >= argc) return;
  int last = info.last < 0 ? argc + info.last : info.last;
  if (last >= argc) last = argc - 1;
  int step = info.step > 0 ? info.step : 1;
  if (step > 1 && (argc - info.first) % step != 0) return;  // MSET k v k: let Redis say arity
  for (int i = info.first; i <= last; i += step) out->push_back(i);
}

CommandKind RefineKind(const CommandInfo& info, const std::vector<std::string_view>& args) {
  std::string_view sub = args.size() > 1 ? args[1] : std::string_view();
  if (info.name == "config") {
    if (EqualsIgnoreCase(sub, "set") || EqualsIgnoreCase(sub, "resetstat") ||
        EqualsIgnoreCase(sub, "rewrite")) {
      return CommandKind::kRefused;
    }
  } else if (info.name == "function") {
    if (EqualsIgnoreCase(sub, "load") || EqualsIgnoreCase(sub, "delete") ||
        EqualsIgnoreCase(sub, "flush") || EqualsIgnoreCase(sub, "restore")) {
      return CommandKind::kBroadcast;
    }
  } else if (info.name == "xread" || info.name == "xreadgroup") {
    for (size_t i = 1; i < args.size(); ++i) {
      if (EqualsIgnoreCase(args[i], "block")) return CommandKind::kUnsupported;
      if (EqualsIgnoreCase(args[i], "streams")) break;
    }
  } else if (info.name == "pubsub") {
    return CommandKind::kUnsupported;
  }
  return info.kind;
}

}  // namespace rs::proxy
