#include "executor/diagnosis.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include "common/address.h"

namespace rs::executor {

using model::NodeRef;
using model::PeerView;

namespace {

std::string HostPart(const std::string& address) {
  auto a = Address::Parse(address);
  return a.ok() ? a->host : address.substr(0, address.rfind(':'));
}

std::string PortPart(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? "" : address.substr(colon + 1);
}

// What to set on `node` when peers see its connections come from another address.
std::string SourceAdvice(const NodeRef& node, const SourceConfig& config) {
  const std::string host = HostPart(node.address);
  if (config.known && !config.cluster_announce_ip.empty() && config.cluster_announce_ip != host) {
    return fmt::format("{} announces cluster-announce-ip {}; set it to {}", node.address,
                       config.cluster_announce_ip, host);
  }
  std::string facts;
  if (config.known && config.bind_source_addr.empty() && config.cluster_announce_ip.empty()) {
    facts = " (it sets neither bind-source-addr nor cluster-announce-ip)";
  } else if (config.known && !config.bind_source_addr.empty() && config.bind_source_addr != host) {
    facts = fmt::format(" (its bind-source-addr is {})", config.bind_source_addr);
  }
  return fmt::format(
      "the cluster bus of {} connects from another source address{}; set bind-source-addr {} on "
      "it (or cluster-announce-ip {}, or bind the right interface)",
      node.address, facts, host, host);
}

// The first sentence of a long error reply: Redis's protected-mode text runs to 900 bytes.
std::string FirstSentence(const std::string& text) {
  size_t end = text.find(". ");
  if (end != std::string::npos && end < 300) return text.substr(0, end + 1);
  return text.size() > 300 ? text.substr(0, 300) + "..." : text;
}

std::string ReplyText(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_ERROR: return "-" + std::string(r->str, r->len);
    case REDIS_REPLY_STATUS: return "+" + std::string(r->str, r->len);
    case REDIS_REPLY_STRING: return "$" + std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER: return fmt::format(":{}", r->integer);
    case REDIS_REPLY_NIL: return "(nil)";
    default: return "(array)";
  }
}

using Context = std::unique_ptr<redisContext, decltype(&redisFree)>;

// Waits for `events` on the context's socket; false on timeout.
bool WaitFd(redisContext* c, short events, int timeout_ms) {
  pollfd p{c->fd, events, 0};
  int n;
  do {
    n = poll(&p, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

// Reads one reply from a non-blocking context within `timeout_ms`.
Result<std::string> ReadReply(redisContext* c, const std::string& what, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(c, &raw) != REDIS_OK) {
      return Status::Unavailable(fmt::format("{}: {}", what, c->errstr));
    }
    if (raw != nullptr) {
      std::string text = ReplyText(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      return text;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0 || !WaitFd(c, POLLIN, static_cast<int>(left))) {
      return Status::Timeout(fmt::format("{}: no answer within {} ms", what, timeout_ms));
    }
    if (redisBufferRead(c) != REDIS_OK) {
      return Status::Unavailable(fmt::format("{}: {}", what, c->errstr));
    }
  }
}

// True when a socket can be bound to `source` on this host.
Status CheckLocalAddress(const std::string& source) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  if (inet_pton(AF_INET, source.c_str(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    ss.ss_family = AF_INET;
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, source.c_str(),
                       &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
    ss.ss_family = family = AF_INET6;
    len = sizeof(sockaddr_in6);
  } else {
    return Status::FailedPrecondition(fmt::format("{} is not an IP address", source));
  }
  int fd = socket(family, SOCK_STREAM, 0);
  if (fd < 0) return Status::Unavailable(fmt::format("socket: {}", std::strerror(errno)));
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&ss), len);
  int err = errno;
  close(fd);
  if (rc != 0) {
    return Status::FailedPrecondition(
        fmt::format("{} is not an address of the controller's host ({})", source,
                    std::strerror(err)));
  }
  return Status::Ok();
}

}  // namespace

SourceConfig ReadSourceConfig(AdminPool* pool, const std::string& address) {
  SourceConfig out;
  auto r = pool->Command(address, {"CONFIG", "GET", "bind-source-addr"});
  auto a = pool->Command(address, {"CONFIG", "GET", "cluster-announce-ip"});
  if (!r.ok() || r->is_error() || r->elements.size() != 2 || !a.ok() || a->is_error() ||
      a->elements.size() != 2) {
    return out;
  }
  out.known = true;
  out.bind_source_addr = r->elements[1].str;
  out.cluster_announce_ip = a->elements[1].str;
  return out;
}

std::string ExplainUnknownPeer(const std::string& viewer, const health::ClusterNodes& view,
                               const NodeRef& node, const SourceConfig& config) {
  const std::string host = HostPart(node.address);
  const std::string port = PortPart(node.address);
  // The node by id, at the wrong address or none.
  for (const PeerView& p : view.peers) {
    if (node.id.empty() || p.id != node.id) continue;
    if (p.address.empty()) {
      return fmt::format("{} lists node {} without an address (noaddr): it has not heard from {} "
                         "since it lost the link", viewer, node.id, node.address);
    }
    if (p.address != node.address) {
      std::string advice = HostPart(p.address) != host
                               ? SourceAdvice(node, config)
                               : fmt::format("{} announces another port; check its "
                                             "cluster-announce-port", node.address);
      return fmt::format("{} sees node {} at {} instead of {}: {}", viewer, node.id, p.address,
                         node.address, advice);
    }
  }
  // A handshake from the node's port on another host: the peer took the address the connection
  // came from, and its handshake to that address cannot complete. Not when the node announces its
  // address or connects from it: then that handshake is another node's (on lain every node has
  // port 6379).
  const bool own_source =
      config.known && (config.cluster_announce_ip == host ||
                       (config.cluster_announce_ip.empty() && config.bind_source_addr == host));
  for (const PeerView& p : view.peers) {
    if (own_source) break;
    if (!p.handshake || p.address.empty()) continue;
    if (PortPart(p.address) == port && HostPart(p.address) != host) {
      return fmt::format("{} sees a handshake from {} instead of {}: {}", viewer, p.address,
                         node.address, SourceAdvice(node, config));
    }
  }
  for (const PeerView& p : view.peers) {
    if (p.handshake && p.address == node.address) {
      return fmt::format("{} has not completed its handshake with {}: it cannot reach the node's "
                         "cluster bus port (the port + 10000 unless cluster-port is set)",
                         viewer, node.address);
    }
  }
  return "";
}

std::string SourceHint(const NodeRef& node, const SourceConfig& config) {
  if (!config.known || !config.bind_source_addr.empty() || !config.cluster_announce_ip.empty()) {
    return "";
  }
  return fmt::format(" ({} sets neither bind-source-addr nor cluster-announce-ip: on a host with "
                     "several addresses its peers may take it to be at another one)",
                     node.address);
}

std::string DescribeMasterLink(const health::InfoFields& info) {
  std::string status(info.Get("master_link_status").value_or("unknown"));
  std::string out = "master_link_status:" + status;
  if (auto since = info.Get("master_link_down_since_seconds"); since && status != "up") {
    // Redis 7.0 reports -1 when the link was never up since the replica was (re)configured.
    out += *since == "-1" ? ", never up" : fmt::format(" for {} s", *since);
  }
  if (info.Get("master_sync_in_progress").value_or("0") == "1") out += ", a sync is in progress";
  return out;
}

Result<std::string> TryConnection(const std::string& source, const std::string& master,
                                  const ConnectOptions& options) {
  RS_ASSIGN_OR_RETURN(Address addr, Address::Parse(master));
  if (!source.empty()) RS_RETURN_IF_ERROR(CheckLocalAddress(source));
  const std::string from = source.empty() ? "" : " from " + source;
  Context c(source.empty() ? redisConnectNonBlock(addr.host.c_str(), addr.port)
                           : redisConnectBindNonBlock(addr.host.c_str(), addr.port, source.c_str()),
            &redisFree);
  if (!c) return Status::Unavailable("out of memory");
  if (c->err) return Status::Unavailable(fmt::format("connect{} to {}: {}", from, master, c->errstr));
  if (!WaitFd(c.get(), POLLOUT, options.connect_timeout_ms)) {
    return Status::Timeout(fmt::format("connect{} to {}: no answer within {} ms", from, master,
                                       options.connect_timeout_ms));
  }
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    return Status::Unavailable(
        fmt::format("connect{} to {}: {}", from, master, std::strerror(err)));
  }
  // A server that refuses the client (protected mode) says so at once and closes: read that
  // first, since a PING written to a closed socket may reset the connection before it is read.
  if (WaitFd(c.get(), POLLIN, 200)) {
    return ReadReply(c.get(), fmt::format("reading from {}", master), options.command_timeout_ms);
  }
  std::vector<std::vector<std::string>> cmds;
  if (!options.password.empty()) {
    cmds.push_back({"AUTH"});
    if (!options.user.empty()) cmds.back().push_back(options.user);
    cmds.back().push_back(options.password);
  }
  cmds.push_back({"PING"});
  for (const auto& args : cmds) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data());
  }
  for (int done = 0; !done;) {
    if (redisBufferWrite(c.get(), &done) != REDIS_OK) {
      return Status::Unavailable(fmt::format("writing to {}: {}", master, c->errstr));
    }
    if (!done && !WaitFd(c.get(), POLLOUT, options.command_timeout_ms)) {
      return Status::Timeout(fmt::format("writing to {}: timed out", master));
    }
  }
  std::string answer;
  for (const auto& args : cmds) {
    RS_ASSIGN_OR_RETURN(answer, ReadReply(c.get(), fmt::format("{} on {}", args[0], master),
                                          options.command_timeout_ms));
    if (args[0] == "AUTH" && !answer.empty() && answer[0] == '-') return "AUTH: " + answer;
  }
  return answer;
}

std::string AdviceForAnswer(const std::string& master, const std::string& source,
                            const Result<std::string>& answer) {
  if (!answer.ok()) {
    if (answer.status().code() == StatusCode::kFailedPrecondition) return "";
    if (answer.status().message().find("refused") != std::string::npos) {
      return fmt::format("nothing accepts connections from {} at {}: check the master's bind "
                         "and port", source, master);
    }
    return fmt::format("check the network between {} and {}", source, master);
  }
  const std::string& a = *answer;
  if (a.rfind("-DENIED", 0) == 0 && a.find("protected mode") != std::string::npos) {
    return fmt::format("{} is in protected mode and has no password, so it refuses a replica "
                       "connecting from {}: set protected-mode no on it, or a password "
                       "(requirepass on every node, masterauth on the replicas)",
                       master, source);
  }
  if (a.find("NOAUTH") != std::string::npos || a.find("WRONGPASS") != std::string::npos ||
      a.rfind("AUTH:", 0) == 0) {
    return fmt::format("{} wants a password the replica may lack: set masterauth (and "
                       "masteruser) on the replica to the nodes' requirepass", master);
  }
  if (a == "+PONG") {
    return fmt::format("{} answers {}, so the link itself works: the sync may be slow (a large "
                       "dataset, repl-diskless-sync-delay) or refused for another reason; see "
                       "the replica's log", master, source);
  }
  return "";
}

std::string ExplainReplicaNotSynced(AdminPool* pool, const NodeRef& replica,
                                    const NodeRef& master) {
  std::string out = fmt::format("{} has not completed its first sync from {}", replica.address,
                                master.address);
  auto info = pool->Command(replica.address, {"INFO", "replication"});
  if (info.ok() && !info->is_error()) {
    out += ": " + DescribeMasterLink(health::InfoFields::Parse(info->str));
  }
  // The connection the replica makes comes from its bind-source-addr, else (on a host of its
  // own) from its address.
  SourceConfig config = ReadSourceConfig(pool, replica.address);
  std::string source = config.bind_source_addr.empty() ? HostPart(replica.address)
                                                       : config.bind_source_addr;
  auto answer = TryConnection(source, master.address, pool->options());
  if (!answer.ok() && answer.status().code() == StatusCode::kFailedPrecondition) {
    // The controller runs elsewhere: it can only say what the master answers the controller.
    out += fmt::format("; cannot try a connection from {} ({})", source, answer.status().message());
    return out;
  }
  out += fmt::format("; a connection from {} to {} gets {}", source, master.address,
                     answer.ok() ? "\"" + FirstSentence(*answer) + "\""
                                 : "an error: " + answer.status().message());
  std::string advice = AdviceForAnswer(master.address, source, answer);
  if (!advice.empty()) out += ": " + advice;
  return out;
}

}  // namespace rs::executor
