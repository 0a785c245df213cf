#include "proxy/command_table.h"

#include <cstring>

namespace rs::proxy {
namespace {

using K = CommandKind;
using H = Handler;
using T = TimeoutArg;

struct Row {
  const char* names;  // space separated, same handling
  K kind;
  int16_t first, last, step, numkeys;
  H handler = H::kNone;
  bool readonly = false;
  SplitKind split = SplitKind::kNone;
  T timeout = T::kNone;
};

constexpr bool kRO = true;

// Key positions as Redis 7.0's COMMAND INFO reports them, and its "readonly" flag. Commands
// missing here still work: they go to a master and MOVED redirects them to the key's owner.
const Row kRows[] = {
    // One key at argument 1.
    {"get strlen getrange getbit bitcount bitpos bitfield_ro substr type ttl pttl expiretime "
     "pexpiretime dump sort_ro llen lindex lrange lpos scard sismember smismember smembers "
     "srandmember sscan hget hmget hlen hstrlen hexists hkeys hvals hgetall hrandfield hscan zcard "
     "zcount zlexcount zscore zmscore zrank zrevrank zrange zrangebyscore zrangebylex zrevrange "
     "zrevrangebyscore zrevrangebylex zrandmember zscan geodist geohash geopos georadius_ro "
     "georadiusbymember_ro geosearch xlen xrange xrevrange xpending",
     K::kKeyed, 1, 1, 1, 0, H::kNone, kRO},
    {"set setnx setex psetex append incr decr incrby decrby incrbyfloat getset getdel getex "
     "setrange setbit bitfield expire pexpire expireat pexpireat persist restore restore-asking "
     "sort lpush rpush lpushx rpushx lpop rpop linsert lrem lset ltrim sadd srem spop hset hsetnx "
     "hmset hdel hincrby hincrbyfloat zadd zincrby zrem zremrangebyrank zremrangebyscore "
     "zremrangebylex zpopmin zpopmax pfadd pfdebug geoadd georadius georadiusbymember xadd xdel "
     "xtrim xack xclaim xautoclaim xsetid spublish zrangestore",
     K::kKeyed, 1, 1, 1, 0},
    // Key at argument 2 (subcommand containers).
    {"xinfo object", K::kKeyed, 2, 2, 1, 0, H::kNone, kRO},
    {"xgroup", K::kKeyed, 2, 2, 1, 0},
    // Two or more keys, one slot required.
    {"lcs", K::kKeyed, 1, 2, 1, 0, H::kNone, kRO},
    {"rename renamenx smove lmove rpoplpush copy geosearchstore", K::kKeyed, 1, 2, 1, 0},
    {"sinter sunion sdiff pfcount", K::kKeyed, 1, -1, 1, 0, H::kNone, kRO},
    {"sinterstore sunionstore sdiffstore pfmerge", K::kKeyed, 1, -1, 1, 0},
    {"msetnx", K::kKeyed, 1, -1, 2, 0},
    {"bitop", K::kKeyed, 2, -1, 1, 0},
    {"zunionstore zinterstore zdiffstore", K::kKeyed, 1, 0, 0, 2},
    {"zunion zinter zdiff zintercard sintercard", K::kKeyed, 0, 0, 0, 1, H::kNone, kRO},
    {"lmpop zmpop", K::kKeyed, 0, 0, 0, 1},
    {"eval_ro evalsha_ro fcall_ro", K::kHandled, 0, 0, 0, 2, H::kScriptCall, kRO},
    {"eval evalsha fcall", K::kHandled, 0, 0, 0, 2, H::kScriptCall},
    {"xread", K::kKeyed, 0, 0, 0, 0, H::kNone, kRO},
    {"xreadgroup", K::kKeyed, 0, 0, 0, 0},
    // Split across slots and merged.
    {"mget", K::kSplit, 1, -1, 1, 0, H::kNone, kRO, SplitKind::kMget},
    {"exists touch", K::kSplit, 1, -1, 1, 0, H::kNone, kRO, SplitKind::kSumInt},
    {"mset", K::kSplit, 1, -1, 2, 0, H::kNone, false, SplitKind::kMset},
    {"del unlink", K::kSplit, 1, -1, 1, 0, H::kNone, false, SplitKind::kSumInt},
    // Blocking: a session connection while they wait.
    {"blpop brpop bzpopmin bzpopmax", K::kHandled, 1, -2, 1, 0, H::kBlocking, false,
     SplitKind::kNone, T::kLastSeconds},
    {"brpoplpush blmove", K::kHandled, 1, 2, 1, 0, H::kBlocking, false, SplitKind::kNone,
     T::kLastSeconds},
    {"blmpop bzmpop", K::kHandled, 0, 0, 0, 2, H::kBlocking, false, SplitKind::kNone,
     T::kFirstSeconds},
    {"wait", K::kHandled, 0, 0, 0, 0, H::kWait},
    // Transactions.
    {"multi", K::kHandled, 0, 0, 0, 0, H::kMulti},
    {"exec", K::kHandled, 0, 0, 0, 0, H::kExec},
    {"discard", K::kHandled, 0, 0, 0, 0, H::kDiscard},
    {"watch", K::kHandled, 1, -1, 1, 0, H::kWatch},
    {"unwatch", K::kHandled, 0, 0, 0, 0, H::kUnwatch},
    // Pub/sub.
    {"subscribe", K::kHandled, 0, 0, 0, 0, H::kSubscribe},
    {"psubscribe", K::kHandled, 0, 0, 0, 0, H::kPsubscribe},
    {"ssubscribe", K::kHandled, 1, -1, 1, 0, H::kSsubscribe},
    {"unsubscribe", K::kHandled, 0, 0, 0, 0, H::kUnsubscribe},
    {"punsubscribe", K::kHandled, 0, 0, 0, 0, H::kPunsubscribe},
    {"sunsubscribe", K::kHandled, 1, -1, 1, 0, H::kSunsubscribe},
    {"pubsub", K::kHandled, 0, 0, 0, 0, H::kPubsub},
    // To the worker's pub/sub home master: one client's messages keep their order.
    {"publish", K::kHandled, 0, 0, 0, 0, H::kPublish},
    // Keyless: any master.
    {"command time lastsave lolwut role module config function", K::kKeyless, 0, 0, 0, 0},
    {"acl", K::kHandled, 0, 0, 0, 0, H::kAcl},
    {"dbsize", K::kSumMasters, 0, 0, 0, 0},
    {"script", K::kBroadcast, 0, 0, 0, 0},
    {"info", K::kInfo, 0, 0, 0, 0},
    // Every master, merged.
    {"scan", K::kHandled, 0, 0, 0, 0, H::kScan},
    {"randomkey", K::kHandled, 0, 0, 0, 0, H::kRandomKey},
    {"slowlog", K::kHandled, 0, 0, 0, 0, H::kSlowlog},
    {"latency", K::kHandled, 0, 0, 0, 0, H::kLatency},
    {"memory", K::kHandled, 0, 0, 0, 0, H::kMemory},
    // Answered by the proxy.
    {"ping", K::kHandled, 0, 0, 0, 0, H::kPing},
    {"echo", K::kHandled, 0, 0, 0, 0, H::kEcho},
    {"quit", K::kHandled, 0, 0, 0, 0, H::kQuit},
    {"select", K::kHandled, 0, 0, 0, 0, H::kSelect},
    {"auth", K::kHandled, 0, 0, 0, 0, H::kAuth},
    {"hello", K::kHandled, 0, 0, 0, 0, H::kHello},
    {"client", K::kHandled, 0, 0, 0, 0, H::kClient},
    {"cluster", K::kHandled, 0, 0, 0, 0, H::kCluster},
    {"readonly", K::kHandled, 0, 0, 0, 0, H::kReadonly},
    {"readwrite", K::kHandled, 0, 0, 0, 0, H::kReadwrite},
    {"reset", K::kHandled, 0, 0, 0, 0, H::kReset},
    // Admin: refused without --allow-admin-commands.
    {"flushall flushdb", K::kRefused, 0, 0, 0, 0, H::kFlush},
    {"keys", K::kRefused, 0, 0, 0, 0, H::kKeys},
    {"monitor", K::kRefused, 0, 0, 0, 0, H::kMonitor},
    {"shutdown debug save bgsave bgrewriteaof replicaof slaveof migrate failover", K::kRefused, 0,
     0, 0, 0, H::kDedicated},
    // Never relayed: they turn the connection into a replication stream.
    {"sync psync replconf", K::kNever, 0, 0, 0, 0},
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
      info.handler = row.handler;
      info.readonly = row.readonly;
      info.timeout = row.timeout;
      info.first = row.first;
      info.last = row.last;
      info.step = row.step;
      info.numkeys_arg = row.numkeys;
      info.split = row.split;
      info.streams_keyword = name == "xread" || name == "xreadgroup";
      if (info.streams_keyword) info.timeout = TimeoutArg::kBlockMillis;
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

bool AclChangesUsers(std::string_view sub) {
  return EqualsIgnoreCase(sub, "setuser") || EqualsIgnoreCase(sub, "deluser") ||
         EqualsIgnoreCase(sub, "load") || EqualsIgnoreCase(sub, "save");
}

Classified Classify(const CommandInfo& info, const std::vector<std::string_view>& args) {
  std::string_view sub = args.size() > 1 ? args[1] : std::string_view();
  const Classified as_is{info.kind, info.handler};
  if (info.name == "config") {
    if (EqualsIgnoreCase(sub, "set") || EqualsIgnoreCase(sub, "resetstat") ||
        EqualsIgnoreCase(sub, "rewrite")) {
      return {CommandKind::kRefused, Handler::kConfig};
    }
    if (EqualsIgnoreCase(sub, "get")) return {CommandKind::kHandled, Handler::kConfig};
  } else if (info.name == "script") {
    if (EqualsIgnoreCase(sub, "kill") || EqualsIgnoreCase(sub, "exists")) {
      return {CommandKind::kHandled, Handler::kScript};
    }
  } else if (info.name == "function") {
    if (EqualsIgnoreCase(sub, "load") || EqualsIgnoreCase(sub, "delete") ||
        EqualsIgnoreCase(sub, "flush") || EqualsIgnoreCase(sub, "restore")) {
      return {CommandKind::kBroadcast, Handler::kNone};
    }
    if (EqualsIgnoreCase(sub, "kill") || EqualsIgnoreCase(sub, "stats")) {
      return {CommandKind::kHandled, Handler::kFunction};
    }
  } else if (info.name == "xread" || info.name == "xreadgroup") {
    for (size_t i = 1; i < args.size(); ++i) {
      if (EqualsIgnoreCase(args[i], "block")) return {CommandKind::kHandled, Handler::kBlocking};
      if (EqualsIgnoreCase(args[i], "streams")) break;
    }
  }
  return as_is;
}

}  // namespace rs::proxy
