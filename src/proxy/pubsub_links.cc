// PubSubHub's side towards the nodes: where each name belongs, the subscriber connections,
// reconciling them with the clients' subscriptions, and what the nodes send back.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/resp_writer.h"
#include "common/slot.h"
#include "proxy/client.h"
#include "proxy/proxy_errors.h"
#include "proxy/pubsub_hub.h"
#include "proxy/redirect.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

// A silent subscriber connection is noticed by a PING this often (when nothing else is due).
constexpr uint64_t kPingIntervalMs = 3000;
// A node whose subscriber connection failed is not sent to (nor chosen as home) for this long.
constexpr uint64_t kSuspectMs = 1000;
// A connection with nothing subscribed is closed after this long.
constexpr uint64_t kIdleCloseMs = 10000;
// Without any event, everything is reconciled this often anyway.
constexpr uint64_t kFullReconcileMs = 10000;

std::string ErrorReply(std::string_view text) {
  std::string out;
  resp::AppendError(&out, text);
  return out;
}

}  // namespace

// ---- where names go ----

bool PubSubHub::IsTarget(const std::string& address, SubKind kind, const std::string& name) {
  bool found = false;
  ForEachTarget(kind, name, [&](const std::string& a) { found |= a == address; });
  return found;
}

bool PubSubHub::Bad(const std::string& address) const {
  auto it = links_.find(address);
  if (it == links_.end()) return false;
  const Link& l = *it->second;
  return worker_->now_ms() < l.suspect_until_ms || l.backend->down();
}

void PubSubHub::ChooseHome() {
  const RoutingTable* t = worker_->table();
  if (t == nullptr || t->masters.empty()) {
    home_.clear();
    return;
  }
  const auto& masters = t->masters;
  if (!home_.empty() && !Bad(home_) &&
      std::find(masters.begin(), masters.end(), home_) != masters.end()) {
    return;
  }
  // Workers start at different masters, so their subscriber connections spread over the nodes.
  const size_t start = static_cast<size_t>(worker_->index()) % masters.size();
  std::string pick = masters[start];
  for (size_t i = 0; i < masters.size(); ++i) {
    const std::string& a = masters[(start + i) % masters.size()];
    if (!Bad(a)) {
      pick = a;
      break;
    }
  }
  if (pick == home_) return;
  spdlog::info("worker {}: pub/sub home node {} (was {})", worker_->index(), pick,
               home_.empty() ? "none" : home_);
  home_ = pick;
  dirty_ = true;
}

// ---- reconciling ----

PubSubHub::Link* PubSubHub::LinkFor(const std::string& address) {
  auto it = links_.find(address);
  if (it != links_.end()) return it->second.get();
  auto l = std::make_unique<Link>();
  l->address = address;
  BackendOptions options;
  options.kind = BackendKind::kStream;
  options.resp = 3;  // pushes are told apart from the replies to PING and PUBSUB
  l->backend = std::make_unique<Backend>(worker_, address, options);
  l->backend->sink = this;
  Link* raw = l.get();
  links_.emplace(address, std::move(l));
  return raw;
}

PubSubHub::Link* PubSubHub::Find(Backend* b) {
  auto it = links_.find(b->address());
  return it != links_.end() && it->second->backend.get() == b ? it->second.get() : nullptr;
}

bool PubSubHub::Send(Link* l, Expect e, std::string_view command) {
  if (l->expect.empty()) l->progress_ms = worker_->now_ms();
  const uint64_t losses = l->losses;
  l->backend->SendRaw(command);
  // A connection that cannot be made may be reported lost from inside SendRaw: then nothing was
  // sent, and Lost() has already forgotten the link's state.
  if (l->losses != losses) return false;
  l->expect.push_back(std::move(e));
  ++l->sent_seq;
  l->idle_since_ms = 0;
  return true;
}

void PubSubHub::SendSubscription(Link* l, SubKind kind, const std::string& name, bool subscribe) {
  auto& sent = l->sent[Index(kind)];
  if (subscribe ? !sent.insert(name).second : sent.erase(name) == 0) return;
  registry_->AddConnection(kind, name, subscribe ? 1 : -1);
  std::string command;
  resp::AppendCommand(&command, {subscribe ? SubscribeWord(kind) : UnsubscribeWord(kind), name});
  Expect e;
  e.what = subscribe ? Expect::What::kSubscribe : Expect::What::kUnsubscribe;
  e.kind = kind;
  e.name = name;
  Send(l, std::move(e), command);
}

void PubSubHub::ReconcileName(SubKind kind, const std::string& name) {
  const std::string home = home_;
  ChooseHome();
  if (home_ != home || dirty_) {
    ReconcileAll();
    return;
  }
  const auto& map = subscribers_[Index(kind)];
  const bool wanted = map.find(name) != map.end();
  std::vector<Link*> drop;
  for (auto& [address, l] : links_) {
    if (l->sent[Index(kind)].count(name) && !(wanted && IsTarget(address, kind, name))) {
      drop.push_back(l.get());
    }
  }
  for (Link* l : drop) SendSubscription(l, kind, name, false);
  if (!wanted) return;
  ForEachTarget(kind, name, [&](const std::string& address) {
    if (!Bad(address)) SendSubscription(LinkFor(address), kind, name, true);
  });
}

void PubSubHub::ReconcileAll() {
  last_full_ms_ = worker_->now_ms();
  ChooseHome();
  dirty_ = false;
  std::vector<Link*> links;
  for (auto& [address, l] : links_) links.push_back(l.get());
  for (Link* l : links) {
    for (int k = 0; k < kSubKinds; ++k) {
      const SubKind kind = static_cast<SubKind>(k);
      std::vector<std::string> drop;
      for (const std::string& name : l->sent[k]) {
        if (!subscribers_[k].count(name) || !IsTarget(l->address, kind, name)) {
          drop.push_back(name);
        }
      }
      for (const std::string& name : drop) SendSubscription(l, kind, name, false);
    }
  }
  for (int k = 0; k < kSubKinds; ++k) {
    const SubKind kind = static_cast<SubKind>(k);
    for (const auto& [name, clients] : subscribers_[k]) {
      ForEachTarget(kind, name, [&](const std::string& address) {
        if (!Bad(address)) SendSubscription(LinkFor(address), kind, name, true);
      });
    }
  }
}

void PubSubHub::Tick(uint64_t now, bool loop_stalled) {
  // Idle connections go first, at the start of the timer phase: no write of theirs is pending.
  for (auto it = links_.begin(); it != links_.end();) {
    Link& l = *it->second;
    bool idle = l.expect.empty() && l.held.empty();
    for (int k = 0; k < kSubKinds; ++k) idle &= l.sent[k].empty();
    if (!idle) {
      l.idle_since_ms = 0;
    } else if (l.idle_since_ms == 0) {
      l.idle_since_ms = now;
    } else if (now - l.idle_since_ms > kIdleCloseMs) {
      it = links_.erase(it);
      continue;
    }
    ++it;
  }
  const uint64_t limit = static_cast<uint64_t>(worker_->config().backend_timeout_ms);
  std::vector<Link*> links;
  for (auto& [address, l] : links_) links.push_back(l.get());
  for (Link* l : links) {
    l->backend->CheckTimeouts(now, loop_stalled);  // its setup (HELLO, AUTH) may hang
    if (loop_stalled) l->progress_ms = now;
    if (!l->expect.empty() && now - l->progress_ms > limit) {
      // A node that takes our commands but never answers: as good as dead.
      l->backend->Close();
      Lost(l, "no reply for " + std::to_string(limit) + " ms");
      continue;
    }
    bool holds = false;
    for (int k = 0; k < kSubKinds; ++k) holds |= !l->sent[k].empty();
    if (holds && l->expect.empty() && l->backend->connected() &&
        now - l->last_ping_ms >= kPingIntervalMs) {
      l->last_ping_ms = now;
      Expect e;
      e.what = Expect::What::kPing;
      Send(l, std::move(e), "*1\r\n$4\r\nPING\r\n");
    }
  }
  if (dirty_ || now - last_full_ms_ >= kFullReconcileMs) ReconcileAll();
  // A node that does not answer in time holds no confirmation longer: the subscription stays
  // recorded, and reconciling goes on.
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (now - it->second.since_ms <= limit) {
      ++it;
      continue;
    }
    Waiter w = std::move(it->second);
    it = waiters_.erase(it);
    w.client->CompleteOwned(w.pending, std::move(w.reply));
  }
}

// ---- what the nodes say ----

void PubSubHub::OnStreamReply(Backend* b, std::string_view reply, const resp::ReplyInfo& info) {
  Link* l = Find(b);
  if (l == nullptr) return;
  l->progress_ms = worker_->now_ms();
  if (info.type != resp::ReplyType::kPush) {
    OnAnswer(l, reply, info);
    return;
  }
  PushView p;
  if (!ParsePush(reply, &p) || p.null[0]) {
    Warn(l, "a push the proxy does not know");
    return;
  }
  OnPush(l, p, reply);
}

void PubSubHub::OnPush(Link* l, const PushView& p, std::string_view reply) {
  const std::string_view word = p.e[0];
  const bool from_home = l->address == home_;
  // A PUBLISH reaches every node: only the home node's copy is delivered, except for keyspace
  // notifications, which only the node holding the key sends.
  if (word == "message" && p.size == 3) {
    if (from_home || IsKeyspaceChannel(p.e[1])) Deliver(SubKind::kChannel, p.e[1], reply);
    return;
  }
  if (word == "pmessage" && p.size == 4) {
    if (from_home || IsKeyspaceChannel(p.e[2])) Deliver(SubKind::kPattern, p.e[1], reply);
    return;
  }
  if (word == "smessage" && p.size == 3) {
    Deliver(SubKind::kShard, p.e[1], reply);  // published on one shard only: no copies
    return;
  }
  for (int k = 0; k < kSubKinds; ++k) {
    const SubKind kind = static_cast<SubKind>(k);
    const bool sub = word == SubscribeWord(kind);
    if (!sub && word != UnsubscribeWord(kind)) continue;
    if (!l->expect.empty()) {
      Expect& e = l->expect.front();
      const auto what = sub ? Expect::What::kSubscribe : Expect::What::kUnsubscribe;
      if (e.what == what && e.kind == kind && e.name == p.e[1]) {
        l->expect.pop_front();
        Answered(l);
        return;
      }
    }
    if (kind == SubKind::kShard && !sub) {
      // Unasked: the node lost the channel's slot. Subscribe again where the slot is now (a stale
      // table gets MOVED, which patches it).
      const std::string name(p.e[1]);
      if (l->sent[k].erase(name)) registry_->AddConnection(kind, name, -1);
      worker_->RequestRefresh();
      ReconcileName(kind, name);
      return;
    }
    break;
  }
  Reset(l, "a pub/sub confirmation out of order");
}

void PubSubHub::OnAnswer(Link* l, std::string_view reply, const resp::ReplyInfo& info) {
  if (l->expect.empty()) {
    Reset(l, "a reply to nothing the proxy sent");
    return;
  }
  Expect e = std::move(l->expect.front());
  l->expect.pop_front();
  switch (e.what) {
    case Expect::What::kPing:
      break;
    case Expect::What::kQuery:
      e.query->replies[e.part].assign(reply);
      ++e.query->received;
      break;
    case Expect::What::kSubscribe:
    case Expect::What::kUnsubscribe: {
      if (info.type != resp::ReplyType::kError) {
        Reset(l, "a reply that is not a push to a (un)subscribe");
        return;
      }
      // The node refused the command: it holds nothing of it.
      if (l->sent[Index(e.kind)].erase(e.name)) registry_->AddConnection(e.kind, e.name, -1);
      Redirect r = ParseRedirect(info.line);
      if (r.kind == RedirectKind::kMoved && e.kind == SubKind::kShard && r.address != l->address) {
        // The slot moved before the table knew: follow at once. (Two nodes disagreeing would
        // bounce it at network speed only until the cluster settles.)
        worker_->PatchSlotOwner(r.slot, r.address);
        Answered(l);
        if (e.what == Expect::What::kSubscribe) ReconcileName(e.kind, e.name);
        return;
      }
      if (r.kind == RedirectKind::kNone) Warn(l, info.line);
      dirty_ = true;  // retried on the next tick
      break;
    }
  }
  Answered(l);
  if (e.query && e.query->received == e.query->replies.size()) FinishQuery(e.query);
}

void PubSubHub::Answered(Link* l) {
  ++l->answered_seq;
  while (!l->held.empty() && l->held.front().first <= l->answered_seq) {
    const uint64_t waiter = l->held.front().second;
    l->held.pop_front();
    Reached(waiter);
  }
}

void PubSubHub::OnStreamLost(Backend* b, const std::string& why) {
  if (Link* l = Find(b)) Lost(l, why);
}

void PubSubHub::Lost(Link* l, const std::string& why) {
  spdlog::info("worker {}: pub/sub connection to {} lost ({}); resubscribing elsewhere",
               worker_->index(), l->address, why);
  for (int k = 0; k < kSubKinds; ++k) {
    for (const std::string& name : l->sent[k]) {
      registry_->AddConnection(static_cast<SubKind>(k), name, -1);
    }
    l->sent[k].clear();
  }
  std::vector<std::shared_ptr<QueryState>> done;
  const std::string error = ErrorReply(errors::BackendFailed(l->address, why));
  for (Expect& e : l->expect) {
    if (!e.query) continue;
    e.query->replies[e.part] = error;
    if (++e.query->received == e.query->replies.size()) done.push_back(e.query);
  }
  l->expect.clear();
  l->answered_seq = l->sent_seq;
  ++l->losses;
  // What waited on this node waits no longer (it is written, and the names go elsewhere).
  std::deque<std::pair<uint64_t, uint64_t>> held;
  held.swap(l->held);
  for (const auto& [seq, waiter] : held) Reached(waiter);
  l->suspect_until_ms =
      worker_->now_ms() +
      std::max<uint64_t>(kSuspectMs,
                         static_cast<uint64_t>(worker_->config().reconnect_interval_ms));
  for (auto& q : done) FinishQuery(q);
  ReconcileAll();  // skips this node while it is suspect: a new home, keyspace elsewhere
}

void PubSubHub::Reset(Link* l, std::string_view why) {
  // The replies no longer match what was sent: start over on a new connection. Close() from
  // inside the connection's own reply callback is safe for a stream backend: it has no ops to
  // fail, and ConsumeReplies stops at the generation change.
  Warn(l, why);
  l->backend->Close();
  Lost(l, std::string(why));
}

void PubSubHub::Warn(Link* l, std::string_view what) {
  const uint64_t now = worker_->now_ms();
  if (l->last_warn_ms != 0 && now - l->last_warn_ms < 10000) return;
  l->last_warn_ms = now;
  spdlog::warn("worker {}: pub/sub connection to {}: {}", worker_->index(), l->address, what);
}

}  // namespace rs::proxy
