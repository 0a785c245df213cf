#include "proxy_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include "common/address.h"

namespace rs::test {

using namespace std::chrono_literals;

Status ProxyHarness::StartCluster(int masters, int node_timeout_ms, const std::string& password) {
  LocalClusterOptions opts;
  opts.password = password;
  opts.masters = masters;
  opts.replicas_per_master = replicas_per_master_;
  opts.cluster_node_timeout_ms = node_timeout_ms;
  // Replicas sync at once (Redis waits 5 s by default), so failover tests need not wait.
  opts.extra_config = {"repl-diskless-sync-delay 0"};
  for (const std::string& line : node_config_) opts.extra_config.push_back(line);
  cluster_ = std::make_unique<LocalCluster>(opts);
  return cluster_->Start();
}

Status ProxyHarness::Start(int masters, int node_timeout_ms, proxy::ProxyConfig config,
                           bool use_seeds) {
  RS_RETURN_IF_ERROR(StartCluster(masters, node_timeout_ms));
  if (use_seeds) config.seeds = cluster_->Addresses();
  return StartProxy(std::move(config));
}

Status ProxyHarness::StartProxy(proxy::ProxyConfig config) {
  config.listen = "127.0.0.1:0";
  proxy_ = std::make_unique<proxy::Proxy>(std::move(config));
  RS_RETURN_IF_ERROR(proxy_->Start());
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto t = proxy_->latest_table(); t && t->AssignedSlots() == 16384) {
      std::this_thread::sleep_for(50ms);  // let the workers install it
      return Status::Ok();
    }
    std::this_thread::sleep_for(20ms);
  }
  return Status::Timeout("the proxy learned no complete topology in 10 s");
}

void ProxyHarness::StopProxy() {
  if (proxy_) proxy_->Stop();
  proxy_.reset();
}

ProxyHarness::~ProxyHarness() {
  StopProxy();
  if (cluster_) (void)cluster_->StopAll();
}

Status ProxyHarness::WaitForReplicasInSync(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (const std::string& address : cluster_->Addresses()) {
      auto c = ConnectNode(address);
      if (!c.ok()) continue;
      auto info = c->CommandString("INFO", "replication");
      if (!info.ok()) continue;
      if (InfoField(*info, "role") == "slave" && InfoField(*info, "master_link_status") != "up") {
        all = false;
      }
    }
    if (all) return Status::Ok();
    std::this_thread::sleep_for(50ms);
  }
  return Status::Timeout("replicas not in sync");
}

Result<RedisClient> ProxyHarness::Connect(std::chrono::milliseconds timeout) {
  return RedisClient::Connect("127.0.0.1", proxy_->port(), timeout);
}

Result<RedisClient> ProxyHarness::ConnectNode(const std::string& address) {
  RS_ASSIGN_OR_RETURN(Address a, Address::Parse(address));
  return RedisClient::Connect(a.host, a.port);
}

Result<std::string> ProxyHarness::OwnerOf(int slot) {
  // Any node that answers: a test may have killed some.
  Result<Reply> answer = Status::Unavailable("no node answered CLUSTER SLOTS");
  for (const std::string& address : cluster_->Addresses()) {
    auto c = ConnectNode(address);
    if (!c.ok()) continue;
    answer = c->Command("CLUSTER", "SLOTS");
    if (answer.ok() && !answer->is_error()) break;
  }
  RS_ASSIGN_OR_RETURN(Reply r, std::move(answer));
  for (const Reply& range : r.elements) {
    if (range.elements.size() >= 3 && range.elements[0].integer <= slot &&
        slot <= range.elements[1].integer) {
      return range.elements[2].elements[0].str + ":" +
             std::to_string(range.elements[2].elements[1].integer);
    }
  }
  return Status::NotFound("slot " + std::to_string(slot) + " has no owner");
}

std::string RawExchange(uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout,
                        bool* closed) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  std::string out;
  if (closed) *closed = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      if (closed) *closed = true;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

namespace {

Result<std::string> NodeId(ProxyHarness& h, const std::string& address) {
  RS_ASSIGN_OR_RETURN(RedisClient c, h.ConnectNode(address));
  return c.CommandString("CLUSTER", "MYID");
}

Status Expect(Result<Reply> r, const std::string& what) {
  if (!r.ok()) return r.status().WithContext(what);
  if (r->is_error()) return Status::Internal(what + ": " + r->str);
  return Status::Ok();
}

}  // namespace

Status MigrateSlot(ProxyHarness& h, int slot, const std::string& from, const std::string& to,
                   const std::function<void()>& between) {
  RS_ASSIGN_OR_RETURN(std::string from_id, NodeId(h, from));
  RS_ASSIGN_OR_RETURN(std::string to_id, NodeId(h, to));
  RS_ASSIGN_OR_RETURN(RedisClient src, h.ConnectNode(from));
  RS_ASSIGN_OR_RETURN(RedisClient dst, h.ConnectNode(to));
  RS_ASSIGN_OR_RETURN(Address to_addr, Address::Parse(to));
  std::string s = std::to_string(slot);
  RS_RETURN_IF_ERROR(
      Expect(dst.Command("CLUSTER", "SETSLOT", s, "IMPORTING", from_id), "importing"));
  RS_RETURN_IF_ERROR(Expect(src.Command("CLUSTER", "SETSLOT", s, "MIGRATING", to_id), "migrating"));
  if (between) between();
  while (true) {
    RS_ASSIGN_OR_RETURN(Reply keys, src.Command("CLUSTER", "GETKEYSINSLOT", s, "100"));
    if (keys.elements.empty()) break;
    std::vector<std::string> argv = {"MIGRATE", to_addr.host, std::to_string(to_addr.port), "", "0",
                                     "5000",    "KEYS"};
    for (const Reply& k : keys.elements) argv.push_back(k.str);
    RS_RETURN_IF_ERROR(Expect(src.Command(argv), "migrate"));
  }
  RS_RETURN_IF_ERROR(Expect(dst.Command("CLUSTER", "SETSLOT", s, "NODE", to_id), "node on target"));
  RS_RETURN_IF_ERROR(Expect(src.Command("CLUSTER", "SETSLOT", s, "NODE", to_id), "node on source"));
  for (const std::string& addr : h.cluster().Addresses()) {
    if (addr == from || addr == to) continue;
    auto c = h.ConnectNode(addr);
    if (!c.ok()) continue;
    (void)c->Command("CLUSTER", "SETSLOT", s, "NODE", to_id);  // replicas refuse; harmless
  }
  return Status::Ok();
}

}  // namespace rs::test
