#include "proxy/topology_source.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <uv.h>

#include <algorithm>
#include <map>
#include <chrono>

#include "common/address.h"
#include "discovery/lainlet_source.h"
#include "proxy/proxy.h"

namespace rs::proxy {

// The lainlet watch and the loop it runs on (its own thread; `stop` wakes the loop to close).
struct LainletFollower {
  uv_loop_t loop;
  uv_async_t stop;
  std::unique_ptr<discovery::LainletSource> source;
};
namespace {

using Clock = std::chrono::steady_clock;

// A suspect master is asked about again this often while it stays one, and forgotten this long
// after its last failure (a dead master with no traffic reports nothing).
constexpr auto kSuspectRecheck = std::chrono::milliseconds(500);
constexpr auto kSuspectFor = std::chrono::seconds(60);

Result<RoutingTable> ParseClusterSlots(const redisReply* r, const std::string& asked_host) {
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY) {
    return Status::Corruption("CLUSTER SLOTS: not an array");
  }
  RoutingTable table;
  table.source = "cluster-slots";
  for (size_t i = 0; i < r->elements; ++i) {
    const redisReply* e = r->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
        e->element[0]->type != REDIS_REPLY_INTEGER || e->element[1]->type != REDIS_REPLY_INTEGER) {
      return Status::Corruption("CLUSTER SLOTS: bad range entry");
    }
    long long first = e->element[0]->integer, last = e->element[1]->integer;
    if (first < 0 || last >= kSlotCount || first > last) {
      return Status::Corruption("CLUSTER SLOTS: slot out of range");
    }
    std::string addrs[2];
    int16_t master = -1;
    for (size_t n = 2; n < e->elements; ++n) {
      const redisReply* node = e->element[n];
      if (node->type != REDIS_REPLY_ARRAY || node->elements < 2 ||
          node->element[0]->type != REDIS_REPLY_STRING ||
          node->element[1]->type != REDIS_REPLY_INTEGER) {
        return Status::Corruption("CLUSTER SLOTS: bad node entry");
      }
      std::string host(node->element[0]->str, node->element[0]->len);
      if (host.empty() || host == "?") host = asked_host;  // "" means the node answering
      std::string address =
          Address{host, static_cast<uint16_t>(node->element[1]->integer)}.ToString();
      if (n == 2) {
        master = table.AddMaster(address);
      } else {
        auto& reps = table.replicas[master];
        if (std::find(reps.begin(), reps.end(), address) == reps.end()) reps.push_back(address);
      }
    }
    for (long long s = first; s <= last; ++s) table.owner[s] = master;
  }
  return table;
}

// Adds the replicas CLUSTER NODES lists (healthy ones: not failed, with an address) to `table`.
// CLUSTER SLOTS leaves out a replica whose replication offset is still 0 (a cluster nobody has
// written to yet), but CONFIG SET must reach it all the same.
void AddReplicasFromClusterNodes(std::string_view nodes, const std::string& asked_host,
                                 RoutingTable* table) {
  // First pass: master ids -> index in table->masters (by address).
  std::map<std::string, int16_t, std::less<>> master_index;
  std::vector<std::vector<std::string_view>> lines;
  size_t pos = 0;
  while (pos < nodes.size()) {
    size_t eol = nodes.find('\n', pos);
    std::string_view line = nodes.substr(pos, eol == std::string_view::npos ? nodes.npos : eol - pos);
    pos = eol == std::string_view::npos ? nodes.size() : eol + 1;
    std::vector<std::string_view> f;
    size_t s = 0;
    while (s < line.size() && f.size() < 4) {
      size_t sp = line.find(' ', s);
      f.push_back(line.substr(s, sp == std::string_view::npos ? line.npos : sp - s));
      s = sp == std::string_view::npos ? line.size() : sp + 1;
    }
    if (f.size() == 4) lines.push_back(std::move(f));
  }
  auto address_of = [&asked_host](std::string_view field) -> std::string {
    // "ip:port@cport[,hostname]"
    std::string_view a = field.substr(0, field.find('@'));
    size_t colon = a.rfind(':');
    if (colon == std::string_view::npos) return "";
    std::string host(a.substr(0, colon));
    if (host.empty()) host = asked_host;
    return host + std::string(a.substr(colon));
  };
  for (const auto& f : lines) {
    std::string addr = address_of(f[1]);
    for (size_t i = 0; i < table->masters.size(); ++i) {
      if (table->masters[i] == addr) master_index[std::string(f[0])] = static_cast<int16_t>(i);
    }
  }
  for (const auto& f : lines) {
    std::string_view flags = f[2];
    if (flags.find("slave") == std::string_view::npos) continue;
    if (flags.find("fail") != std::string_view::npos ||
        flags.find("noaddr") != std::string_view::npos ||
        flags.find("handshake") != std::string_view::npos) {
      continue;
    }
    auto it = master_index.find(f[3]);
    if (it == master_index.end()) continue;
    std::string addr = address_of(f[1]);
    auto& reps = table->replicas[static_cast<size_t>(it->second)];
    if (!addr.empty() && std::find(reps.begin(), reps.end(), addr) == reps.end()) {
      reps.push_back(addr);
    }
  }
}

bool SameRouting(const RoutingTable& a, const RoutingTable& b) {
  // Replicas matter too: CONFIG SET reaches them, and --read-from reads from them.
  if (a.masters != b.masters || a.replicas != b.replicas) {
    // The same owners under another master order are still a change worth publishing.
    if (a.masters.size() != b.masters.size() || a.replicas.size() != b.replicas.size()) return false;
    for (size_t i = 0; i < a.masters.size(); ++i) {
      auto it = std::find(b.masters.begin(), b.masters.end(), a.masters[i]);
      if (it == b.masters.end()) return false;
      if (a.replicas[i] != b.replicas[static_cast<size_t>(it - b.masters.begin())]) return false;
    }
  }
  for (int s = 0; s < kSlotCount; ++s) {
    const std::string* x = a.OwnerOf(s);
    const std::string* y = b.OwnerOf(s);
    if ((x == nullptr) != (y == nullptr)) return false;
    if (x && *x != *y) return false;
  }
  return true;
}

}  // namespace

std::set<std::string> HealthyReplicas(std::string_view master_host, std::string_view info,
                                      int max_lag_seconds) {
  std::set<std::string> out;
  size_t pos = 0;
  while (pos < info.size()) {
    size_t eol = info.find('\n', pos);
    std::string_view line = info.substr(pos, eol == std::string_view::npos ? info.npos : eol - pos);
    pos = eol == std::string_view::npos ? info.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // slave0:ip=127.0.0.1,port=7004,state=online,offset=123,lag=0
    if (line.substr(0, 5) != "slave" || line.find(':') == std::string_view::npos) continue;
    std::string_view fields = line.substr(line.find(':') + 1);
    std::string ip, port, state;
    int64_t lag = -1;
    while (!fields.empty()) {
      size_t comma = fields.find(',');
      std::string_view kv = fields.substr(0, comma);
      fields = comma == std::string_view::npos ? std::string_view() : fields.substr(comma + 1);
      size_t eq = kv.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view k = kv.substr(0, eq), v = kv.substr(eq + 1);
      if (k == "ip") ip = v;
      if (k == "port") port = v;
      if (k == "state") state = v;
      if (k == "lag") lag = std::atoll(std::string(v).c_str());
    }
    if (ip.empty() || ip == "?") ip = master_host;
    if (state == "online" && lag >= 0 && lag <= max_lag_seconds && !port.empty()) {
      out.insert(ip + ":" + port);
    }
  }
  return out;
}

std::vector<std::string> AskingOrder(const std::vector<std::string>& candidates,
                                     const std::string& answered_last,
                                     const std::set<std::string>& failing) {
  std::vector<std::string> first, rest, last;
  std::set<std::string> seen;
  for (const std::string& a : candidates) {
    if (!seen.insert(a).second) continue;
    if (a == answered_last) {
      first.push_back(a);
    } else if (failing.contains(a)) {
      last.push_back(a);
    } else {
      rest.push_back(a);
    }
  }
  first.insert(first.end(), rest.begin(), rest.end());
  first.insert(first.end(), last.begin(), last.end());
  return first;
}

TopologyChange ClassifyTopology(std::string_view taken_generation, uint64_t taken_epoch,
                                const RoutingTable& table) {
  if (table.generation != taken_generation) return TopologyChange::kNewHistory;
  return table.epoch > taken_epoch ? TopologyChange::kNewer : TopologyChange::kStale;
}

RoutingTablePtr WithFailedOverSlots(const RoutingTable& current, const RoutingTable& observed,
                                    const std::set<std::string>& suspects, int* moved) {
  std::shared_ptr<RoutingTable> out;
  int count = 0;
  for (int s = 0; s < kSlotCount; ++s) {
    const std::string* was = current.OwnerOf(s);
    if (was == nullptr || !suspects.contains(*was)) continue;
    const std::string* now = observed.OwnerOf(s);
    // Unassigned in the nodes' view: routing there or to the suspect fails alike; keep it.
    if (now == nullptr || *now == *was) continue;
    if (!out) out = std::make_shared<RoutingTable>(current);
    const int16_t before = static_cast<int16_t>(out->masters.size());
    const int16_t index = out->AddMaster(*now);
    if (index == before) {
      // A master the table did not know (a promoted replica): with the replicas the nodes list.
      const auto it = std::find(observed.masters.begin(), observed.masters.end(), *now);
      out->replicas[index] = observed.replicas[static_cast<size_t>(it - observed.masters.begin())];
      if (!out->replica_healthy.empty()) {
        out->replica_healthy.resize(out->masters.size());
        out->replica_healthy[index].assign(out->replicas[index].size(), false);
      }
    }
    out->owner[s] = index;
    ++count;
  }
  if (moved != nullptr) *moved = count;
  return out;
}

Result<RoutingTable> FetchClusterSlots(const std::vector<std::string>& addresses,
                                       const ProxyConfig& config, AskOutcome* outcome) {
  AskOutcome scratch;
  AskOutcome& out = outcome ? *outcome : scratch;
  out = AskOutcome{};
  Status last = Status::Unavailable("no node address to ask for CLUSTER SLOTS");
  for (const std::string& text : addresses) {
    // Every path that does not return a table below counts the node as failed.
    out.failed.push_back(text);
    auto addr = Address::Parse(text);
    if (!addr.ok()) {
      last = addr.status();
      continue;
    }
    timeval tv{config.connect_timeout_ms / 1000, (config.connect_timeout_ms % 1000) * 1000};
    redisContext* ctx = redisConnectWithTimeout(addr->host.c_str(), addr->port, tv);
    if (ctx == nullptr || ctx->err) {
      last = Status::Unavailable(text + ": " + (ctx ? ctx->errstr : "out of memory"));
      if (ctx) redisFree(ctx);
      continue;
    }
    redisSetTimeout(ctx, tv);
    bool ok = true;
    if (!config.backend_password.empty()) {
      auto* auth = static_cast<redisReply*>(
          config.backend_user.empty()
              ? redisCommand(ctx, "AUTH %s", config.backend_password.c_str())
              : redisCommand(ctx, "AUTH %s %s", config.backend_user.c_str(),
                             config.backend_password.c_str()));
      ok = auth != nullptr && auth->type != REDIS_REPLY_ERROR;
      if (!ok) last = Status::Unavailable(text + ": AUTH failed");
      if (auth) freeReplyObject(auth);
    }
    if (ok) {
      auto* reply = static_cast<redisReply*>(redisCommand(ctx, "CLUSTER SLOTS"));
      if (reply == nullptr) {
        last = Status::Unavailable(text + ": " + ctx->errstr);
      } else if (reply->type == REDIS_REPLY_ERROR) {
        last = Status::Unavailable(text + ": " + std::string(reply->str, reply->len));
      } else {
        auto table = ParseClusterSlots(reply, addr->host);
        freeReplyObject(reply);
        if (table.ok()) {
          auto* nodes = static_cast<redisReply*>(redisCommand(ctx, "CLUSTER NODES"));
          if (nodes != nullptr && nodes->type == REDIS_REPLY_STRING) {
            AddReplicasFromClusterNodes(std::string_view(nodes->str, nodes->len), addr->host,
                                        &table.value());
          }
          if (nodes) freeReplyObject(nodes);
        }
        redisFree(ctx);
        if (table.ok() && table->AssignedSlots() == 0) {
          last = Status::Unavailable(text + ": no slots assigned");
          continue;
        }
        if (!table.ok()) {
          last = table.status().WithContext(text);
          continue;
        }
        out.failed.pop_back();
        out.answered = text;
        return table;
      }
      if (reply) freeReplyObject(reply);
    }
    redisFree(ctx);
  }
  return last;
}

TopologySource::TopologySource(Proxy* proxy, const ProxyConfig& config)
    : proxy_(proxy), config_(config) {
  if (!config_.lainlet_host.empty()) {
    lainlet_ = std::make_unique<LainletFollower>();
    uv_loop_init(&lainlet_->loop);
    uv_async_init(&lainlet_->loop, &lainlet_->stop, [](uv_async_t* a) {
      static_cast<LainletFollower*>(a->data)->source->Stop();
      uv_close(reinterpret_cast<uv_handle_t*>(a), nullptr);
    });
    lainlet_->stop.data = lainlet_.get();
    discovery::LainletOptions o;
    o.host = config_.lainlet_host;
    o.port = config_.lainlet_port;
    o.appname = config_.appname;
    o.proc_name = config_.redis_proc;
    lainlet_->source = std::make_unique<discovery::LainletSource>(
        &lainlet_->loop, std::move(o), [this](std::vector<model::Member> members) {
          std::vector<std::string> nodes;
          for (auto& m : members) nodes.push_back(std::move(m.address));
          OnDiscovered(std::move(nodes));
        });
  }
}

TopologySource::~TopologySource() { Stop(); }

void TopologySource::Start() {
  if (lainlet_) discovery_thread_ = std::thread([this] { RunDiscovery(); });
  if (!config_.controller.empty()) {
    http_ = std::make_unique<httplib::Client>(config_.controller);
    http_->set_connection_timeout(std::chrono::milliseconds(config_.connect_timeout_ms));
    http_->set_read_timeout(std::chrono::seconds(config_.topology_wait_seconds + 5));
    controller_thread_ = std::thread([this] { RunController(); });
  }
  slots_thread_ = std::thread([this] { RunSlots(); });
  if (config_.read_from != "master") health_thread_ = std::thread([this] { RunReplicaHealth(); });
}

void TopologySource::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (http_) http_->stop();
  if (controller_thread_.joinable()) controller_thread_.join();
  if (slots_thread_.joinable()) slots_thread_.join();
  if (health_thread_.joinable()) health_thread_.join();
  if (discovery_thread_.joinable()) {
    uv_async_send(&lainlet_->stop);
    discovery_thread_.join();
  } else if (lainlet_) {  // Never started: close the loop here.
    uv_close(reinterpret_cast<uv_handle_t*>(&lainlet_->stop), nullptr);
    uv_run(&lainlet_->loop, UV_RUN_DEFAULT);
    uv_loop_close(&lainlet_->loop);
  }
}

void TopologySource::RunDiscovery() {
  Status s = lainlet_->source->Start();
  if (!s.ok()) spdlog::error("lainlet discovery: {}", s.ToString());
  // Returns once Stop() closed the async handle and the source closed its own.
  uv_run(&lainlet_->loop, UV_RUN_DEFAULT);
  uv_loop_close(&lainlet_->loop);
}

void TopologySource::OnDiscovered(std::vector<std::string> nodes) {
  std::sort(nodes.begin(), nodes.end());
  std::lock_guard<std::mutex> lock(mu_);
  ++discovery_snapshots_;
  if (nodes.empty()) {
    // lainlet answers [] for a while after its daily restart (lainlet-api.md 4.2): not a reason
    // to forget where the cluster is.
    if (!discovered_.empty()) {
      spdlog::warn("lainlet lists no '{}' pods for {}; keeping the {} node(s) it listed before",
                   config_.redis_proc, config_.appname, discovered_.size());
    }
    return;
  }
  if (nodes == discovered_) return;
  spdlog::info("lainlet: {} '{}' node(s) for {}: {}", nodes.size(), config_.redis_proc,
               config_.appname, fmt::join(nodes, ","));
  discovered_ = std::move(nodes);
  refresh_ = true;
  cv_.notify_all();
}

std::vector<std::string> TopologySource::discovered_nodes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return discovered_;
}

std::string TopologySource::DiscoveryInfo() const {
  if (!lainlet_) return "";
  std::lock_guard<std::mutex> lock(mu_);
  return fmt::format(
      "topology_discovery:{}\r\ntopology_discovered_nodes:{}\r\n"
      "topology_discovery_snapshots:{}\r\n",
      lainlet_->source->Describe(), discovered_.size(), discovery_snapshots_);
}

void TopologySource::RequestRefresh() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (refresh_) return;
    refresh_ = true;
  }
  cv_.notify_all();
}

void TopologySource::ReportBackendFailure(const std::string& address) {
  RoutingTablePtr t = proxy_->latest_table();
  const bool master = t && std::find(t->masters.begin(), t->masters.end(), address) != t->masters.end();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (master) suspects_[address] = Clock::now();
    refresh_ = true;
  }
  cv_.notify_all();
}

void TopologySource::RunController() {
  bool logged_down = false;
  // The history and epoch of the last table taken: the long-poll asks for what follows them.
  std::string generation;
  uint64_t epoch = 0;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
    }
    std::string path = fmt::format("/v1/topology?after={}&wait={}", epoch,
                                   epoch == 0 ? 0 : config_.topology_wait_seconds);
    if (!generation.empty()) path += "&generation=" + generation;
    auto res = http_->Get(path);
    bool failed = false;
    bool pause = false;
    if (!res) {
      failed = true;
      if (!logged_down) {
        spdlog::warn("controller {}: {}; following CLUSTER SLOTS from the nodes meanwhile",
                     config_.controller, httplib::to_string(res.error()));
      }
    } else if (res->status == 304) {
      // Nothing new. The proxy keeps watching its backends all the same (ReportBackendFailure):
      // a controller that lost its history may answer this for ever.
      controller_ok_ = true;
      logged_down = false;
    } else if (res->status != 200) {
      failed = true;
      if (!logged_down) spdlog::warn("controller {}: HTTP {}", config_.controller, res->status);
    } else {
      auto table = RoutingTable::FromTopologyJson(res->body);
      if (!table.ok()) {
        failed = true;
        spdlog::warn("controller {}: {}", config_.controller, table.status().ToString());
      } else {
        controller_ok_ = true;
        logged_down = false;
        switch (ClassifyTopology(generation, epoch, *table)) {
          case TopologyChange::kNewHistory:
            if (epoch != 0 || !generation.empty()) {
              spdlog::warn(
                  "controller {}: its history restarted (generation {} -> {}, epoch {} -> {}); "
                  "following the new one",
                  config_.controller, generation.empty() ? "none" : generation,
                  table->generation.empty() ? "none" : table->generation, epoch, table->epoch);
            }
            [[fallthrough]];
          case TopologyChange::kNewer:
            generation = table->generation;
            epoch = table->epoch;
            proxy_->PublishTable(std::make_shared<const RoutingTable>(std::move(table).value()));
            break;
          case TopologyChange::kStale:
            // Answered at once with nothing new, a poll would follow at once: pace it.
            pause = true;
            break;
        }
      }
    }
    if (failed) {
      controller_ok_ = false;
      logged_down = true;
      RequestRefresh();
    }
    if (failed || pause) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, failed ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(200),
                   [this] { return stop_; });
    }
  }
}

void TopologySource::RunReplicaHealth() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
      if (stop_) return;
    }
    RoutingTablePtr t = proxy_->latest_table();
    if (!t) continue;
    std::set<std::string> healthy;
    for (const std::string& m : t->masters) {
      auto addr = Address::Parse(m);
      if (!addr.ok()) continue;
      timeval tv{config_.connect_timeout_ms / 1000, (config_.connect_timeout_ms % 1000) * 1000};
      redisContext* ctx = redisConnectWithTimeout(addr->host.c_str(), addr->port, tv);
      if (ctx == nullptr || ctx->err) {
        if (ctx) redisFree(ctx);
        continue;  // its replicas count as unhealthy until it answers again
      }
      redisSetTimeout(ctx, tv);
      bool ok = true;
      if (!config_.backend_password.empty()) {
        auto* auth = static_cast<redisReply*>(
            config_.backend_user.empty()
                ? redisCommand(ctx, "AUTH %s", config_.backend_password.c_str())
                : redisCommand(ctx, "AUTH %s %s", config_.backend_user.c_str(),
                               config_.backend_password.c_str()));
        ok = auth != nullptr && auth->type != REDIS_REPLY_ERROR;
        if (auth) freeReplyObject(auth);
      }
      auto* reply = ok ? static_cast<redisReply*>(redisCommand(ctx, "INFO replication")) : nullptr;
      if (reply != nullptr && reply->type == REDIS_REPLY_STRING) {
        for (const std::string& r : HealthyReplicas(addr->host, std::string_view(reply->str, reply->len),
                                                    config_.replica_max_lag_s)) {
          healthy.insert(r);
        }
      }
      if (reply) freeReplyObject(reply);
      redisFree(ctx);
    }
    proxy_->SetHealthyReplicas(std::move(healthy));
  }
}

void TopologySource::RunSlots() {
  const bool have_controller = !config_.controller.empty();
  // Far enough back that the first fetch is not rate limited (min() would overflow the
  // subtraction).
  Clock::time_point last_fetch = Clock::now() - std::chrono::hours(1);
  bool first = true;
  std::string answered_last;      // The node whose CLUSTER SLOTS made the last table.
  std::set<std::string> failing;  // Nodes that failed when last asked and have not answered since.
  while (true) {
    std::set<std::string> suspects;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!first) {
        auto wait = std::chrono::milliseconds(config_.refresh_interval_ms);
        if (!suspects_.empty()) wait = std::min<std::chrono::milliseconds>(wait, kSuspectRecheck);
        cv_.wait_for(lock, wait, [this] { return stop_ || refresh_; });
      }
      if (stop_) return;
      refresh_ = false;
    }
    first = false;
    // Rate limit: MOVED storms during a reshard, and every request failing on a dead node, make
    // one fetch per 200 ms at most.
    auto since = Clock::now() - last_fetch;
    if (since < std::chrono::milliseconds(200)) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200) - since, [this] { return stop_; });
      if (stop_) return;
    }
    last_fetch = Clock::now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      std::erase_if(suspects_, [now = last_fetch](const auto& s) { return now - s.second > kSuspectFor; });
      for (const auto& [address, when] : suspects_) suspects.insert(address);
    }
    // The controller's committed topology wins while it answers; MOVED patches cover the gaps,
    // and a master that failed is asked about (a dead master sends no MOVED).
    const bool following = have_controller && controller_ok_;
    if (following && suspects.empty()) continue;
    // What lainlet lists now first, then the fixed seeds, then the nodes of the last table.
    std::vector<std::string> ask = discovered_nodes();
    ask.insert(ask.end(), config_.seeds.begin(), config_.seeds.end());
    if (RoutingTablePtr t = proxy_->latest_table()) {
      for (const auto& m : t->masters) ask.push_back(m);
      for (const auto& reps : t->replicas) {
        for (const auto& r : reps) ask.push_back(r);
      }
    }
    if (ask.empty()) continue;
    // Suspects last: a dead host costs a connect timeout, a stopped one a read timeout.
    std::set<std::string> last = failing;
    last.insert(suspects.begin(), suspects.end());
    ask = AskingOrder(ask, suspects.contains(answered_last) ? "" : answered_last, last);
    AskOutcome outcome;
    auto table = FetchClusterSlots(ask, config_, &outcome);
    failing.insert(outcome.failed.begin(), outcome.failed.end());
    if (!outcome.answered.empty()) {
      answered_last = outcome.answered;
      failing.erase(outcome.answered);
      std::lock_guard<std::mutex> lock(mu_);
      suspects_.erase(outcome.answered);  // it answers: alive after all
    }
    // Forget the failures of nodes no longer asked about (gone from lainlet and the table).
    std::erase_if(failing, [&ask](const std::string& a) {
      return std::find(ask.begin(), ask.end(), a) == ask.end();
    });
    if (!table.ok()) {
      spdlog::warn("CLUSTER SLOTS refresh failed: {}", table.status().ToString());
      continue;
    }
    if (have_controller && controller_ok_) {
      FollowFailover(*table, outcome.answered, suspects);
      continue;
    }
    RoutingTablePtr latest = proxy_->latest_table();
    if (latest && latest->source == "cluster-slots" && SameRouting(*latest, *table)) continue;
    proxy_->PublishTable(std::make_shared<const RoutingTable>(std::move(table).value()));
  }
}

void TopologySource::FollowFailover(const RoutingTable& observed, const std::string& answered,
                                    const std::set<std::string>& suspects) {
  RoutingTablePtr latest = proxy_->latest_table();
  if (!latest) return;
  int moved = 0;
  auto patched = WithFailedOverSlots(*latest, observed, suspects, &moved);
  // No other owner yet (the nodes have not failed it over): asked again while it is a suspect.
  if (patched == nullptr) return;
  auto table = std::const_pointer_cast<RoutingTable>(patched);
  table->source = "failover";
  if (!proxy_->PublishTableOver(*latest, table)) return;  // the controller was faster
  std::set<std::string> gone;  // suspects left without a slot
  for (const std::string& s : suspects) {
    bool owns = false;
    for (int slot = 0; slot < kSlotCount && !owns; ++slot) {
      const std::string* o = table->OwnerOf(slot);
      owns = o != nullptr && *o == s;
    }
    if (!owns) gone.insert(s);
  }
  spdlog::warn(
      "{} slot(s) of failed master(s) {} now served by another node according to {}; routing "
      "them there until the controller's next table (epoch {} stays)",
      moved, fmt::join(suspects, ","), answered, table->epoch);
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& s : gone) suspects_.erase(s);
}

}  // namespace rs::proxy
