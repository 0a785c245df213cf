// The handler table, and the commands the proxy answers itself: the handshake (PING, AUTH, HELLO,
// SELECT, CLIENT), RESET, and the CLUSTER views that make the proxy look like a one-node cluster
// to cluster-aware clients. Each handler is small; replies are built in the client's protocol.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "common/redis_errors.h"
#include "common/resp_parser.h"
#include "common/resp_writer.h"
#include "common/slot.h"
#include "common/version.h"
#include "proxy/proxy.h"
#include "proxy/proxy_errors.h"
#include "proxy/pubsub.h"
#include "proxy/tracking_client.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

// A fixed node id for the proxy in CLUSTER replies (40 hex digits, as clients validate).
constexpr std::string_view kProxyNodeId = "0000000000000000000000000000000000000001";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
  }
  return out;
}

std::pair<std::string, int> SocketName(const uv_tcp_t* tcp, bool peer) {
  sockaddr_storage ss{};
  int len = sizeof(ss);
  int rc = peer ? uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&ss), &len)
                : uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&ss), &len);
  if (rc == 0) {
    char ip[64] = {};
    if (ss.ss_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      uv_ip4_name(a, ip, sizeof(ip));
      return {ip, ntohs(a->sin_port)};
    }
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    uv_ip6_name(a, ip, sizeof(ip));
    return {ip, ntohs(a->sin6_port)};
  }
  return {peer ? "?" : "127.0.0.1", 0};
}

// The address clients reached the proxy at (what CLUSTER SLOTS should point them back to).
std::pair<std::string, int> LocalAddress(Client* c) { return SocketName(&c->tcp, false); }

std::string PeerAddress(const Client* c) {
  auto [ip, port] = SocketName(&c->tcp, true);
  return fmt::format("{}:{}", ip, port);
}

int64_t PublicId(const Client* c) { return c->public_id(); }

const TrackingState* TrackingStateOf(const Client* c) {
  return c->tracking && c->tracking->state.on ? &c->tracking->state : nullptr;
}

// One CLIENT LIST / CLIENT INFO line, with the fields Redis 7.0 prints that mean something here.
// The asking client's own line shows the request being run (its size and name), as on a node.
std::string ClientLine(Client* c, uint64_t now_ms, size_t qbuf, std::string_view cmd) {
  auto [host, port] = SocketName(&c->tcp, false);
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
      PublicId(c), PeerAddress(c), host, port, c->name, (now_ms - c->connected_ms) / 1000,
      (now_ms - c->last_active_ms) / 1000, flags, sub, psub, ssub,
      c->in_multi() ? static_cast<int64_t>(c->tx->queued.size()) : -1, qbuf, c->out.size(),
      c->queued(), cmd, GetRedir(tracking), c->resp);
}

std::string LastCommand(const Client* c) {
  if (c->last_cmd >= CommandTable::Get().size()) return "NULL";
  return std::string(CommandTable::Get().at(c->last_cmd).name);
}

}  // namespace

const Worker::HandlerFn* Worker::HandlerTable() {
  static const auto table = [] {
    std::array<HandlerFn, static_cast<size_t>(Handler::kCount)> t;
    t.fill(&Worker::OnNotYet);  // a handler without code yet (none left)
    auto set = [&t](Handler h, HandlerFn fn) { t[static_cast<size_t>(h)] = fn; };
    set(Handler::kPing, &Worker::OnPing);
    set(Handler::kEcho, &Worker::OnEcho);
    set(Handler::kQuit, &Worker::OnQuit);
    set(Handler::kSelect, &Worker::OnSelect);
    set(Handler::kAuth, &Worker::OnAuth);
    set(Handler::kHello, &Worker::OnHello);
    set(Handler::kClient, &Worker::OnClient);
    set(Handler::kCluster, &Worker::OnCluster);
    set(Handler::kReadonly, &Worker::OnReadonly);
    set(Handler::kReadwrite, &Worker::OnReadwrite);
    set(Handler::kReset, &Worker::OnReset);
    set(Handler::kAcl, &Worker::OnAcl);
    set(Handler::kMulti, &Worker::OnMulti);
    set(Handler::kExec, &Worker::OnExec);
    set(Handler::kDiscard, &Worker::OnDiscard);
    set(Handler::kWatch, &Worker::OnWatch);
    set(Handler::kUnwatch, &Worker::OnUnwatch);
    set(Handler::kBlocking, &Worker::OnBlocking);
    set(Handler::kWait, &Worker::OnWait);
    set(Handler::kKeys, &Worker::OnKeys);
    set(Handler::kRandomKey, &Worker::OnRandomKey);
    set(Handler::kFlush, &Worker::OnFlush);
    set(Handler::kConfig, &Worker::OnConfig);
    set(Handler::kScript, &Worker::OnScript);
    set(Handler::kFunction, &Worker::OnFunction);
    set(Handler::kSlowlog, &Worker::OnSlowlog);
    set(Handler::kLatency, &Worker::OnLatency);
    set(Handler::kMemory, &Worker::OnMemory);
    set(Handler::kMonitor, &Worker::OnMonitor);
    set(Handler::kDedicated, &Worker::OnDedicated);
    set(Handler::kScan, &Worker::OnScan);
    set(Handler::kScriptCall, &Worker::OnScriptCall);
    set(Handler::kSubscribe, &Worker::OnSubscribe);
    set(Handler::kPsubscribe, &Worker::OnSubscribe);
    set(Handler::kSsubscribe, &Worker::OnSubscribe);
    set(Handler::kUnsubscribe, &Worker::OnUnsubscribe);
    set(Handler::kPunsubscribe, &Worker::OnUnsubscribe);
    set(Handler::kSunsubscribe, &Worker::OnUnsubscribe);
    set(Handler::kPubsub, &Worker::OnPubsub);
    set(Handler::kPublish, &Worker::OnPublish);
    return t;
  }();
  return table.data();
}

void Worker::OnNotYet(Client* c, resp::Request& req, const CommandInfo&) {
  stats_.proxy_errors.Inc();
  ReplyError(c, errors::NotYetSupported(req.args[0]));
}

void Worker::OnPing(Client* c, resp::Request& req, const CommandInfo&) {
  const auto& args = req.args;
  ReplyBuilder r(c->resp);
  if (args.size() > 2) {
    r.Error(errors::WrongArity("ping"));
  } else if (c->resp == 2 && c->subscribed()) {
    // In subscribed mode a RESP2 client gets ["pong", arg] (pubsub.c).
    r.Array(2).Bulk("pong").Bulk(args.size() == 2 ? args[1] : std::string_view());
  } else if (args.size() == 1) {
    r.Status("PONG");
  } else {
    r.Bulk(args[1]);
  }
  if (r.str()[0] == '-' || (c->resp == 2 && c->subscribed()) || by_master_[0].empty()) {
    Reply(c, r.str());
    return;
  }
  // A PING is answered by the masters too: a node busy with a script (or loading) says so, as
  // one server would; otherwise the proxy's own PONG.
  std::vector<std::pair<Backend*, std::string>> parts;
  for (Backend* m : by_master_[c->resp == 3 ? 1 : 0]) {
    parts.emplace_back(m, std::string("*1\r\n$4\r\nPING\r\n"));
  }
  FanOutCommands(c, parts, [own = r.Take()](const std::vector<NodeReply>& replies) {
    return MergePing(replies, own);
  });
}

void Worker::OnEcho(Client* c, resp::Request& req, const CommandInfo&) {
  ReplyBuilder r(c->resp);
  if (req.args.size() == 2) {
    r.Bulk(req.args[1]);
  } else {
    r.Error(errors::WrongArity("echo"));
  }
  Reply(c, r.str());
}

void Worker::OnQuit(Client* c, resp::Request&, const CommandInfo&) {
  c->suppress_current = false;
  Reply(c, "+OK\r\n");
  c->close_after_flush = true;
}

void Worker::OnSelect(Client* c, resp::Request& req, const CommandInfo&) {
  ReplyBuilder r(c->resp);
  int64_t db = 0;
  if (req.args.size() != 2) {
    r.Error(errors::WrongArity("select"));
  } else if (!resp::ParseRedisInt(req.args[1], &db)) {
    r.Error(redis_errors::kNotInteger);
  } else if (db != 0) {
    r.Error(errors::kSelectNotAllowed);
  } else {
    r.Status("OK");
  }
  Reply(c, r.str());
}

void Worker::OnAuth(Client* c, resp::Request& req, const CommandInfo&) {
  const auto& args = req.args;
  const ProxyConfig& cfg = config();
  ReplyBuilder r(c->resp);
  if (args.size() != 2 && args.size() != 3) {
    r.Error(errors::WrongArity("auth"));
  } else if (cfg.requirepass.empty()) {
    r.Error(errors::kAuthWithoutPassword);
  } else if ((args.size() == 2 && args[1] == cfg.requirepass) ||
             (args.size() == 3 && args[1] == "default" && args[2] == cfg.requirepass)) {
    c->authed = true;
    r.Status("OK");
  } else {
    c->authed = false;
    r.Error(redis_errors::kWrongPass);
  }
  Reply(c, r.str());
}

void Worker::OnHello(Client* c, resp::Request& req, const CommandInfo&) {
  const auto& args = req.args;
  const size_t argc = args.size();
  const ProxyConfig& cfg = config();
  int64_t ver = c->resp;
  size_t i = 1;
  if (argc >= 2) {
    if (!resp::ParseRedisInt(args[1], &ver)) {
      ReplyError(c, errors::kProtocolVersionNotInteger);
      return;
    }
    i = 2;
  }
  if (ver < 2 || ver > 3) {
    ReplyError(c, errors::kNoProto);
    return;
  }
  std::string setname;
  bool authed = c->authed;
  for (; i < argc; ++i) {
    if (EqualsIgnoreCase(args[i], "auth") && i + 2 < argc) {
      std::string_view user = args[i + 1], pass = args[i + 2];
      if (!cfg.requirepass.empty() && user == "default" && pass == cfg.requirepass) {
        authed = true;
      } else if (!cfg.requirepass.empty()) {
        ReplyError(c, redis_errors::kWrongPass);
        return;
      }
      i += 2;
    } else if (EqualsIgnoreCase(args[i], "setname") && i + 1 < argc) {
      setname = std::string(args[i + 1]);
      i += 1;
    } else {
      ReplyError(c, errors::HelloSyntax(args[i]));
      return;
    }
  }
  if (!authed) {
    ReplyError(c, errors::kHelloNoAuth);
    return;
  }
  c->authed = true;
  if (!setname.empty()) c->name = setname;
  // Later requests run over connections in this protocol (RESP3 ones send HELLO 3 when set up).
  if (c->tracking && c->resp != ver) TrackingProtocolChanged(c, static_cast<uint8_t>(ver));
  c->resp = static_cast<uint8_t>(ver);
  ReplyBuilder r(c->resp);
  r.Map(8);
  r.Bulk("server").Bulk("redis");
  r.Bulk("version").Bulk("7.0.15");
  r.Bulk("proto").Integer(c->resp);
  r.Bulk("id").Integer(PublicId(c));
  r.Bulk("mode").Bulk("standalone");
  r.Bulk("role").Bulk("master");
  r.Bulk("modules").Array(0);
  r.Bulk("proxy").Bulk(fmt::format("redis-proxy {}", kVersion));
  Reply(c, r.str());
}

void Worker::OnClient(Client* c, resp::Request& req, const CommandInfo&) {
  const auto& args = req.args;
  const size_t argc = args.size();
  const std::string sub = argc >= 2 ? Lower(args[1]) : "";
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
    r.Integer(PublicId(c));
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
        type = Lower(args[++i]);
      } else {
        bad = true;
      }
    }
    if (bad) {
      r.Error(redis_errors::kSyntaxError);
    } else {
      std::string text;
      for (Client* o = clients_; o != nullptr; o = o->next) {
        if (!ids.empty() && std::find(ids.begin(), ids.end(), PublicId(o)) == ids.end()) continue;
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
  } else if (sub == "tracking" || sub == "caching" || sub == "getredir" ||
             sub == "trackinginfo") {
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
    FanOutSessions(c, RequestBytes(req), [name](const std::vector<NodeReply>& parts) {
      return MergeAllOk(parts, name);
    });
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
      std::string opt = Lower(args[i]);
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
        type = Lower(args[i + 1]);
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
      if (id != 0 && PublicId(o) != id) continue;
      if (!addr.empty() && PeerAddress(o) != addr) continue;
      if (!laddr.empty()) {
        auto [h, p] = SocketName(&o->tcp, false);
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
    if (PublicId(o) != id || !o->block || o->block->backend == nullptr) continue;
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

void Worker::OnCluster(Client* c, resp::Request& req, const CommandInfo&) {
  const auto& args = req.args;
  const size_t argc = args.size();
  const std::string sub = argc >= 2 ? Lower(args[1]) : "";
  auto [host, port] = LocalAddress(c);
  ReplyBuilder r(c->resp);
  if (sub == "keyslot" && argc == 3) {
    r.Integer(KeySlot(args[2]));
  } else if (sub == "info" && argc == 2) {
    uint64_t epoch = table_ ? table_->epoch : 0;
    bool ok = table_ && table_->AssignedSlots() == kSlotCount;
    r.Text(fmt::format(
        "cluster_state:{}\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n"
        "cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:1\r\n"
        "cluster_size:1\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{}\r\n"
        "cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n"
        "total_cluster_links_buffer_limit_exceeded:0\r\n",
        ok ? "ok" : "fail", epoch, epoch));
  } else if (sub == "slots" && argc == 2) {
    r.Array(1).Array(3).Integer(0).Integer(kSlotCount - 1);
    r.Array(3).Bulk(host).Integer(port).Bulk(kProxyNodeId);
  } else if (sub == "shards" && argc == 2) {
    r.Array(1).Map(2);
    r.Bulk("slots").Array(2).Integer(0).Integer(kSlotCount - 1);
    r.Bulk("nodes").Array(1).Map(7);
    r.Bulk("id").Bulk(kProxyNodeId);
    r.Bulk("port").Integer(port);
    r.Bulk("ip").Bulk(host);
    r.Bulk("endpoint").Bulk(host);
    r.Bulk("role").Bulk("master");
    r.Bulk("replication-offset").Integer(0);
    r.Bulk("health").Bulk("online");
  } else if (sub == "nodes" && argc == 2) {
    r.Text(fmt::format("{} {}:{}@{} myself,master - 0 0 1 connected 0-16383\n", kProxyNodeId,
                       host, port, port + 10000));
  } else if (sub == "myid" && argc == 2) {
    r.Bulk(kProxyNodeId);
  } else if (sub == "keyslot" || sub == "info" || sub == "slots" || sub == "shards" ||
             sub == "nodes" || sub == "myid") {
    r.Error(errors::WrongArity("cluster|" + sub));
  } else {
    stats_.proxy_errors.Inc();
    r.Error(errors::ClusterSubcommandRefused(argc >= 2 ? args[1] : ""));
  }
  Reply(c, r.str());
}

void Worker::OnAcl(Client* c, resp::Request& req, const CommandInfo&) {
  // The proxy authenticates its clients itself (--requirepass, as the user "default"), and the
  // nodes' users are not the proxy's: a user set on one master (or on all of them) would not let
  // anybody in through the proxy. What reads the nodes' tables goes to any master.
  const std::string sub = req.args.size() > 1 ? Lower(req.args[1]) : "";
  if (sub == "whoami" && req.args.size() == 2) {
    Reply(c, ReplyBuilder(c->resp).Bulk("default").Take());
  } else if (AclChangesUsers(sub)) {
    stats_.proxy_errors.Inc();
    ReplyError(c, errors::SubcommandRefused("acl", sub, errors::kAclUsersReason));
  } else {
    ToAnyMaster(c, req);
  }
}

void Worker::OnReadonly(Client* c, resp::Request&, const CommandInfo&) {
  c->readonly = true;
  Reply(c, "+OK\r\n");
}

void Worker::OnReadwrite(Client* c, resp::Request&, const CommandInfo&) {
  c->readonly = false;
  Reply(c, "+OK\r\n");
}

void Worker::OnReset(Client* c, resp::Request&, const CommandInfo&) {
  // Everything RESET clears on a node (networking.c clearClientConnectionState).
  DisableTracking(c);
  CloseSessions(c);
  EndMonitor(c);
  TxReset(c);
  DropSubscriptions(c, true);  // out of subscribed mode; held confirmations go first
  c->block.reset();
  c->name.clear();
  c->readonly = false;
  c->monitor = false;
  c->reply_mode = ReplyMode::kOn;
  c->suppress_current = false;
  c->resp = 2;
  c->authed = config().requirepass.empty();
  Reply(c, "+RESET\r\n");
}

}  // namespace rs::proxy
