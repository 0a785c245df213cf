#include "proxy_fixture.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "common/address.h"
#include "common/slot.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"
#include "support/test_status.h"

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

std::vector<std::string> ProxyHarness::Masters() {
  std::vector<std::string> out;
  for (const std::string& a : cluster_->Addresses()) {
    auto c = ConnectNode(a);
    if (!c.ok()) continue;
    auto role = c->Command("ROLE");
    if (role.ok() && !role->elements.empty() && role->elements[0].str == "master") {
      out.push_back(a);
    }
  }
  return out;
}

std::vector<std::string> ProxyHarness::KeyPerMaster(const std::string& prefix) {
  std::map<std::string, std::string> by_owner;
  for (int i = 0; by_owner.size() < 3 && i < 1000; ++i) {
    std::string k = prefix + std::to_string(i);
    auto owner = OwnerOf(KeySlot(k));
    if (owner.ok() && !by_owner.count(*owner)) by_owner[*owner] = k;
  }
  std::vector<std::string> out;
  for (auto& [o, k] : by_owner) out.push_back(k);
  return out;
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

void ExpectPythonScriptPasses(std::string_view script, uint16_t port, std::string_view ok_line,
                              std::chrono::seconds timeout) {
  RS_ASSERT_OK_AND_ASSIGN(TempDir dir, TempDir::Create("proxy-py"));
  auto path = dir.path() / "client.py";
  std::ofstream(path) << script;
  auto out = dir.path() / "py.txt";
  std::string python;
  for (const char* candidate : {"/usr/bin/python3", "python3"}) {
    auto probe = RunCommand({candidate, "-c", "import redis"}, out, std::chrono::seconds(10));
    if (probe.ok() && *probe == 0) {
      python = candidate;
      break;
    }
  }
  ASSERT_FALSE(python.empty()) << "no python3 with python3-redis (scripts/setup.sh installs it)";
  RS_ASSERT_OK_AND_ASSIGN(int rc,
                          RunCommand({python, path.string(), std::to_string(port)}, out, timeout));
  EXPECT_EQ(rc, 0) << TailOfFile(out, 40);
  EXPECT_NE(TailOfFile(out, 3).find(ok_line), std::string::npos) << TailOfFile(out, 40);
}

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

Result<Migrator> Migrator::Create(ProxyHarness& h, const std::vector<std::string>& masters) {
  Migrator m;
  for (const auto& a : masters) {
    RS_ASSIGN_OR_RETURN(RedisClient c, h.ConnectNode(a));
    RS_ASSIGN_OR_RETURN(std::string id, c.CommandString("CLUSTER", "MYID"));
    m.ids_.push_back(id);
    m.clients_.push_back(std::move(c));
    m.addrs_.push_back(a);
  }
  return m;
}

Status Migrator::Move(int slot, size_t from, size_t to) {
  std::string s = std::to_string(slot);
  RS_RETURN_IF_ERROR(
      Expect(clients_[to].Command("CLUSTER", "SETSLOT", s, "IMPORTING", ids_[from]), "importing"));
  RS_RETURN_IF_ERROR(
      Expect(clients_[from].Command("CLUSTER", "SETSLOT", s, "MIGRATING", ids_[to]), "migrating"));
  RS_ASSIGN_OR_RETURN(Address dst, Address::Parse(addrs_[to]));
  while (true) {
    RS_ASSIGN_OR_RETURN(Reply keys, clients_[from].Command("CLUSTER", "GETKEYSINSLOT", s, "200"));
    if (keys.elements.empty()) break;
    std::vector<std::string> argv = {"MIGRATE", dst.host, std::to_string(dst.port), "", "0",
                                     "5000",    "KEYS"};
    for (const Reply& k : keys.elements) argv.push_back(k.str);
    RS_RETURN_IF_ERROR(Expect(clients_[from].Command(argv), "migrate"));
  }
  RS_RETURN_IF_ERROR(
      Expect(clients_[to].Command("CLUSTER", "SETSLOT", s, "NODE", ids_[to]), "node on target"));
  RS_RETURN_IF_ERROR(
      Expect(clients_[from].Command("CLUSTER", "SETSLOT", s, "NODE", ids_[to]), "node on source"));
  for (size_t i = 0; i < clients_.size(); ++i) {
    if (i != from && i != to) {
      RS_RETURN_IF_ERROR(
          Expect(clients_[i].Command("CLUSTER", "SETSLOT", s, "NODE", ids_[to]), "node"));
    }
  }
  return Status::Ok();
}

}  // namespace rs::test
