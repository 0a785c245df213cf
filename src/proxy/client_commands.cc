// CLIENT: the proxy's own clients (of the worker thread the connection is on) are what CLIENT
// LIST, INFO, KILL, UNBLOCK, SETNAME and the rest act on, as a node's are for a client of it;
// PAUSE and UNPAUSE reach every master, TRACKING and its kin worker_tracking.cc.
#include <fmt/format.h>

#include <algorithm>

#include "common/redis_errors.h"
#include "common/resp_parser.h"
#include "proxy/proxy.h"
#include "proxy/proxy_errors.h"
#include "proxy/pubsub.h"
#include "proxy/tracking_client.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

std::string PeerAddress(const Client* c) {
  auto [ip, port] = c->SocketAddress(true);
  return fmt::format("{}:{}", ip, port);
}

const TrackingState* TrackingStateOf(const Client* c) {
  return c->tracking && c->tracking->state.on ? &c->tracking->state : nullptr;
}

// One CLIENT LIST / CLIENT INFO line, with the fields Redis 7.0 prints that mean something here.
// The asking client's own line shows the request being run (its size and name), as on a node.
std::string ClientLine(Client* c, uint64_t now_ms, size_t qbuf, std::string_view cmd) {
  auto [host, port] = c->SocketAddress(false);
  char flag_chars[12];
  size_t nflags = 0;
  if (c->in_multi()) flag_chars[nflags++] = 'x';
  if (c->subscribed()) flag_chars[nflags++] = 'P';
  if (c->block) flag_chars[nflags++] = 'b';
  const TrackingState* tracking = TrackingStateOf(c);
  if (tracking != nullptr) {
    flag_chars[nflags++] = 't';
    if (tracking->broken_redirect) flag_chars[nflags++] = 'R';
    if (tracking->bcast) flag_chars[nflags++] = 'B';
  }
  if (c->monitor) flag_chars[nflags++] = 'O';
  if (c->readonly) flag_chars[nflags++] = 'r';
  if (nflags == 0) flag_chars[nflags++] = 'N';
  const std::string_view flags(flag_chars, nflags);
  size_t sub = c->subs ? c->subs->channels.size() : 0;
  size_t psub = c->subs ? c->subs->patterns.size() : 0;
  size_t ssub = c->subs ? c->subs->shard_channels.size() : 0;
  return fmt::format(
      "id={} addr={} laddr={}:{} fd=0 name={} age={} idle={} flags={} db=0 sub={} psub={} "
      "ssub={} multi={} qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl={} oll={} "
      "omem=0 tot-mem=0 events=r cmd={} user=default redir={} resp={}\n",
      c->public_id(), PeerAddress(c), host, port, c->name, (now_ms - c->connected_ms) / 1000,
      (now_ms - c->last_active_ms) / 1000, flags, sub, psub, ssub,
      c->in_multi() ? static_cast<int64_t>(c->tx->queued.size()) : -1, qbuf, c->out.size(),
      c->queued(), cmd, GetRedir(tracking), c->resp);
}

std::string LastCommand(const Client* c) {
  if (c->last_cmd >= CommandTable::Get().size()) return "NULL";
  return std::string(CommandTable::Get().at(c->last_cmd).name);
}

}  // namespace

void Worker::OnClient(Client* c, resp::Request& req, const CommandInfo&) {
  const auto& args = req.args;
  const size_t argc = args.size();
  const std::string sub = argc >= 2 ? AsciiLower(args[1]) : "";
  ReplyBuilder r(c->resp);
  if (sub == "setname" && argc == 3) {
    if (args[2].find_first_of(" \n\r") != std::string_view::npos) {
      r.Error(errors::kClientNameInvalid);
    } else {
      c->name = std::string(args[2]);
      r.Status("OK");
    }
  } else if (sub == "getname" && argc == 2) {
    if (c->name.empty()) {
      r.NullBulk();
    } else {
      r.Bulk(c->name);
    }
  } else if (sub == "id" && argc == 2) {
    r.Integer(c->public_id());
  } else if (sub == "info" && argc == 2) {
    r.Text(ClientLine(c, now_ms(), req.raw.size(), "client|info"));
  } else if (sub == "list") {
    // CLIENT LIST [TYPE normal|pubsub|...] [ID id ...]
    std::vector<int64_t> ids;
    std::string type;
    bool bad = false;
    for (size_t i = 2; i < argc && !bad; ++i) {
      if (EqualsIgnoreCase(args[i], "id")) {
        for (++i; i < argc; ++i) {
          int64_t id = 0;
          if (!resp::ParseRedisInt(args[i], &id) || id <= 0) {
            bad = true;
            break;
          }
          ids.push_back(id);
        }
      } else if (EqualsIgnoreCase(args[i], "type") && i + 1 < argc) {
        type = AsciiLower(args[++i]);
      } else {
        bad = true;
      }
    }
    if (bad) {
      r.Error(redis_errors::kSyntaxError);
    } else {
      std::string text;
      for (Client* o = clients_; o != nullptr; o = o->next) {
        if (!ids.empty() && std::find(ids.begin(), ids.end(), o->public_id()) == ids.end())
          continue;
        if (!type.empty() && (type == "pubsub") != o->subscribed()) continue;
        text += o == c ? ClientLine(o, now_ms(), req.raw.size(), "client|list")
                       : ClientLine(o, now_ms(), o->in.size(), LastCommand(o));
      }
      r.Text(text);
    }
  } else if (sub == "reply" && argc == 3) {
    if (EqualsIgnoreCase(args[2], "on")) {
      c->reply_mode = ReplyMode::kOn;
      c->suppress_current = false;
      r.Status("OK");
    } else if (EqualsIgnoreCase(args[2], "off")) {
      c->reply_mode = ReplyMode::kOff;
      c->suppress_current = true;
    } else if (EqualsIgnoreCase(args[2], "skip")) {
      if (c->reply_mode == ReplyMode::kOn) c->reply_mode = ReplyMode::kSkipNext;
      c->suppress_current = true;
    } else {
      r.Error(redis_errors::kSyntaxError);
    }
    if (r.str().empty()) return;
  } else if (sub == "tracking" || sub == "caching" || sub == "getredir" || sub == "trackinginfo") {
    OnClientTracking(c, req, sub);
    return;
  } else if (sub == "no-evict" && argc == 3) {
    r.Status("OK");
  } else if (sub == "kill" && argc >= 3) {
    ClientKill(c, req);
    return;
  } else if ((sub == "pause" && (argc == 3 || argc == 4)) || (sub == "unpause" && argc == 2)) {
    // Every master pauses; over sessions, so an UNPAUSE never waits behind a paused write on a
    // shared connection.
    std::string name = "CLIENT " + sub;
    int64_t pause_ms = 0;
    if (sub == "unpause") {
      proxy_->paused_until_ms.store(0, std::memory_order_relaxed);
    } else if (resp::ParseRedisInt(args[2], &pause_ms) && pause_ms >= 0) {
      // (A timeout the nodes refuse only makes the requests of the next moments use sessions.)
      proxy_->paused_until_ms.store(now_ms() + static_cast<uint64_t>(pause_ms),
                                    std::memory_order_relaxed);
    }
    FanOutSessions(c, RequestBytes(req),
                   [name](const std::vector<NodeReply>& parts) { return MergeAllOk(parts, name); });
    return;
  } else if (sub == "unblock" && (argc == 3 || argc == 4)) {
    ClientUnblock(c, req);
    return;
  } else if (sub == "setname" || sub == "getname" || sub == "id" || sub == "info" ||
             sub == "reply" || sub == "no-evict" || sub == "kill" || sub == "unblock" ||
             sub == "pause" || sub == "unpause") {
    r.Error(errors::WrongArity("client|" + sub));
  } else {
    stats_.proxy_errors.Inc();
    r.Error(errors::ClientSubcommandUnsupported(argc >= 2 ? args[1] : ""));
  }
  Reply(c, r.str());
}

// CLIENT KILL acts on the proxy's own clients (of this worker thread), as Redis's acts on its own:
// `CLIENT KILL addr` or the filter form (ID, ADDR, LADDR, TYPE, USER, SKIPME).
void Worker::ClientKill(Client* c, resp::Request& req) {
  const auto& args = req.args;
  ReplyBuilder r(c->resp);
  std::vector<Client*> victims;
  if (args.size() == 3) {
    for (Client* o = clients_; o != nullptr; o = o->next) {
      if (PeerAddress(o) == args[2]) victims.push_back(o);
    }
    if (victims.empty()) {
      ReplyError(c, errors::kNoSuchClient);
      return;
    }
  } else {
    if (args.size() % 2 != 0) {
      ReplyError(c, redis_errors::kSyntaxError);
      return;
    }
    int64_t id = 0;
    std::string addr, laddr, type;
    bool skipme = true;
    for (size_t i = 2; i + 1 < args.size(); i += 2) {
      std::string opt = AsciiLower(args[i]);
      if (opt == "id") {
        if (!resp::ParseRedisInt(args[i + 1], &id) || id <= 0) {
          ReplyError(c, errors::kClientIdNotPositive);
          return;
        }
      } else if (opt == "addr") {
        addr = std::string(args[i + 1]);
      } else if (opt == "laddr") {
        laddr = std::string(args[i + 1]);
      } else if (opt == "type") {
        type = AsciiLower(args[i + 1]);
        if (type != "normal" && type != "pubsub" && type != "master" && type != "replica" &&
            type != "slave") {
          ReplyError(c, errors::UnknownClientType(args[i + 1]));
          return;
        }
      } else if (opt == "user") {
        // Every client of the proxy is "default".
        if (args[i + 1] != "default") {
          ReplyError(c, errors::NoSuchUser(args[i + 1]));
          return;
        }
      } else if (opt == "skipme") {
        if (EqualsIgnoreCase(args[i + 1], "yes")) {
          skipme = true;
        } else if (EqualsIgnoreCase(args[i + 1], "no")) {
          skipme = false;
        } else {
          ReplyError(c, redis_errors::kSyntaxError);
          return;
        }
      } else {
        ReplyError(c, redis_errors::kSyntaxError);
        return;
      }
    }
    for (Client* o = clients_; o != nullptr; o = o->next) {
      if (skipme && o == c) continue;
      if (id != 0 && o->public_id() != id) continue;
      if (!addr.empty() && PeerAddress(o) != addr) continue;
      if (!laddr.empty()) {
        auto [h, p] = o->SocketAddress(false);
        if (fmt::format("{}:{}", h, p) != laddr) continue;
      }
      if (!type.empty() && (type == "pubsub") != o->subscribed()) continue;
      if (type == "master" || type == "replica" || type == "slave") continue;
      victims.push_back(o);
    }
  }
  for (Client* v : victims) {
    if (v == c) {
      c->close_after_flush = true;  // the reply first, as Redis does
    } else {
      CloseClient(v, "CLIENT KILL");
    }
  }
  if (args.size() == 3) {
    r.Status("OK");
  } else {
    r.Integer(static_cast<int64_t>(victims.size()));
  }
  Reply(c, r.str());
}

// CLIENT UNBLOCK id [TIMEOUT|ERROR]: a client of this worker blocked in a blocking command gets
// the timeout reply (or an UNBLOCKED error) at once; its session is closed, so the node forgets
// the blocked command.
void Worker::ClientUnblock(Client* c, resp::Request& req) {
  const auto& args = req.args;
  int64_t id = 0;
  if (!resp::ParseRedisInt(args[2], &id)) {
    ReplyError(c, redis_errors::kNotInteger);
    return;
  }
  bool error = false;
  if (args.size() == 4) {
    if (EqualsIgnoreCase(args[3], "error")) {
      error = true;
    } else if (!EqualsIgnoreCase(args[3], "timeout")) {
      ReplyError(c, errors::kUnblockReason);
      return;
    }
  }
  int64_t unblocked = 0;
  for (Client* o = clients_; o != nullptr; o = o->next) {
    if (o->public_id() != id || !o->block || o->block->backend == nullptr) continue;
    Backend* b = o->block->backend;
    std::vector<Op> ops = b->TakeOps();
    ReleaseBlockBackend(o, false);
    o->block.reset();
    for (Op& op : ops) {
      if (op.role != OpRole::kBlocking) {
        FailOp(op, errors::kResetByUnblock);
        continue;
      }
      ReplyBuilder r(o->resp);
      if (error) {
        r.Error(errors::kUnblockedByClient);
      } else {
        r.NullArray();
      }
      Deliver(o, op, r.str());
      unblocked = 1;
    }
  }
  Reply(c, ReplyBuilder(c->resp).Integer(unblocked).str());
}

}  // namespace rs::proxy
