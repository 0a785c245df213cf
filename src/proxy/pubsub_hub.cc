// PubSubHub's side towards the clients: subscribers per name, held confirmations, delivery in
// each client's reply order, and the PUBSUB queries merged over every master.
#include "proxy/pubsub_hub.h"

#include <algorithm>

#include "common/resp_writer.h"
#include "proxy/client.h"
#include "proxy/proxy_errors.h"
#include "proxy/reply_builder.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

std::string ErrorReply(std::string_view text) {
  std::string out;
  resp::AppendError(&out, text);
  return out;
}

}  // namespace

PubSubHub::PubSubHub(Worker* worker, PubSubRegistry* registry)
    : worker_(worker), registry_(registry) {}

PubSubHub::~PubSubHub() { Shutdown(); }

void PubSubHub::Shutdown() {
  for (auto& [address, l] : links_) {
    for (int k = 0; k < kSubKinds; ++k) {
      for (const std::string& name : l->sent[k]) {
        registry_->AddConnection(static_cast<SubKind>(k), name, -1);
      }
    }
  }
  links_.clear();  // closes the connections; a Backend never calls its sink from Close()
  for (int k = 0; k < kSubKinds; ++k) {
    for (const auto& [name, clients] : subscribers_[k]) {
      registry_->AddClient(static_cast<SubKind>(k), name, -static_cast<int>(clients.size()));
    }
    subscribers_[k].clear();
  }
  waiters_.clear();
  queries_.clear();
}

// ---- subscribers ----

void PubSubHub::AddSubscriber(Client* c, SubKind kind, const std::string& name) {
  std::vector<Client*>& clients = subscribers_[Index(kind)][name];
  clients.push_back(c);
  registry_->AddClient(kind, name, 1);
  if (clients.size() == 1) ReconcileName(kind, name);
}

void PubSubHub::RemoveSubscriber(Client* c, SubKind kind, const std::string& name) {
  auto& map = subscribers_[Index(kind)];
  auto it = map.find(name);
  if (it == map.end()) return;
  std::vector<Client*>& clients = it->second;
  auto pos = std::find(clients.begin(), clients.end(), c);
  if (pos == clients.end()) return;
  *pos = clients.back();
  clients.pop_back();
  registry_->AddClient(kind, name, -1);
  if (clients.empty()) {
    map.erase(it);
    ReconcileName(kind, name);
  }
}

void PubSubHub::ReplyWhenConfirmed(Client* c, SubKind kind, const std::vector<std::string>& names,
                                   std::string reply) {
  // The connections whose answers it waits for: those with commands outstanding, among the nodes
  // its names went to (a node that is down does not hold it up).
  std::vector<Link*> links;
  for (const std::string& name : names) {
    ForEachTarget(kind, name, [&](const std::string& address) {
      auto it = links_.find(address);
      if (it == links_.end() || Bad(address)) return;
      Link* l = it->second.get();
      if (l->answered_seq < l->sent_seq &&
          std::find(links.begin(), links.end(), l) == links.end()) {
        links.push_back(l);
      }
    });
  }
  if (links.empty()) {
    Write(c, reply);
    return;
  }
  const uint64_t id = next_waiter_++;
  PendingReply* p = c->Push();
  p->suppressed = false;
  waiters_.emplace(id, Waiter{c, p, links.size(), worker_->now_ms(), std::move(reply)});
  for (Link* l : links) l->held.emplace_back(l->sent_seq, id);
}

void PubSubHub::Reached(uint64_t waiter) {
  auto it = waiters_.find(waiter);
  if (it == waiters_.end() || --it->second.waiting_on > 0) return;  // gone, or still waiting
  Waiter w = std::move(it->second);
  waiters_.erase(it);
  w.client->CompleteOwned(w.pending, std::move(w.reply));
}

void PubSubHub::DropClient(Client* c, bool flush_held) {
  // Their ids may stay in connections' lists; Reached() ignores ids that are gone.
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->second.client != c) {
      ++it;
      continue;
    }
    if (flush_held) c->CompleteOwned(it->second.pending, std::move(it->second.reply));
    it = waiters_.erase(it);
  }
  if (!flush_held) {
    for (auto& q : queries_) {
      if (q->client == c) q->client = nullptr;
    }
  }
  if (c->subs) {
    for (int k = 0; k < kSubKinds; ++k) {
      const SubKind kind = static_cast<SubKind>(k);
      for (const std::string& name : c->subs->Names(kind)) RemoveSubscriber(c, kind, name);
    }
  }
}

void PubSubHub::Write(Client* c, std::string_view bytes) { worker_->Push(c, bytes); }

void PubSubHub::DeliverPush(Client* c, std::string_view reply) {
  if (c->closing) return;
  const ClientMessage m = ReencodeMessage(reply, c->resp);
  if (c->queued() == 0) {
    // The common case, written without a copy.
    c->out.Append(std::string_view(&m.type, 1));
    c->out.Append(m.rest);
    worker_->MarkDirty(c);
    return;
  }
  std::string bytes(1, m.type);
  bytes.append(m.rest);
  worker_->Push(c, bytes);
}

void PubSubHub::Deliver(SubKind kind, std::string_view name, std::string_view reply) {
  auto& map = subscribers_[Index(kind)];
  auto it = map.find(name);
  if (it == map.end()) return;
  for (Client* c : it->second) DeliverPush(c, reply);
}

int64_t PubSubHub::OwnReceivers(const std::string& address, std::string_view channel) const {
  auto it = links_.find(address);
  if (it == links_.end() || !it->second) return 0;
  const Link& l = *it->second;
  int64_t n = l.sent[Index(SubKind::kChannel)].contains(std::string(channel)) ? 1 : 0;
  for (const std::string& p : l.sent[Index(SubKind::kPattern)]) n += GlobMatch(p, channel);
  return n;
}

// ---- PUBSUB CHANNELS / NUMSUB / NUMPAT / SHARDCHANNELS / SHARDNUMSUB ----

void PubSubHub::Query(Client* c, PendingReply* pending, PubsubQuery query, std::string command) {
  const RoutingTable* t = worker_->table();
  if (t == nullptr || t->masters.empty()) {
    c->CompleteOwned(pending, ErrorReply(errors::kNoTopology));
    return;
  }
  auto q = std::make_shared<QueryState>();
  q->client = c;
  q->pending = pending;
  q->query = query;
  q->replies.resize(t->masters.size());
  queries_.push_back(q);
  for (size_t i = 0; i < t->masters.size(); ++i) {
    const std::string& address = t->masters[i];
    if (Bad(address)) {
      q->replies[i] = ErrorReply(
          errors::BackendUnavailable(address, links_[address]->backend->last_error(), true));
      ++q->received;
      continue;
    }
    Expect e;
    e.what = Expect::What::kQuery;
    e.query = q;
    e.part = i;
    Link* l = LinkFor(address);
    if (!Send(l, std::move(e), command)) {
      q->replies[i] =
          ErrorReply(errors::BackendUnavailable(address, l->backend->last_error(), true));
      ++q->received;
    }
  }
  if (q->received == q->replies.size()) FinishQuery(q);
}

void PubSubHub::FinishQuery(const std::shared_ptr<QueryState>& q) {
  if (q->finished) return;
  q->finished = true;
  queries_.erase(std::remove(queries_.begin(), queries_.end(), q), queries_.end());
  Client* c = q->client;
  if (c == nullptr) return;
  PubsubMerge m = MergePubsubReplies(q->query, q->replies);
  if (!m.error.empty()) {
    c->CompleteOwned(q->pending, std::move(m.error));
    return;
  }
  // A node counts the proxy's connection once for all the clients behind it: the proxy's
  // connections are taken out of the nodes' figures and its clients put in.
  ReplyBuilder r(c->resp);
  switch (q->query) {
    case PubsubQuery::kChannels:
    case PubsubQuery::kShardChannels:
      r.Array(static_cast<int64_t>(m.channels.size()));
      for (const std::string& ch : m.channels) r.Bulk(ch);
      break;
    case PubsubQuery::kNumsub:
    case PubsubQuery::kShardNumsub: {
      const SubKind kind = q->query == PubsubQuery::kNumsub ? SubKind::kChannel : SubKind::kShard;
      r.Array(static_cast<int64_t>(m.counts.size() * 2));
      for (const auto& [ch, n] : m.counts) {
        const int64_t v = n - registry_->Connections(kind, ch) + registry_->Clients(kind, ch);
        r.Bulk(ch).Integer(std::max<int64_t>(v, 0));
      }
      break;
    }
    case PubsubQuery::kNumpat: {
      const int64_t v =
          m.numpat - registry_->ConnectionPatterns() + registry_->DistinctClientPatterns();
      r.Integer(std::max<int64_t>(v, 0));
      break;
    }
  }
  c->CompleteOwned(q->pending, r.Take());
}

}  // namespace rs::proxy
