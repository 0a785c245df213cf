// Client-side caching through the proxy: CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO, the
// tracking sessions a tracking client's requests go over, REDIRECT's sinks, and the nodes'
// invalidations on their way to the client that receives them.
//
// The nodes do the tracking, each on a connection of the client's own. A client with tracking on
// sends nothing to a master over the shared connections: every request of it to a master goes
// over its tracking session to that node (a session connection from the pool, set up with CLIENT
// TRACKING on and the client's options when a request first goes there; with BCAST on every
// master at once, as any key may be invalidated). So the node tracks what the client reads there,
// applies NOLOOP to the client's own writes, and CLIENT CACHING to its next command. Its
// transactions, blocking commands and scripts run on the same connections (AcquireSession, Via),
// so their invalidations come after their replies, as from one node.
//
// Where the invalidations go:
//  - a RESP3 client without REDIRECT: its sessions speak RESP3 and the node's pushes arrive on
//    them, each placed among the client's replies where the node wrote it (DeliverBefore);
//  - with REDIRECT: each session redirects to a sink of the client's own on that node (a RESP3
//    stream connection, tracking_sinks.cc; tracking_client.h says why per client), and the proxy
//    forwards what the sink receives to the target: a push to a RESP3 target, a
//    __redis__:invalidate message to a RESP2 target in pub/sub mode, nothing otherwise; a target
//    that is gone makes that invalidation a tracking-redir-broken push to a RESP3 client (and the
//    flag in TRACKINGINFO);
//  - a RESP2 client without REDIRECT gets nothing, as from Redis 7.0 (the nodes still track).
// A tracking session that is given up unclean or lost took what its node remembered with it: the
// client gets a null invalidation (forget every key), as after FLUSHALL. So does a read that could
// not go over a tracking session (--max-sessions reached, a sink not ready), after its reply.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/resp_parser.h"
#include "common/resp_writer.h"
#include "proxy/proxy.h"
#include "proxy/proxy_errors.h"
#include "proxy/pubsub.h"
#include "proxy/tracking_client.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

constexpr std::string_view kTrackingOffCommand =
    "*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$3\r\noff\r\n";

std::string HelloCommand(int resp) {
  std::string out;
  resp::AppendCommand(&out, {"HELLO", resp == 3 ? "3" : "2"});
  return out;
}

bool Holds(const Client* c, const Backend* b) {
  if (c->session == b) return true;
  if (c->block && c->block->backend == b) return true;
  return std::find(c->temp_sessions.begin(), c->temp_sessions.end(), b) != c->temp_sessions.end();
}

}  // namespace

// ---- the commands ----

void Worker::OnClientTracking(Client* c, resp::Request& req, std::string_view sub) {
  const auto& args = req.args;
  const size_t argc = args.size();
  static const TrackingState kOff;
  const TrackingState* state = c->tracking ? &c->tracking->state : nullptr;
  if (sub == "tracking") {
    if (argc < 3) {
      ReplyError(c, errors::WrongArity("client|tracking"));
      return;
    }
    Result<TrackingCommand> cmd =
        ParseTracking(std::span<const std::string_view>(args), state ? *state : kOff,
                      [this](int64_t id) { return FindClientById(id) != nullptr; });
    if (!cmd.ok()) {
      ReplyError(c, cmd.status().message());
      return;
    }
    if (!cmd->on) {
      DisableTracking(c);
      Reply(c, "+OK\r\n");
      return;
    }
    if (cmd->redirect != 0) tracking_->targets[cmd->redirect] = FindClientById(cmd->redirect);
    ClientTracking& t = TrackingOf(c);
    if (cmd->redirect != 0 && !SinksReady(c)) {
      StartSinks(c);
      if (!SinksReady(c)) {
        // The node-side redirect needs each sink's id: the reply (and the client's next
        // requests) wait for them, one round trip.
        t.waiting = c->Push();
        t.waiting_cmd = std::move(*cmd);
        c->hold_input = true;
        return;
      }
    }
    EnableTracking(c, *cmd);
    Reply(c, "+OK\r\n");
    return;
  }
  ReplyBuilder r(c->resp);
  if (sub == "caching") {
    if (argc != 3) {
      ReplyError(c, errors::WrongArity("client|caching"));
      return;
    }
    Result<Caching> mode = ParseCaching(args[2], state ? *state : kOff);
    if (!mode.ok()) {
      ReplyError(c, mode.status().message());
      return;
    }
    c->tracking->state.caching = *mode;
    r.Status("OK");
  } else if (sub == "getredir") {
    if (argc != 2) {
      ReplyError(c, errors::WrongArity("client|getredir"));
      return;
    }
    r.Integer(GetRedir(state));
  } else {
    if (argc != 2) {
      ReplyError(c, errors::WrongArity("client|trackinginfo"));
      return;
    }
    r.Raw(TrackingInfoReply(state, c->resp));
  }
  Reply(c, r.str());
}

ClientTracking& Worker::TrackingOf(Client* c) {
  if (!c->tracking) {
    c->tracking = std::make_unique<ClientTracking>(this, c);
    tracking_->clients.insert(c);
  }
  return *c->tracking;
}

void Worker::EnableTracking(Client* c, const TrackingCommand& cmd) {
  ClientTracking& t = TrackingOf(c);
  const bool was_on = t.state.on;
  ApplyTracking(cmd, &t.state);
  if (!was_on && t.state.on) ++proxy_->tracking_clients;
  // The sessions set up already get the new mode; they hold the earlier prefixes.
  for (size_t i = 0; i < t.links.size();) {
    int64_t node_redirect = 0;
    if (t.state.redirect != 0) {
      const TrackingSink* sink = t.SinkFor(t.links[i].address);
      node_redirect = sink != nullptr && sink->backend ? sink->node_id : 0;
      if (node_redirect == 0) {
        // No sink there: the session cannot redirect, and goes (a null invalidation follows).
        Backend* s = t.links[i].session;
        sessions_.Release(s, false);  // drops the link (OnTrackingSessionDropped)
        continue;
      }
    }
    t.links[i].session->SendInternal(NodeTrackingCommand(t.state, cmd.prefixes, node_redirect));
    ++i;
  }
  if (!was_on && c->session != nullptr && c->session->tracker == nullptr &&
      t.LinkFor(c->session->address()) == nullptr) {
    // A WATCH's session: the client's requests to that node go over it, so it tracks too.
    Backend* s = c->session;
    int64_t node_redirect = 0;
    if (t.state.redirect != 0) {
      const TrackingSink* sink = t.SinkFor(s->address());
      node_redirect = sink != nullptr && sink->backend ? sink->node_id : 0;
    }
    if (t.state.redirect == 0 || node_redirect != 0) {
      s->tracker = c;
      for (const std::string& setup : NodeTrackingSetup(t.state, node_redirect)) {
        s->SendInternal(setup);
      }
      t.links.push_back({s->address(), s, c->resp, true});
    }
  }
  if (t.state.bcast && table_) {
    // Invalidations about any key: a session on every master now.
    for (const std::string& m : table_->masters) (void)TrackingSession(c, m);
  }
}

void Worker::DisableTracking(Client* c) {
  if (!c->tracking) return;
  ClientTracking& t = *c->tracking;
  std::vector<TrackingLink> links;
  links.swap(t.links);
  for (TrackingLink& l : links) {
    Backend* s = l.session;
    s->tracker = nullptr;
    s->SendInternal(kTrackingOffCommand);
    if (l.resp != s->options().resp) s->SendInternal(HelloCommand(s->options().resp));
    // Held for a transaction or a blocking command: the client keeps it, untracked now.
    if (!Holds(c, s)) sessions_.Release(s, true);
  }
  for (TrackingSink& sink : t.sinks) RetireSink(&sink);
  if (t.state.on) --proxy_->tracking_clients;
  tracking_->clients.erase(c);
  c->tracking.reset();
}

void Worker::EndTracking(Client* c) {
  auto target = tracking_->targets.find(c->public_id());
  if (target != tracking_->targets.end() && target->second == c) tracking_->targets.erase(target);
  if (!c->tracking) return;
  ClientTracking& t = *c->tracking;
  std::vector<TrackingLink> links;
  links.swap(t.links);
  for (TrackingLink& l : links) {
    l.session->tracker = nullptr;
    sessions_.Release(l.session, false);  // closed: what it tracked is nobody's now
  }
  for (TrackingSink& sink : t.sinks) RetireSink(&sink);
  if (t.state.on) --proxy_->tracking_clients;
  tracking_->clients.erase(c);
  c->tracking.reset();
}

// ---- requests ----

bool Worker::HandleTracked(Client* c, resp::Request& req) {
  ClientTracking& t = *c->tracking;
  const CommandTable& table = CommandTable::Get();
  const CommandInfo* info = req.args.empty() ? nullptr : table.Find(req.args[0]);
  const bool is_client = info != nullptr && info->handler == Handler::kClient;
  // c->last_cmd is still the previous command's (a request handled again after waiting for its
  // turn sees the same one).
  const bool previous_was_client =
      c->last_cmd < table.size() && table.at(c->last_cmd).handler == Handler::kClient;
  if (t.state.caching != Caching::kNone && CachingExpired(previous_was_client, c->in_multi())) {
    t.state.caching = Caching::kNone;
  }
  t.in_request = true;
  t.caching_live = t.state.caching != Caching::kNone && !is_client;
  const bool handled = HandleRequest(c, req);
  if (ClientTracking* now = c->tracking.get()) {  // (CLIENT TRACKING off or RESET may end it)
    now->in_request = false;
    now->caching_live = false;
    if (now->invalidate_after) {
      now->invalidate_after = false;
      InvalidateAll(c);
    }
  }
  return handled;
}

Backend* Worker::TrackingVia(Client* c, Backend* b) {
  ClientTracking& t = *c->tracking;
  if (!t.state.on || b->is_session() || !IsMasterConnection(b)) return b;
  Backend* s = TrackingSession(c, b->address());
  if (s == nullptr) {
    Untracked(c);
    return b;
  }
  SendCaching(c, s);
  return s;
}

Backend* Worker::AcquireSession(Client* c, const std::string& address) {
  if (c->tracking && c->tracking->state.on) {
    if (Backend* s = TrackingSession(c, address)) {
      SendCaching(c, s);
      return s;
    }
    Backend* s = sessions_.Acquire(address, c->resp, false, c);
    if (s != nullptr) Untracked(c);
    return s;
  }
  return sessions_.Acquire(address, c->resp, false, c);
}

Backend* Worker::TrackingSession(Client* c, const std::string& address) {
  ClientTracking& t = *c->tracking;
  if (TrackingLink* l = t.LinkFor(address)) return l->session;
  int64_t node_redirect = 0;
  if (t.state.redirect != 0) {
    const TrackingSink* sink = t.SinkFor(address);
    node_redirect = sink != nullptr && sink->backend ? sink->node_id : 0;
    if (node_redirect == 0) {
      StartSinks(c);  // ready for a later request
      return nullptr;
    }
  }
  Backend* s = sessions_.Acquire(address, c->resp, false, c);
  if (s == nullptr) {
    spdlog::warn("client {}: no tracking session to {} (--max-sessions {} reached)", c->id, address,
                 config().max_sessions);
    return nullptr;
  }
  s->tracker = c;
  for (const std::string& setup : NodeTrackingSetup(t.state, node_redirect)) {
    s->SendInternal(setup);
  }
  t.links.push_back({address, s, c->resp, false});
  return s;
}

void Worker::SendCaching(Client* c, Backend* s) {
  ClientTracking& t = *c->tracking;
  if (TrackingLink* l = t.LinkOf(s)) l->used = true;
  // Never inside the node's MULTI: there CLIENT CACHING would be queued with the transaction.
  if (c->tx && c->tx->multi_sent && s == c->session) return;
  if (t.caching_live) {
    s->SendInternal(CachingCommand(t.state.caching));
  } else if (!t.in_request && t.state.optin) {
    // A request sent again (a redirect, a retry) may have been meant for caching: tracking it
    // costs an invalidation at worst, not tracking it could leave a stale key cached.
    s->SendInternal(CachingCommand(Caching::kYes));
  }
}

void Worker::Untracked(Client* c) {
  ClientTracking& t = *c->tracking;
  if (t.in_request) {
    t.invalidate_after = true;  // after this request's reply (HandleTracked)
  } else {
    InvalidateAll(c);  // a request sent again: its reply slot is queued already
  }
}

void Worker::TrackingProtocolChanged(Client* c, uint8_t resp) {
  for (TrackingLink& l : c->tracking->links) {
    if (l.resp == resp) continue;
    l.session->SendInternal(HelloCommand(resp));
    l.resp = resp;
  }
}

// ---- invalidations ----

void Worker::OnSessionPush(Backend* b, std::string_view reply) {
  Client* c = b->tracker;
  TrackingPush push;
  if (c == nullptr || c->closing || !c->tracking || !ParseTrackingPush(reply, &push)) {
    spdlog::debug("backend {}: push on a session dropped: {}", b->address(), reply.substr(0, 64));
    return;
  }
  ClientTracking& t = *c->tracking;
  if (push.kind == TrackingPushKind::kRedirBroken) {
    // The sink this session redirected to is gone from the node: for the client, its target.
    t.state.broken_redirect = true;
    DeliverBefore(c, b, RedirBrokenPush(t.state.redirect));
    return;
  }
  if (t.state.redirect != 0) {
    // Sent before the node read the REDIRECT that replaced it.
    ForwardInvalidation(c, push);
    return;
  }
  DeliverBefore(c, b, reply);
}

void Worker::DeliverBefore(Client* c, Backend* b, std::string_view bytes) {
  PendingReply* p = b->OldestPendingOf(c);
  if (p == nullptr || p->done) {
    Push(c, bytes);
    return;
  }
  p->data.append(bytes);
  p->pushed_before += static_cast<uint32_t>(bytes.size());
  c->Drain();  // at the head of the queue, it goes out now
  MarkDirty(c);
}

void Worker::ForwardInvalidation(Client* c, const TrackingPush& push) {
  ClientTracking& t = *c->tracking;
  auto it = tracking_->targets.find(t.state.redirect);
  Client* target = it != tracking_->targets.end() ? it->second : nullptr;
  if (target == nullptr || target->closing) {
    // sendTrackingMessage: the target is gone; a RESP3 client hears of it, every time.
    t.state.broken_redirect = true;
    if (c->resp == 3) Push(c, RedirBrokenPush(t.state.redirect));
    return;
  }
  std::string bytes = InvalidationForTarget(push, target->resp, target->subscribed());
  if (!bytes.empty()) Push(target, bytes);
}

void Worker::InvalidateAll(Client* c) {
  if (c->closing || !c->tracking || !c->tracking->state.on) return;
  if (c->tracking->state.redirect == 0) {
    if (c->resp == 3) Push(c, NullInvalidationPush());
    return;
  }
  TrackingPush all;
  all.kind = TrackingPushKind::kInvalidate;
  all.null = true;
  ForwardInvalidation(c, all);
}

void Worker::OnTrackingSessionDropped(Backend* b) {
  Client* c = b->tracker;
  b->tracker = nullptr;
  if (c == nullptr || !c->tracking) return;
  ClientTracking& t = *c->tracking;
  bool used = false;
  for (size_t i = 0; i < t.links.size(); ++i) {
    if (t.links[i].session == b) {
      used = t.links[i].used;
      t.links.erase(t.links.begin() + static_cast<long>(i));
      break;
    }
  }
  spdlog::debug("client {}: tracking session to {} dropped", c->id, b->address());
  if (used) InvalidateAll(c);
}

void Worker::TickTracking(uint64_t now, bool loop_stalled) {
  if (tracking_->clients.empty()) return;
  std::vector<Client*> clients(tracking_->clients.begin(), tracking_->clients.end());
  for (Client* c : clients) {
    if (!c->tracking) continue;
    // A sink's setup waits --backend-timeout at most (a waiting CLIENT TRACKING ON with it).
    for (size_t i = 0; c->tracking && i < c->tracking->sinks.size(); ++i) {
      if (Backend* b = c->tracking->sinks[i].backend.get()) b->CheckTimeouts(now, loop_stalled);
    }
    if (!c->tracking) continue;
    ClientTracking& t = *c->tracking;
    if (t.state.on && t.state.bcast && table_ && now >= t.next_bcast_check_ms) {
      // A master without the session (new, or back after a failure) gets one.
      t.next_bcast_check_ms = now + 1000;
      for (const std::string& m : table_->masters) (void)TrackingSession(c, m);
    }
  }
}

Client* Worker::FindClientById(int64_t id) {
  for (Client* o = clients_; o != nullptr; o = o->next) {
    if (!o->closing && o->public_id() == id) return o;
  }
  return nullptr;
}

}  // namespace rs::proxy
