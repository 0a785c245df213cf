#include "support/controller_fixture.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "common/slot.h"
#include "support/free_port.h"
#include "support/redis_client.h"
#include "support/subprocess.h"

namespace rs::test {

std::string RedisCtlBinary() { return RS_REDIS_CTL_BINARY; }
std::string RedisCtlCrashBinary() { return RS_REDIS_CTL_CRASH_BINARY; }
std::string RedisSvcBinary() { return RS_REDIS_SVC_BINARY; }

void ControllerFixture::StartNodes(int nodes, int node_timeout_ms, bool redis_default_replication) {
  auto d = TempDir::Create("rs-ctl-test");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  dir_.emplace(std::move(*d));
  members_file_ = (dir_->path() / "members.txt").string();
  data_dir_ = (dir_->path() / "data").string();
  ctl_log_ = (dir_->path() / "redis-ctl.log").string();
  LocalClusterOptions o;
  o.masters = nodes;
  o.replicas_per_master = 0;
  o.hosts = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};
  o.cluster_node_timeout_ms = node_timeout_ms;
  if (!redis_default_replication) o.extra_config = {"repl-diskless-sync-delay 0"};
  cluster_ = std::make_unique<LocalCluster>(o);
  auto s = cluster_->StartNodes();
  ASSERT_TRUE(s.ok()) << s.ToString();
}

void ControllerFixture::SetMembers(const std::vector<size_t>& indices) {
  // Written to a temp file and renamed, as an editor would, so the watcher never sees half a file.
  std::string tmp = members_file_ + ".tmp";
  {
    std::ofstream out(tmp);
    for (size_t i : indices) {
      out << cluster_->node(i).address() << " host-" << cluster_->node(i).host() << "\n";
    }
  }
  std::filesystem::rename(tmp, members_file_);
}

void ControllerFixture::StartController(std::vector<std::string> extra,
                                        std::map<std::string, std::string> env,
                                        std::string binary) {
  const std::string port_file = (dir_->path() / "admin-port").string();
  if (listen_any_port_) {
    std::filesystem::remove(port_file);
    admin_port_ = 0;
  } else if (admin_port_ == 0) {
    auto p = FindFreePort("127.0.0.1", false);
    ASSERT_TRUE(p.ok());
    admin_port_ = *p;
  }
  std::vector<std::string> argv;
  // Environment for the child through env(1), so the test's own environment is untouched.
  argv.push_back("env");
  for (const auto& [k, v] : env) argv.push_back(k + "=" + v);
  argv.push_back(binary.empty() ? RedisCtlBinary() : binary);
  std::vector<std::string> flags = {"--data-dir",
                                    data_dir_,
                                    "--discovery",
                                    discovery_.empty() ? "file:" + members_file_ : discovery_,
                                    "--listen",
                                    "127.0.0.1:" + std::to_string(admin_port_),  // 0: any.
                                    "--probe-interval-ms",
                                    "200",
                                    "--probe-timeout-ms",
                                    "500",
                                    "--removal-grace-ms",
                                    "1000",
                                    "--mass-removal-grace-ms",
                                    "3000"};
  if (listen_any_port_) flags.insert(flags.end(), {"--admin-port-file", port_file});
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto pid = Spawn(argv, ctl_log_);
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  ctl_pid_ = *pid;
  if (listen_any_port_) {
    bool written = WaitFor(std::chrono::seconds(20), [&] {
      std::ifstream in(port_file);
      int port = 0;
      if (!(in >> port) || port <= 0 || port > 65535) return false;
      admin_port_ = static_cast<uint16_t>(port);
      return true;
    });
    ASSERT_TRUE(written) << "no --admin-port-file after 20 s\n" << ControllerLog();
  }
}

int ControllerFixture::StopController() {
  if (ctl_pid_ < 0) return -1;
  auto r = TerminateChild(ctl_pid_, SIGTERM, std::chrono::seconds(30));
  ctl_pid_ = -1;
  return r.ok() ? *r : -1;
}

void ControllerFixture::KillController() {
  if (ctl_pid_ < 0) return;
  (void)TerminateChild(ctl_pid_, SIGKILL, std::chrono::seconds(5));
  ctl_pid_ = -1;
}

bool ControllerFixture::ControllerRunning() {
  if (ctl_pid_ < 0) return false;
  if (ChildRunning(ctl_pid_)) return true;
  (void)TerminateChild(ctl_pid_, SIGKILL, std::chrono::milliseconds(10));  // Reap, unregister.
  ctl_pid_ = -1;
  return false;
}

std::string ControllerFixture::ControllerLog(size_t lines) { return TailOfFile(ctl_log_, lines); }

bool ControllerFixture::WaitFor(std::chrono::milliseconds timeout,
                                const std::function<bool()>& pred) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

std::vector<NodeLine> ControllerFixture::Nodes(size_t i) {
  std::vector<NodeLine> out;
  if (!cluster_->node(i).running()) return out;
  auto c = cluster_->node(i).Connect(std::chrono::seconds(2));
  if (!c.ok()) return out;
  auto text = c->CommandString("CLUSTER", "NODES");
  if (!text.ok()) return out;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    NodeLine n;
    std::string addr, flags, ping, pong, epoch, link, tok;
    f >> n.id >> addr >> flags >> n.master_id >> ping >> pong >> epoch >> link;
    n.address = addr.substr(0, addr.find('@'));
    n.master = flags.find("master") != std::string::npos;
    n.myself = flags.find("myself") != std::string::npos;
    n.fail = flags.find("fail") != std::string::npos;
    while (f >> tok) {
      if (tok[0] == '[') return {};  // An open slot: not converged; callers treat it as no view.
      auto dash = tok.find('-');
      n.slots += dash == std::string::npos ? 1 : std::stoi(tok.substr(dash + 1)) - std::stoi(tok) + 1;
    }
    out.push_back(n);
  }
  return out;
}

bool ControllerFixture::Converged(const std::vector<size_t>& members, int masters, int replicas) {
  for (size_t i : members) {
    auto c = cluster_->node(i).Connect(std::chrono::seconds(2));
    if (!c.ok()) return false;
    auto info = c->CommandString("CLUSTER", "INFO");
    if (!info.ok() || InfoField(*info, "cluster_state") != "ok" ||
        InfoField(*info, "cluster_slots_assigned") != "16384") {
      return false;
    }
    auto nodes = Nodes(i);
    if (nodes.empty()) return false;
    int m = 0, slots = 0;
    std::map<std::string, int> reps;
    for (const auto& n : nodes) {
      if (n.fail) return false;
      if (n.master && n.slots > 0) {
        ++m;
        slots += n.slots;
      }
      if (!n.master) reps[n.master_id]++;
    }
    if (m != masters || slots != 16384) return false;
    for (const auto& n : nodes) {
      if (n.master && n.slots > 0 && reps[n.id] < replicas) return false;
    }
  }
  return true;
}

std::map<std::string, int> ControllerFixture::SlotCounts(size_t i) {
  std::map<std::string, int> out;
  for (const auto& n : Nodes(i)) {
    if (n.master && n.slots > 0) out[n.address] = n.slots;
  }
  return out;
}

namespace {

// Follows MOVED/ASK, at most 5 hops.
Result<Reply> Route(LocalCluster& cluster, std::map<std::string, RedisClient>& conns,
                    std::string address, const std::vector<std::string>& cmd) {
  bool asking = false;
  for (int hop = 0; hop < 6; ++hop) {
    auto it = conns.find(address);
    if (it == conns.end()) {
      auto host = address.substr(0, address.rfind(':'));
      auto port = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
      auto c = RedisClient::Connect(host, port, std::chrono::seconds(5));
      if (!c.ok()) return c.status();
      it = conns.emplace(address, std::move(*c)).first;
    }
    if (asking) (void)it->second.Command("ASKING");
    auto r = it->second.Command(cmd);
    if (!r.ok()) {
      conns.erase(address);
      return r.status();
    }
    if (r->is_error() && (r->str.rfind("MOVED ", 0) == 0 || r->str.rfind("ASK ", 0) == 0)) {
      asking = r->str[0] == 'A';
      address = r->str.substr(r->str.rfind(' ') + 1);
      continue;
    }
    return r;
  }
  return Status::Unavailable("too many redirects");
}

}  // namespace

namespace {

// Slot -> "host:port" of its master, from the first running node's CLUSTER SLOTS that has any.
std::vector<std::string> OwnerMap(LocalCluster& cluster) {
  std::vector<std::string> owner(kSlotCount);
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (!cluster.node(i).running()) continue;
    auto c = cluster.node(i).Connect();
    if (!c.ok()) continue;
    auto slots = c->Command("CLUSTER", "SLOTS");
    // A node that was drained and reset serves no slots: ask the next.
    if (!slots.ok() || slots->is_error() || slots->elements.empty()) continue;
    for (const auto& r : slots->elements) {
      std::string addr = r.elements[2].elements[0].str + ":" +
                         std::to_string(r.elements[2].elements[1].integer);
      for (long long s = r.elements[0].integer; s <= r.elements[1].integer; ++s) owner[s] = addr;
    }
    break;
  }
  return owner;
}

// Runs make(k) for every k in 0..n-1, pipelined per slot owner; a reply that is an error is
// retried alone following redirects. check(k, reply) says whether the reply is right.
int RunKeyed(LocalCluster& cluster, int n, const std::string& prefix,
             const std::function<std::vector<std::string>(int)>& make,
             const std::function<bool(int, const Reply&)>& check) {
  auto owner = OwnerMap(cluster);
  std::map<std::string, std::vector<int>> by_owner;
  for (int k = 0; k < n; ++k) by_owner[owner[KeySlot(prefix + std::to_string(k))]].push_back(k);
  std::map<std::string, RedisClient> conns;
  int bad = 0;
  for (const auto& [addr, ks] : by_owner) {
    std::vector<int> retry;
    if (!addr.empty()) {
      auto host = addr.substr(0, addr.rfind(':'));
      auto port = static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
      auto c = RedisClient::Connect(host, port);
      if (c.ok()) {
        for (int k : ks) c->Append(make(k));
        for (int k : ks) {
          auto r = c->GetReply();
          if (!r.ok()) return n;  // The connection broke: count everything as bad.
          if (r->is_error()) {
            retry.push_back(k);
          } else if (!check(k, *r)) {
            ++bad;
          }
        }
      } else {
        retry = ks;
      }
    } else {
      retry = ks;
    }
    for (int k : retry) {
      auto r = Route(cluster, conns, addr.empty() ? cluster.node(0).address() : addr, make(k));
      if (!r.ok() || r->is_error() || !check(k, *r)) ++bad;
    }
  }
  return bad;
}

}  // namespace

bool ControllerFixture::WriteKeys(int n, const std::string& prefix) {
  return RunKeyed(
             *cluster_, n, prefix,
             [&](int k) {
               return std::vector<std::string>{"SET", prefix + std::to_string(k),
                                               "val:" + std::to_string(k)};
             },
             [](int, const Reply& r) { return r.str == "OK"; }) == 0;
}

int ControllerFixture::MissingKeys(int n, const std::string& prefix) {
  return RunKeyed(
      *cluster_, n, prefix,
      [&](int k) { return std::vector<std::string>{"GET", prefix + std::to_string(k)}; },
      [](int k, const Reply& r) { return r.str == "val:" + std::to_string(k); });
}

std::string ControllerFixture::HttpGet(const std::string& path) {
  httplib::Client cli("127.0.0.1", admin_port_);
  cli.set_read_timeout(5, 0);
  auto res = cli.Get(path.c_str());
  if (!res || res->status != 200) return "";
  return res->body;
}

void ControllerFixture::TearDown() {
  if (HasFailure() && ctl_pid_ >= 0) {
    std::fprintf(stderr, "---- redis-ctl log ----\n%s\n", ControllerLog(80).c_str());
  }
  KillController();
  if (cluster_) (void)cluster_->StopAll();
}

}  // namespace rs::test
