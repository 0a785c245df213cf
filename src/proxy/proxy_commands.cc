// Commands the proxy answers itself: the handshake (PING, AUTH, HELLO, SELECT, CLIENT) and the
// CLUSTER views that make the proxy look like a one-node cluster to cluster-aware clients.
#include <fmt/format.h>

#include "common/redis_errors.h"
#include "common/resp_parser.h"
#include "common/resp_writer.h"
#include "common/slot.h"
#include "proxy/proxy.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

// A fixed node id for the proxy in CLUSTER replies (40 hex digits, as clients validate).
constexpr std::string_view kProxyNodeId = "0000000000000000000000000000000000000001";

std::string Arity(std::string_view name) {
  std::string out;
  resp::AppendError(&out, fmt::format("{}{}{}", redis_errors::kWrongArityPrefix, name,
                                      redis_errors::kWrongAritySuffix));
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
  }
  return out;
}

std::string UnknownSubcommand(std::string_view cmd, std::string_view sub) {
  std::string out;
  resp::AppendError(
      &out, fmt::format("ERR unknown subcommand '{}'. Try {} HELP.", sub, std::string(cmd)));
  return out;
}

// The address clients reached the proxy at (what CLUSTER SLOTS should point them back to).
std::pair<std::string, int> LocalAddress(Client* c) {
  sockaddr_storage ss{};
  int len = sizeof(ss);
  if (uv_tcp_getsockname(&c->tcp, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
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
  return {"127.0.0.1", 0};
}

std::string PeerAddress(Client* c) {
  sockaddr_storage ss{};
  int len = sizeof(ss);
  char ip[64] = {};
  if (uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&ss), &len) == 0 &&
      ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    uv_ip4_name(a, ip, sizeof(ip));
    return fmt::format("{}:{}", ip, ntohs(a->sin_port));
  }
  return "?:0";
}

}  // namespace

void Worker::AnswerProxy(Client* c, resp::Request& req, const CommandInfo& info) {
  const auto& args = req.args;
  const size_t argc = args.size();
  std::string out;
  std::string_view name = info.name;
  const ProxyConfig& cfg = config();

  if (name == "ping") {
    if (argc == 1) {
      out = "+PONG\r\n";
    } else if (argc == 2) {
      resp::AppendBulk(&out, args[1]);
    } else {
      out = Arity("ping");
    }
  } else if (name == "echo") {
    if (argc == 2) {
      resp::AppendBulk(&out, args[1]);
    } else {
      out = Arity("echo");
    }
  } else if (name == "quit") {
    out = "+OK\r\n";
    c->close_after_flush = true;
  } else if (name == "select") {
    int64_t db = 0;
    if (argc != 2) {
      out = Arity("select");
    } else if (!resp::ParseRedisInt(args[1], &db)) {
      resp::AppendError(&out, redis_errors::kNotInteger);
    } else if (db != 0) {
      resp::AppendError(&out, "ERR SELECT is not allowed in cluster mode");
    } else {
      out = "+OK\r\n";
    }
  } else if (name == "auth") {
    if (argc != 2 && argc != 3) {
      out = Arity("auth");
    } else if (cfg.requirepass.empty()) {
      resp::AppendError(&out,
                        "ERR AUTH <password> called without any password configured for the "
                        "default user. Are you sure your configuration is correct?");
    } else if ((argc == 2 && args[1] == cfg.requirepass) ||
               (argc == 3 && args[1] == "default" && args[2] == cfg.requirepass)) {
      c->authed = true;
      out = "+OK\r\n";
    } else {
      c->authed = false;
      resp::AppendError(&out, redis_errors::kWrongPass);
    }
  } else if (name == "hello") {
    int64_t ver = 2;
    size_t i = 1;
    if (argc >= 2) {
      if (!resp::ParseRedisInt(args[1], &ver)) {
        resp::AppendError(&out, "ERR Protocol version is not an integer or out of range");
        Reply(c, out);
        return;
      }
      i = 2;
    }
    if (ver == 3) {
      // No RESP3 yet: answer as a server without it does, so clients fall back to RESP2.
      std::string msg = fmt::format("{}{}{}", redis_errors::kUnknownCommandPrefix,
                                    std::string(args[0]), redis_errors::kUnknownCommandArgs);
      for (size_t a = 1; a < argc; ++a) msg += fmt::format("'{}' ", std::string(args[a]));
      resp::AppendError(&out, msg);
      Reply(c, out);
      return;
    }
    if (ver != 2) {
      resp::AppendError(&out, "NOPROTO sorry, this protocol version is not supported.");
      Reply(c, out);
      return;
    }
    std::string setname;
    bool ok = true;
    for (; i < argc; ++i) {
      if (EqualsIgnoreCase(args[i], "auth") && i + 2 < argc) {
        std::string_view user = args[i + 1], pass = args[i + 2];
        if (cfg.requirepass.empty() ? false : (user == "default" && pass == cfg.requirepass)) {
          c->authed = true;
        } else if (!cfg.requirepass.empty()) {
          resp::AppendError(&out, redis_errors::kWrongPass);
          ok = false;
          break;
        }
        i += 2;
      } else if (EqualsIgnoreCase(args[i], "setname") && i + 1 < argc) {
        setname = std::string(args[i + 1]);
        i += 1;
      } else {
        resp::AppendError(
            &out, fmt::format("ERR Syntax error in HELLO option '{}'", std::string(args[i])));
        ok = false;
        break;
      }
    }
    if (ok && !c->authed) {
      resp::AppendError(&out,
                        "NOAUTH HELLO must be called with the client already "
                        "authenticated, otherwise the HELLO <proto> AUTH <user> <pass> "
                        "option can be used to authenticate the client and select the "
                        "RESP protocol version at the same time");
      ok = false;
    }
    if (ok) {
      if (!setname.empty()) c->name = setname;
      resp::AppendArrayHeader(&out, 14);
      resp::AppendBulk(&out, "server");
      resp::AppendBulk(&out, "redis");
      resp::AppendBulk(&out, "version");
      resp::AppendBulk(&out, "7.0.15");
      resp::AppendBulk(&out, "proto");
      resp::AppendInteger(&out, 2);
      resp::AppendBulk(&out, "id");
      resp::AppendInteger(&out, static_cast<int64_t>(c->id & 0xffffffffffffULL));
      resp::AppendBulk(&out, "mode");
      resp::AppendBulk(&out, "standalone");
      resp::AppendBulk(&out, "role");
      resp::AppendBulk(&out, "master");
      resp::AppendBulk(&out, "modules");
      resp::AppendArrayHeader(&out, 0);
    }
  } else if (name == "client") {
    std::string sub = argc >= 2 ? Lower(args[1]) : "";
    if (sub == "setname" && argc == 3) {
      if (args[2].find_first_of(" \n\r") != std::string_view::npos) {
        resp::AppendError(&out,
                          "ERR Client names cannot contain spaces, newlines or special "
                          "characters.");
      } else {
        c->name = std::string(args[2]);
        out = "+OK\r\n";
      }
    } else if (sub == "getname" && argc == 2) {
      if (c->name.empty()) {
        resp::AppendNullBulk(&out);
      } else {
        resp::AppendBulk(&out, c->name);
      }
    } else if (sub == "id" && argc == 2) {
      resp::AppendInteger(&out, static_cast<int64_t>(c->id & 0xffffffffffffULL));
    } else if (sub == "info" && argc == 2) {
      auto [host, port] = LocalAddress(c);
      resp::AppendBulk(&out, fmt::format("id={} addr={} laddr={}:{} fd=0 name={} db=0 "
                                         "qbuf={} obl={} cmd=client|info\n",
                                         c->id & 0xffffffffffffULL, PeerAddress(c), host, port,
                                         c->name, c->in.size(), c->out.size()));
    } else if (sub == "setname" || sub == "getname" || sub == "id" || sub == "info") {
      out = Arity("client|" + sub);
    } else {
      resp::AppendError(&out, fmt::format("ERR proxy: CLIENT {} is not supported by the proxy",
                                          std::string(argc >= 2 ? args[1] : "")));
    }
  } else if (name == "cluster") {
    std::string sub = argc >= 2 ? Lower(args[1]) : "";
    auto [host, port] = LocalAddress(c);
    if (sub == "keyslot" && argc == 3) {
      resp::AppendInteger(&out, KeySlot(args[2]));
    } else if (sub == "info" && argc == 2) {
      uint64_t epoch = table_ ? table_->epoch : 0;
      bool ok = table_ && table_->AssignedSlots() == kSlotCount;
      resp::AppendBulk(&out, fmt::format("cluster_state:{}\r\ncluster_slots_assigned:16384\r\n"
                                         "cluster_slots_ok:16384\r\ncluster_slots_pfail:0\r\n"
                                         "cluster_slots_fail:0\r\ncluster_known_nodes:1\r\n"
                                         "cluster_size:1\r\ncluster_current_epoch:{}\r\n"
                                         "cluster_my_epoch:{}\r\ncluster_stats_messages_sent:0\r\n"
                                         "cluster_stats_messages_received:0\r\n"
                                         "total_cluster_links_buffer_limit_exceeded:0\r\n",
                                         ok ? "ok" : "fail", epoch, epoch));
    } else if (sub == "slots" && argc == 2) {
      resp::AppendArrayHeader(&out, 1);
      resp::AppendArrayHeader(&out, 3);
      resp::AppendInteger(&out, 0);
      resp::AppendInteger(&out, kSlotCount - 1);
      resp::AppendArrayHeader(&out, 3);
      resp::AppendBulk(&out, host);
      resp::AppendInteger(&out, port);
      resp::AppendBulk(&out, kProxyNodeId);
    } else if (sub == "shards" && argc == 2) {
      resp::AppendArrayHeader(&out, 1);
      resp::AppendArrayHeader(&out, 4);
      resp::AppendBulk(&out, "slots");
      resp::AppendArrayHeader(&out, 2);
      resp::AppendInteger(&out, 0);
      resp::AppendInteger(&out, kSlotCount - 1);
      resp::AppendBulk(&out, "nodes");
      resp::AppendArrayHeader(&out, 1);
      resp::AppendArrayHeader(&out, 14);
      resp::AppendBulk(&out, "id");
      resp::AppendBulk(&out, kProxyNodeId);
      resp::AppendBulk(&out, "port");
      resp::AppendInteger(&out, port);
      resp::AppendBulk(&out, "ip");
      resp::AppendBulk(&out, host);
      resp::AppendBulk(&out, "endpoint");
      resp::AppendBulk(&out, host);
      resp::AppendBulk(&out, "role");
      resp::AppendBulk(&out, "master");
      resp::AppendBulk(&out, "replication-offset");
      resp::AppendInteger(&out, 0);
      resp::AppendBulk(&out, "health");
      resp::AppendBulk(&out, "online");
    } else if (sub == "nodes" && argc == 2) {
      resp::AppendBulk(&out, fmt::format("{} {}:{}@{} myself,master - 0 0 1 connected 0-16383\n",
                                         kProxyNodeId, host, port, port + 10000));
    } else if (sub == "myid" && argc == 2) {
      resp::AppendBulk(&out, kProxyNodeId);
    } else if (sub == "keyslot" || sub == "info" || sub == "slots" || sub == "shards" ||
               sub == "nodes" || sub == "myid") {
      out = Arity("cluster|" + sub);
    } else {
      resp::AppendError(&out, fmt::format("ERR proxy: 'CLUSTER {}' is refused by the proxy",
                                          std::string(argc >= 2 ? args[1] : "")));
    }
  } else if (name == "multi") {
    c->in_refused_multi = true;
    resp::AppendError(&out,
                      "ERR proxy: MULTI is not supported by the proxy yet; every command "
                      "up to EXEC or DISCARD will be refused");
  } else if (name == "exec") {
    resp::AppendError(&out, "ERR EXEC without MULTI");
  } else if (name == "discard") {
    resp::AppendError(&out, "ERR DISCARD without MULTI");
  } else if (name == "readonly" || name == "readwrite") {
    out = "+OK\r\n";
  } else if (name == "reset") {
    c->name.clear();
    c->in_refused_multi = false;
    c->authed = cfg.requirepass.empty();
    out = "+RESET\r\n";
  } else {
    out = UnknownSubcommand(name, "");
  }
  if (!out.empty() && out[0] == '-') stats_.errors.Inc();
  Reply(c, out);
}

}  // namespace rs::proxy
