// A worker's pub/sub multiplexer: every client's channels, patterns and shard channels, carried to
// the nodes over ONE subscriber connection per node (a stream Backend in RESP3, so pushes are
// told apart from the replies to PING and PUBSUB), reference-counted per name.
//
// The nodes' state follows the clients' by reconciling: what each node should have (pubsub.h says
// where each name goes: the home master, every master, the slot's owner) against what was sent on
// that node's current connection. Reconciling runs for a name when its first client comes or its
// last goes, and for everything after a change (a new routing table, a lost connection, a node's
// error, a slot that moved away), on the worker's tick once something changed (every 10 s
// regardless). A lost connection's node
// is avoided for a while and its names go elsewhere (a new home) or wait for the table to name
// the slot's new owner; messages published meanwhile are lost (pub/sub is at-most-once).
//
// A client's (p|s)subscribe reply is held in its reply queue until every node it went to has
// answered what was sent before it (or is down), so a PUBLISH after the reply reaches it.
// Messages go into the same queue, behind that reply.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/slot.h"
#include "proxy/backend.h"
#include "proxy/pubsub.h"
#include "proxy/routing_table.h"
#include "proxy/worker.h"

namespace rs::proxy {

// Thread contract: owned by its worker loop; everything runs on that loop's thread.
class PubSubHub : public StreamSink {
 public:
  PubSubHub(Worker* worker, PubSubRegistry* registry);
  ~PubSubHub() override;
  PubSubHub(const PubSubHub&) = delete;
  PubSubHub& operator=(const PubSubHub&) = delete;

  // `c` starts / stops receiving `name` (the client's own Subscriptions changed already, and the
  // caller checked it was new / present). The nodes are told at once when it is the name's first
  // client / last one.
  void AddSubscriber(Client* c, SubKind kind, const std::string& name);
  void RemoveSubscriber(Client* c, SubKind kind, const std::string& name);
  // Puts `reply` (the client's confirmations) in the client's reply order, once the nodes that
  // `names` of `kind` went to have answered everything sent so far.
  void ReplyWhenConfirmed(Client* c, SubKind kind, const std::vector<std::string>& names,
                          std::string reply);
  // Removes every subscription of `c` from the hub (the caller resets Client::subs). The
  // client is going (`flush_held` false: its held replies are dropped, its PUBSUB queries
  // answered into the void) or leaves subscribed mode (RESET: held replies are written now, before
  // what follows).
  void DropClient(Client* c, bool flush_held);

  // PUBSUB <sub> sent to every master; `pending` is completed with the merged, corrected reply.
  void Query(Client* c, PendingReply* pending, PubsubQuery query, std::string command);

  // A new routing table (a full reconcile follows on the next tick).
  void OnTable() { dirty_ = true; }
  // The worker's 100 ms timer: idle connections closed, PINGs, silent nodes detected, reconcile.
  void Tick(uint64_t now_ms, bool loop_stalled);
  // Closes every connection (worker shutdown).
  void Shutdown();

  // Writes a node's message to `c` in its reply order; CLIENT REPLY OFF does not silence it, as
  // on a node. `reply` is a flat push of bulk strings (">3\r\n$7\r\nmessage..."); a RESP2 client
  // gets it as an array.
  void DeliverPush(Client* c, std::string_view reply);

  // Writes bytes already in the client's protocol (confirmations) in its reply order, unsilenced.
  void Write(Client* c, std::string_view bytes);

  // StreamSink: the subscriber connections.
  void OnStreamReply(Backend* b, std::string_view reply, const resp::ReplyInfo& info) override;
  void OnStreamLost(Backend* b, const std::string& why) override;

  // The node-side receivers of a message on `channel` that are this worker's own subscriber
  // connection to `address` (its channel subscription and each pattern of it that matches):
  // PUBLISH's count on that node includes them, once for all the clients behind them.
  int64_t OwnReceivers(const std::string& address, std::string_view channel) const;

  // The master this worker publishes to and subscribes channels on ("" without a table).
  const std::string& PublishHome() {
    ChooseHome();
    return home_;
  }

 private:
  // A PUBSUB query in flight on every master's connection.
  struct QueryState {
    Client* client;  // nullptr once the client closed
    PendingReply* pending;
    PubsubQuery query;
    std::vector<std::string> replies;  // one per master, whole RESP replies
    size_t received = 0;
    bool finished = false;
  };
  // Lookups by std::string_view (a message's channel) without building a std::string.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>()(s);
    }
  };
  template <typename T>
  using NameMap = std::unordered_map<std::string, T, NameHash, std::equal_to<>>;

  // A command sent on a link whose reply is still due; replies come in the order sent.
  struct Expect {
    enum class What : uint8_t { kSubscribe, kUnsubscribe, kPing, kQuery };
    What what = What::kPing;
    SubKind kind = SubKind::kChannel;
    std::string name;                   // kSubscribe / kUnsubscribe: one name per command
    std::shared_ptr<QueryState> query;  // kQuery
    size_t part = 0;
  };
  // The subscriber connection to one node.
  struct Link {
    std::string address;
    std::unique_ptr<Backend> backend;
    // What the node holds for this connection once it has read everything sent.
    std::unordered_set<std::string> sent[kSubKinds];
    std::deque<Expect> expect;
    uint64_t sent_seq = 0;      // commands sent
    uint64_t answered_seq = 0;  // of which answered
    uint64_t losses = 0;        // times Lost() ran for it
    // Held replies waiting on this connection: (sent_seq when held, waiter id), oldest first.
    std::deque<std::pair<uint64_t, uint64_t>> held;
    uint64_t suspect_until_ms = 0;
    uint64_t progress_ms = 0;  // the last reply, or when the oldest expected one was sent
    uint64_t last_ping_ms = 0;
    uint64_t idle_since_ms = 0;
    uint64_t last_warn_ms = 0;
  };
  // A held subscribe reply: written when every connection it waits on has answered up to the
  // command sent last before it (or was lost), or after --backend-timeout.
  struct Waiter {
    Client* client;
    PendingReply* pending;
    size_t waiting_on;  // connections not there yet
    uint64_t since_ms;
    std::string reply;
  };

  Link* LinkFor(const std::string& address);
  Link* Find(Backend* b);
  // Not worth sending to now: its connection failed lately, or went silent.
  bool Bad(const std::string& address) const;
  // Calls fn(address) for each node `name` of `kind` belongs on.
  template <typename Fn>
  void ForEachTarget(SubKind kind, const std::string& name, Fn fn);
  bool IsTarget(const std::string& address, SubKind kind, const std::string& name);
  // Keeps the home master while it is a master and not Bad; else the next good one.
  void ChooseHome();
  void ReconcileName(SubKind kind, const std::string& name);
  void ReconcileAll();
  // False when the connection was lost at once (nothing sent, `e` dropped).
  bool Send(Link* l, Expect e, std::string_view command);
  // (UN)SUBSCRIBE `name` on `l` unless `l` already holds (does not hold) it.
  void SendSubscription(Link* l, SubKind kind, const std::string& name, bool subscribe);
  void OnPush(Link* l, const PushView& p, std::string_view reply);
  void OnAnswer(Link* l, std::string_view reply, const resp::ReplyInfo& info);
  void Answered(Link* l);
  void Deliver(SubKind kind, std::string_view name, std::string_view reply);
  // The connection is gone (or was closed for silence): its state is forgotten, its names go
  // elsewhere.
  void Lost(Link* l, const std::string& why);
  // One connection a held reply waited on got there (or was lost): written when it was the last.
  void Reached(uint64_t waiter);
  void FinishQuery(const std::shared_ptr<QueryState>& q);
  // Closes the connection whose replies no longer match what was sent, then Lost().
  void Reset(Link* l, std::string_view why);
  // At most one line per connection every 10 s.
  void Warn(Link* l, std::string_view what);

  Worker* worker_;
  PubSubRegistry* registry_;
  // The clients of each name, per kind.
  NameMap<std::vector<Client*>> subscribers_[kSubKinds];
  std::unordered_map<std::string, std::unique_ptr<Link>> links_;
  std::vector<Link*> to_commit_;
  std::unordered_map<uint64_t, Waiter> waiters_;  // by id
  uint64_t next_waiter_ = 1;
  std::vector<std::shared_ptr<QueryState>> queries_;
  std::string home_;
  bool dirty_ = false;
  uint64_t last_full_ms_ = 0;
};

template <typename Fn>
void PubSubHub::ForEachTarget(SubKind kind, const std::string& name, Fn fn) {
  const RoutingTable* t = worker_->table();
  if (t == nullptr || t->masters.empty()) return;
  bool everywhere = false;
  switch (kind) {
    case SubKind::kShard:
      if (const std::string* owner = t->OwnerOf(KeySlot(name))) fn(*owner);
      return;
    case SubKind::kChannel:
      everywhere = IsKeyspaceChannel(name);
      break;
    case SubKind::kPattern:
      everywhere = PatternMayMatchKeyspace(name);
      break;
  }
  if (everywhere) {
    for (const std::string& m : t->masters) fn(m);
  } else if (!home_.empty()) {
    fn(home_);
  }
}

}  // namespace rs::proxy
