// Pub/sub through the proxy: what one client is subscribed to, the pure helpers the worker's hub
// (pubsub_hub.h) routes by, and the process-wide registry PUBSUB NUMSUB / NUMPAT correct their
// counts with.
//
// How a proxy subscription maps onto the cluster: a PUBLISH reaches every node of a cluster, so a
// worker subscribes each channel and pattern on one "home" master only. Keyspace notifications
// are the exception: a node emits them for its own keys and tells no other node, so channels with
// those prefixes, and patterns that could match them, are subscribed on every master. A shard
// channel lives on the master owning its slot.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rs::proxy {

// Never renumber: used as an array index.
enum class SubKind : uint8_t { kChannel = 0, kPattern = 1, kShard = 2 };
inline constexpr int kSubKinds = 3;
inline int Index(SubKind k) { return static_cast<int>(k); }

// The confirmation word of each kind ("subscribe", "psubscribe", "ssubscribe") and its undo.
std::string_view SubscribeWord(SubKind kind);
std::string_view UnsubscribeWord(SubKind kind);

// What one client is subscribed to. Redis counts channels and patterns together in the
// (p)subscribe replies, and shard channels apart. Patterns keep their order (PUNSUBSCRIBE without
// arguments answers in subscription order, as Redis walks its list).
// Thread contract: owned by its client, in its worker.
struct Subscriptions {
  std::set<std::string> channels;
  std::vector<std::string> patterns;
  std::set<std::string> shard_channels;

  bool empty() const { return channels.empty() && patterns.empty() && shard_channels.empty(); }
  size_t count() const { return channels.size() + patterns.size(); }
  // The count a confirmation of `kind` reports.
  size_t CountFor(SubKind kind) const {
    return kind == SubKind::kShard ? shard_channels.size() : count();
  }
  // False when it was already there (Add) or was not (Remove).
  bool Add(SubKind kind, std::string_view name);
  bool Remove(SubKind kind, std::string_view name);
  std::vector<std::string> Names(SubKind kind) const;
};

// ---- pure helpers (unit-tested) ----

// "__keyspace@<db>__:..." or "__keyevent@<db>__:...": emitted only by the node holding the key.
bool IsKeyspaceChannel(std::string_view channel);
// True when glob `pattern` (Redis's syntax: * ? [...] [^...] \x) matches some string starting
// with `prefix`. Errs towards true for malformed patterns: a wrong yes costs a subscription on
// more nodes (whose copies of ordinary channels are dropped), a wrong no would lose events.
bool PatternMayMatchPrefix(std::string_view pattern, std::string_view prefix);
// Redis's glob match (util.c stringmatchlen): * ? [abc] [^a-z] and \ escapes, case-sensitive.
bool GlobMatch(std::string_view pattern, std::string_view text);
// PatternMayMatchPrefix for either keyspace prefix.
bool PatternMayMatchKeyspace(std::string_view pattern);

// One pub/sub reply of a node as a flat aggregate (RESP2 array or RESP3 push) of at most four
// bulk strings, integers or nulls: ["message", channel, payload], ["subscribe", channel, count].
struct PushView {
  bool push = false;  // '>' (RESP3) rather than '*'
  int size = 0;
  std::string_view e[4];
  bool null[4] = {};
};
// False when `reply` is not such an aggregate.
bool ParsePush(std::string_view reply, PushView* out);

// A node's message (a flat push or array of bulk strings, as ParsePush reads) as a client of
// protocol `resp` (2 or 3) gets it: only the type byte differs, '*' or '>'. The rest is the
// node's bytes, so a message is written without being copied.
struct ClientMessage {
  char type;
  std::string_view rest;  // everything after the type byte
};
ClientMessage ReencodeMessage(std::string_view reply, int resp);

// The replies of every master to PUBSUB <sub> ..., merged as one node would answer:
//  - CHANNELS / SHARDCHANNELS: the union of the arrays, first-seen order;
//  - NUMSUB / SHARDNUMSUB: per channel, the sum of the counts;
//  - NUMPAT: the sum.
// `replies` are whole RESP replies (RESP2 or RESP3); an error reply is returned as it is.
enum class PubsubQuery : uint8_t { kChannels, kShardChannels, kNumsub, kShardNumsub, kNumpat };
struct PubsubMerge {
  std::string error;                                    // a node's error reply, whole
  std::vector<std::string> channels;                    // kChannels, kShardChannels
  std::vector<std::pair<std::string, int64_t>> counts;  // kNumsub, kShardNumsub
  int64_t numpat = 0;                                   // kNumpat
};
PubsubMerge MergePubsubReplies(PubsubQuery query, const std::vector<std::string>& replies);

// ---- the process-wide registry ----

// What this proxy has subscribed, over all workers: clients per channel / pattern / shard
// channel, and the proxy's own node connections per name (one per worker and node that holds
// it). A node counts the proxy's connection as one subscriber however many clients share it, so
// the proxy's answer to PUBSUB NUMSUB is: the nodes' sum - the proxy's connections + its clients.
// Thread contract: thread-safe; workers update it, any worker reads it.
class PubSubRegistry {
 public:
  void AddClient(SubKind kind, const std::string& name, int delta);
  void AddConnection(SubKind kind, const std::string& name, int delta);
  int64_t Clients(SubKind kind, const std::string& name) const;
  int64_t Connections(SubKind kind, const std::string& name) const;
  // Patterns with at least one client (Redis's NUMPAT counts distinct patterns).
  int64_t DistinctClientPatterns() const;
  // (node connection, pattern) pairs: each adds one to its node's NUMPAT.
  int64_t ConnectionPatterns() const;
  // The proxy's clients a message on `channel` reaches: its subscribers and, per pattern that
  // matches it, that pattern's subscribers (as PUBLISH counts receivers).
  int64_t ClientsReceiving(std::string_view channel) const;

 private:
  struct Counts {
    int64_t clients = 0;
    int64_t connections = 0;
  };
  void Add(SubKind kind, const std::string& name, int clients, int connections);

  mutable std::mutex mu_;
  std::unordered_map<std::string, Counts> names_[kSubKinds];  // guarded by mu_
  int64_t connection_patterns_ = 0;                           // guarded by mu_
};

}  // namespace rs::proxy
