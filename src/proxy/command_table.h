// What the proxy knows about each Redis command: where its keys are and how it is handled.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/ascii.h"

namespace rs::proxy {

// How a request is routed. The fast path (kKeyed, kSplit, kKeyless) forwards the request's bytes
// over the worker's shared, pipelined connections; everything else goes through a handler.
enum class CommandKind : uint8_t {
  kKeyed,       // keys at fixed positions (or after a numkeys argument), all in one slot
  kSplit,       // MGET / MSET / DEL / UNLINK / EXISTS / TOUCH: split per slot and merged
  kKeyless,     // no key: any master may answer (COMMAND, TIME, PUBLISH, unknown commands)
  kSumMasters,  // DBSIZE: integer sum over all masters
  kBroadcast,   // SCRIPT LOAD / FUNCTION LOAD ...: sent to every master, first reply returned
  kInfo,        // INFO: proxy section plus the backends' aggregate
  kHandled,     // `handler` decides: answered by the proxy, a session, a fan-out
  kRefused,     // admin commands; with --allow-admin-commands, `handler` (or a master) runs them
  kNever,       // SYNC / PSYNC / REPLCONF take over the connection: refused even to admins
};

// The proxy's handler of a command (proxy_commands.cc holds the table of them).
enum class Handler : uint8_t {
  kNone,
  // Answered by the proxy.
  kPing,
  kEcho,
  kQuit,
  kSelect,
  kAuth,
  kHello,
  kClient,
  kCluster,
  kReadonly,
  kReadwrite,
  kReset,
  kAcl,
  // Transactions: a session pinned to the transaction's slot.
  kMulti,
  kExec,
  kDiscard,
  kWatch,
  kUnwatch,
  // Blocking: a session for the time the command blocks.
  kBlocking,
  kWait,
  // Pub/sub.
  kSubscribe,
  kPsubscribe,
  kSsubscribe,
  kUnsubscribe,
  kPunsubscribe,
  kSunsubscribe,
  kPubsub,
  kPublish,
  // Fan-out to every master (or node) and merged.
  kScan,
  kKeys,
  kRandomKey,
  kFlush,
  kConfig,
  kScript,
  kFunction,
  kSlowlog,
  kLatency,
  kMemory,
  kMonitor,
  // Admin commands that may hold their node for long (DEBUG SLEEP, SAVE): a session of their
  // own, never a shared connection.
  kDedicated,
  // EVAL, EVALSHA, FCALL and their _RO forms: a session of their own, so a long script holds up
  // no other client's requests (they get -BUSY from the node, as they would without the proxy).
  kScriptCall,
  kCount,  // not a handler: the number of them
};

enum class SplitKind : uint8_t { kNone, kMget, kMset, kSumInt };

// Where a blocking command keeps its timeout.
enum class TimeoutArg : uint8_t {
  kNone,
  kLastSeconds,   // BLPOP k1 k2 timeout, BLMOVE ... timeout (seconds, a float)
  kFirstSeconds,  // BLMPOP timeout numkeys ..., BZMPOP
  kBlockMillis,   // XREAD / XREADGROUP ... BLOCK ms ...
};

// How to find keys, after Redis's legacy (first, last, step) key specs; last < 0 counts from the
// end (-1 = last argument). numkeys_arg > 0: argument at that index holds the number of keys,
// which follow it (EVAL, ZUNION, ...); first then names an extra key before it (ZUNIONSTORE's
// destination) or is 0.
struct CommandInfo {
  std::string_view name;  // lower case
  CommandKind kind = CommandKind::kKeyless;
  Handler handler = Handler::kNone;
  int16_t first = 0;
  int16_t last = 0;
  int16_t step = 0;
  int16_t numkeys_arg = 0;
  SplitKind split = SplitKind::kNone;
  TimeoutArg timeout = TimeoutArg::kNone;
  bool streams_keyword = false;  // XREAD / XREADGROUP: keys follow STREAMS
  bool readonly = false;         // may be served by a replica (READONLY clients, --read-from)
  uint16_t index = 0;            // position in the table, for per-command counters
};

// Thread contract: immutable after construction; shared by all workers.
class CommandTable {
 public:
  static const CommandTable& Get();

  // The entry for `name` (any case), or nullptr for a command the proxy does not know; those are
  // sent to any master, and a node answers MOVED if the command turns out to have a key.
  const CommandInfo* Find(std::string_view name) const;

  // Appends the indexes (into `args`) of the keys of a request. A request too short to hold its
  // keys yields none, so a node answers it with Redis's own arity error.
  static void KeyIndexes(const CommandInfo& info, const std::vector<std::string_view>& args,
                         std::vector<int>* out);

  size_t size() const { return entries_.size(); }
  const CommandInfo& at(size_t i) const { return entries_[i]; }

 private:
  CommandTable();
  std::vector<CommandInfo> entries_;
  std::vector<uint32_t> buckets_;  // open addressing over entries_, value = index + 1
};

// The routing of one request: the table's kind and handler, refined by its subcommand or options
// (CONFIG SET is admin, CONFIG GET is not; XREAD with BLOCK blocks).
struct Classified {
  CommandKind kind;
  Handler handler;
};
Classified Classify(const CommandInfo& info, const std::vector<std::string_view>& args);

// ACL SETUSER, DELUSER, LOAD and SAVE (case-insensitive): they change the nodes' users.
bool AclChangesUsers(std::string_view sub);

}  // namespace rs::proxy
