// The handler table, and the commands the proxy answers itself: the handshake (PING, AUTH, HELLO,
// SELECT; CLIENT is in client_commands.cc), RESET, ACL, and the CLUSTER views that make the proxy
// look like a one-node cluster to cluster-aware clients. Each handler is small; replies are built
// in the client's protocol.
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
  r.Bulk("id").Integer(c->public_id());
  r.Bulk("mode").Bulk("standalone");
  r.Bulk("role").Bulk("master");
  r.Bulk("modules").Array(0);
  r.Bulk("proxy").Bulk(fmt::format("redis-proxy {}", kVersion));
  Reply(c, r.str());
}

void Worker::OnCluster(Client* c, resp::Request& req, const CommandInfo&) {
  const auto& args = req.args;
  const size_t argc = args.size();
  const std::string sub = argc >= 2 ? AsciiLower(args[1]) : "";
  auto [host, port] = c->SocketAddress(false);
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
  const std::string sub = req.args.size() > 1 ? AsciiLower(req.args[1]) : "";
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
