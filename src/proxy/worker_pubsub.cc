// The pub/sub commands of a client: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE and PUBSUB. The client's own
// state (Client::subs) is kept here, with Redis's replies (pubsub.c): one confirmation per name
// with the client's own count, an UNSUBSCRIBE without arguments answering per name (or once
// with a nil name). Carrying the subscriptions to the nodes is PubSubHub's (pubsub_hub.h).
#include <spdlog/spdlog.h>

#include "common/resp_parser.h"
#include "common/resp_writer.h"
#include "proxy/proxy.h"
#include "proxy/proxy_errors.h"
#include "proxy/pubsub.h"
#include "proxy/pubsub_hub.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

SubKind KindOf(Handler h) {
  switch (h) {
    case Handler::kPsubscribe:
    case Handler::kPunsubscribe:
      return SubKind::kPattern;
    case Handler::kSsubscribe:
    case Handler::kSunsubscribe:
      return SubKind::kShard;
    default:
      return SubKind::kChannel;
  }
}

// PUBSUB's subcommands that read every node's state, with Redis's arity for each.
bool ParsePubsubQuery(const std::vector<std::string_view>& args, PubsubQuery* out) {
  const size_t argc = args.size();
  if (argc < 2) return false;
  const std::string_view sub = args[1];
  if (EqualsIgnoreCase(sub, "channels") && argc <= 3) {
    *out = PubsubQuery::kChannels;
  } else if (EqualsIgnoreCase(sub, "shardchannels") && argc <= 3) {
    *out = PubsubQuery::kShardChannels;
  } else if (EqualsIgnoreCase(sub, "numsub")) {
    *out = PubsubQuery::kNumsub;
  } else if (EqualsIgnoreCase(sub, "shardnumsub")) {
    *out = PubsubQuery::kShardNumsub;
  } else if (EqualsIgnoreCase(sub, "numpat") && argc == 2) {
    *out = PubsubQuery::kNumpat;
  } else {
    return false;
  }
  return true;
}

}  // namespace

void Worker::OnSubscribe(Client* c, resp::Request& req, const CommandInfo& info) {
  const SubKind kind = KindOf(info.handler);
  if (req.args.size() < 2) {
    ReplyError(c, errors::WrongArity(info.name));
    return;
  }
  // Confirmations are pushes: CLIENT REPLY OFF / SKIP does not silence them (networking.c).
  c->suppress_current = false;
  if (!c->subs) c->subs = std::make_unique<Subscriptions>();
  PubSubHub* hub = HubFor(c);
  ReplyBuilder r(c->resp);
  std::vector<std::string> names;
  names.reserve(req.args.size() - 1);
  for (size_t i = 1; i < req.args.size(); ++i) {
    std::string name(req.args[i]);
    if (c->subs->Add(kind, name)) hub->AddSubscriber(c, kind, name);
    r.Push(3).Bulk(SubscribeWord(kind)).Bulk(name);
    r.Integer(static_cast<int64_t>(c->subs->CountFor(kind)));
    names.push_back(std::move(name));
  }
  hub->ReplyWhenConfirmed(c, kind, names, r.Take());
}

void Worker::OnUnsubscribe(Client* c, resp::Request& req, const CommandInfo& info) {
  const SubKind kind = KindOf(info.handler);
  c->suppress_current = false;
  auto own = client_hubs_.find(c);
  PubSubHub* hub = own != client_hubs_.end() ? own->second.get() : pubsub_.get();
  ReplyBuilder r(c->resp);
  auto confirm = [&](const std::string* name) {
    r.Push(3).Bulk(UnsubscribeWord(kind));
    if (name != nullptr) {
      r.Bulk(*name);
    } else {
      r.NullBulk();
    }
    r.Integer(c->subs ? static_cast<int64_t>(c->subs->CountFor(kind)) : 0);
  };
  auto remove = [&](const std::string& name) {
    if (c->subs && c->subs->Remove(kind, name)) hub->RemoveSubscriber(c, kind, name);
    confirm(&name);
  };
  if (req.args.size() == 1) {
    std::vector<std::string> names;
    if (c->subs) names = c->subs->Names(kind);
    if (names.empty()) confirm(nullptr);  // "We were subscribed to nothing? Still reply"
    for (const std::string& name : names) remove(name);
  } else {
    for (size_t i = 1; i < req.args.size(); ++i) remove(std::string(req.args[i]));
  }
  hub->Write(c, r.str());
  if (c->subs && c->subs->empty()) {
    // Out of subscribed mode. A client's own hub (diagnostic mode) goes with it, once its held
    // replies are written.
    if (own != client_hubs_.end()) {
      own->second->DropClient(c, true);
      retired_hubs_.push_back(std::move(own->second));
      client_hubs_.erase(own);
    }
    c->subs.reset();
  }
}

void Worker::OnPubsub(Client* c, resp::Request& req, const CommandInfo&) {
  PubsubQuery query;
  if (!ParsePubsubQuery(req.args, &query)) {
    // HELP, an unknown subcommand or a wrong arity: any node answers it as Redis does.
    Op op;
    op.client = c;
    op.pending = c->Push();
    Dispatch(std::move(op), AnyMaster(c), RequestBytes(req));
    return;
  }
  pubsub_->Query(c, c->Push(), query, std::string(RequestBytes(req)));
}

void Worker::OnPublish(Client* c, resp::Request& req, const CommandInfo&) {
  // Not to any master: consecutive PUBLISHes of one client to different masters would reach a
  // subscriber's node in any order (the cluster bus carries the others' copies). One node per
  // worker, the same its subscriptions are on, keeps one client's messages in order, as one
  // Redis does, and spares a bus hop for this worker's subscribers.
  const std::string& home = pubsub_->PublishHome();
  if (home.empty() || req.args.size() != 3 || config().pubsub_connection_per_client) {
    Backend* b = home.empty() ? AnyMaster(c) : Via(c, BackendFor(home, c->resp));
    Op op;
    op.client = c;
    op.pending = c->Push();
    if (config().slowlog_usec > 0) op.pending->start_ns = batch_ns_;
    Dispatch(std::move(op), b, RequestBytes(req));
    return;
  }
  // The node counts the receivers it has: this worker's subscriber connection counts once for
  // all the clients behind it. The client is told how many clients receive it, as on one node:
  // the node's figure with the proxy's connection taken out and the proxy's clients put in.
  std::string channel(req.args[1]);
  PubSubHub* hub = pubsub_.get();
  PubSubRegistry* registry = &proxy_->pubsub;
  FanOutCommands(c, {{ForPause(c, BackendFor(home, c->resp)), std::string(RequestBytes(req))}},
                 [hub, registry, home, channel](const std::vector<NodeReply>& parts) {
                   const NodeReply& node = parts[0];
                   int64_t n = 0;
                   if (node.is_error() || node.reply.size() < 4 || node.reply[0] != ':' ||
                       !resp::ParseRedisInt(std::string_view(node.reply).substr(
                                                1, node.reply.size() - 3),
                                            &n)) {
                     return node.reply;
                   }
                   n = n - hub->OwnReceivers(home, channel) + registry->ClientsReceiving(channel);
                   std::string out;
                   resp::AppendInteger(&out, std::max<int64_t>(n, 0));
                   return out;
                 });
}

PubSubHub* Worker::HubFor(Client* c) {
  if (!config().pubsub_connection_per_client) return pubsub_.get();
  std::unique_ptr<PubSubHub>& hub = client_hubs_[c];
  if (!hub) hub = std::make_unique<PubSubHub>(this, &proxy_->pubsub);
  return hub.get();
}

void Worker::DropSubscriptions(Client* c, bool flush_held) {
  pubsub_->DropClient(c, flush_held);
  auto it = client_hubs_.find(c);
  if (it != client_hubs_.end()) {
    it->second->DropClient(c, flush_held);
    retired_hubs_.push_back(std::move(it->second));
    client_hubs_.erase(it);
  }
  c->subs.reset();
}

void Worker::TickPubSub(uint64_t now, bool loop_stalled) {
  retired_hubs_.clear();  // the timer phase: none of their writes is pending
  pubsub_->Tick(now, loop_stalled);
  for (auto& [client, hub] : client_hubs_) hub->Tick(now, loop_stalled);
}

void Worker::PubSubTableChanged() {
  pubsub_->OnTable();
  for (auto& [client, hub] : client_hubs_) hub->OnTable();
}

void Worker::ShutdownPubSub() {
  pubsub_->Shutdown();
  client_hubs_.clear();
  retired_hubs_.clear();
}

void Worker::PatchSlotOwner(int slot, const std::string& address) {
  if (!table_ || slot < 0 || slot >= kSlotCount) return;
  const int16_t o = table_->owner[slot];
  if (o < 0 || table_->masters[o] != address) {
    InstallTable(table_->WithSlotOwner(slot, address));
  }
  RequestRefresh();
}

}  // namespace rs::proxy
