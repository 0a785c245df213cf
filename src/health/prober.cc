#include "health/prober.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include <fmt/format.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include "common/address.h"
#include "common/now.h"
#include "health/cluster_nodes_parser.h"
#include "health/hiredis_libuv.h"
#include "health/info_parser.h"

namespace rs::health {
namespace {

// The tick that starts rounds and enforces deadlines; bounds timing error to this much.
constexpr int64_t kTickMs = 50;
// How long a resolved host name is reused (pod IPs change on restart).
constexpr int64_t kResolveTtlMs = 30'000;

// Replies in the order they are sent: a light round sends only the first.
enum Command { kClusterInfo, kClusterNodes, kRole, kInfo, kFullCount };

// AUTH on one connection: sent before the first probe of the connection, its reply is the first.
enum class AuthState : uint8_t { kNotNeeded, kAwaitingReply, kDone };

// A dropped connection gets one immediate retry before it counts against the node.
enum class Retry : uint8_t { kNone, kRetrying };

ProbeOutcome ClassifyError(std::string_view msg) {
  if (msg.starts_with("LOADING")) return ProbeOutcome::kLoading;
  if (msg.starts_with("NOAUTH") || msg.starts_with("WRONGPASS") ||
      msg.find("invalid password") != std::string_view::npos) {
    return ProbeOutcome::kAuth;
  }
  return ProbeOutcome::kError;
}

// The comparison key for NodeObserved: offsets and key counts move with every write.
model::NodeObservation StableView(model::NodeObservation o) {
  o.repl_offset = 0;
  o.keys = 0;
  return o;
}

// CLUSTER INFO without its message counters, which move every second: what is left (state, slot
// counts by state, known nodes, size, epochs) changes exactly when the node's view does.
std::string InfoDigest(std::string_view info) {
  std::string out;
  while (!info.empty()) {
    size_t eol = std::min(info.find('\n'), info.size());
    std::string_view line = info.substr(0, eol);
    info.remove_prefix(std::min(eol + 1, info.size()));
    if (!line.starts_with("cluster_stats_")) out.append(line).push_back('\n');
  }
  return out;
}

}  // namespace

struct Prober::PendingResolve {
  uv_getaddrinfo_t req;
  Node* node;  // nullptr once the node stopped waiting for it.
};

struct Prober::Node {
  Prober* prober = nullptr;
  std::string address;
  std::string host;
  int port = 0;
  bool numeric_host = false;   // An IP literal: no resolving.
  std::string ip;              // Resolved address of a host name.
  int64_t ip_resolved_at = 0;  // uv_now
  PendingResolve* resolving = nullptr;
  redisAsyncContext* ctx = nullptr;
  bool in_flight = false;
  int64_t deadline = 0;    // uv_now
  int64_t next_round = 0;  // uv_now
  AuthState auth = AuthState::kNotNeeded;  // Of the current connection.
  int replies = 0;                         // Probe replies seen in this round (AUTH's is not one).
  int expected = 0;
  bool full = false;        // This round fetches CLUSTER NODES, ROLE and INFO too.
  int64_t next_full = 0;    // uv_now; 0: the next round is a full one.
  uint64_t round_changes = 0;  // Prober::changes_seen_ when this round started.
  std::string info_digest;  // InfoDigest of the last CLUSTER INFO answered.
  // Full refresh tickets (RequestFullRefresh): the newest one this node owes a full round for,
  // the one the current round serves, and the newest one served.
  uint64_t refresh_wanted = 0;
  uint64_t refresh_round = 0;
  uint64_t refresh_done = 0;
  Retry retry = Retry::kNone;
  std::optional<ProbeResult> failure;  // First error reply of the round.
  std::string cluster_nodes;
  std::string cluster_info;
  std::string info;
  model::Role role = model::Role::kUnknown;
  uint64_t role_offset = 0;
  HealthTracker tracker;
  std::optional<model::NodeObservation> last_observed;  // Stable view last emitted.

  explicit Node(HealthOptions o) : tracker(o) {}
};

Prober::Prober(uv_loop_t* loop, ProberOptions options, model::EventSink sink)
    : loop_(loop), options_(std::move(options)), sink_(std::move(sink)) {}

Prober::~Prober() {
  // Handles embedded in this object must be closed before it goes away.
  assert(!started_ || open_handles_ == 0);
}

Status Prober::Start() {
  if (started_) return Status::FailedPrecondition("prober already started");
  int rc = uv_timer_init(loop_, &tick_);
  if (rc != 0) return Status::IoError(fmt::format("uv_timer_init: {}", uv_strerror(rc)));
  rc = uv_async_init(loop_, &wake_,
                     [](uv_async_t* a) { static_cast<Prober*>(a->data)->OnWake(); });
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    return Status::IoError(fmt::format("uv_async_init: {}", uv_strerror(rc)));
  }
  tick_.data = this;
  wake_.data = this;
  open_handles_ = 2;
  started_ = true;
  uv_timer_start(
      &tick_, [](uv_timer_t* t) { static_cast<Prober*>(t->data)->OnTick(); }, 0, kTickMs);
  OnWake();
  return Status::Ok();
}

void Prober::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  for (auto& [address, node] : nodes_) DropConnection(node.get());
  nodes_.clear();
  auto on_close = [](uv_handle_t* h) { --static_cast<Prober*>(h->data)->open_handles_; };
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_), on_close);
  uv_close(reinterpret_cast<uv_handle_t*>(&wake_), on_close);
  std::lock_guard<std::mutex> lock(mu_);
  refresh_cv_.notify_all();
}

uint64_t Prober::RequestFullRefresh() {
  uint64_t ticket;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ticket = ++refresh_requested_;
  }
  if (started_ && !stopped_) uv_async_send(&wake_);
  return ticket;
}

bool Prober::WaitForFullRefresh(uint64_t ticket, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  refresh_cv_.wait_for(lock, timeout, [&] { return refresh_done_ >= ticket || stopped_; });
  return refresh_done_ >= ticket;
}

void Prober::SetTargets(std::vector<std::string> addresses) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_targets_ = std::move(addresses);
  }
  if (started_ && !stopped_) uv_async_send(&wake_);
}

std::vector<Sample> Prober::Samples(const std::string& address) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = samples_.find(address);
  if (it == samples_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::optional<model::NodeHealth> Prober::HealthOf(const std::string& address) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = health_.find(address);
  if (it == health_.end()) return std::nullopt;
  return it->second;
}

void Prober::OnWake() {
  if (stopped_) return;
  ApplyTargets();
  uint64_t requested;
  {
    std::lock_guard<std::mutex> lock(mu_);
    requested = refresh_requested_;
  }
  if (requested > refresh_served_) {
    refresh_served_ = requested;
    for (auto& [address, node] : nodes_) {
      node->refresh_wanted = requested;
      node->next_full = 0;
      node->next_round = 0;  // As soon as a round in flight (started before the request) ends.
    }
  }
  UpdateRefreshDone();
}

void Prober::RefreshAll() {
  ++changes_seen_;
  for (auto& [address, node] : nodes_) node->next_full = 0;
}

void Prober::UpdateRefreshDone() {
  uint64_t done = refresh_served_;
  for (const auto& [address, node] : nodes_) done = std::min(done, node->refresh_done);
  std::lock_guard<std::mutex> lock(mu_);
  if (done > refresh_done_) {
    refresh_done_ = done;
    refresh_cv_.notify_all();
  }
}

void Prober::ApplyTargets() {
  std::optional<std::vector<std::string>> targets;
  {
    std::lock_guard<std::mutex> lock(mu_);
    targets.swap(pending_targets_);
  }
  if (!targets) return;
  std::map<std::string, std::unique_ptr<Node>> next;
  for (const std::string& a : *targets) {
    if (next.count(a)) continue;
    auto it = nodes_.find(a);
    if (it != nodes_.end()) {
      next.emplace(a, std::move(it->second));
      nodes_.erase(it);
      continue;
    }
    auto parsed = Address::Parse(a);
    if (!parsed.ok()) {
      spdlog::warn("prober: ignoring target: {}", parsed.status().ToString());
      continue;
    }
    auto node = std::make_unique<Node>(options_.health);
    node->prober = this;
    node->address = a;
    node->host = parsed->host;
    node->port = parsed->port;
    in6_addr scratch;
    node->numeric_host = uv_inet_pton(AF_INET, node->host.c_str(), &scratch) == 0 ||
                         uv_inet_pton(AF_INET6, node->host.c_str(), &scratch) == 0;
    node->next_round = uv_now(loop_);
    node->refresh_wanted = refresh_served_;  // Its first round is a full one.
    next.emplace(a, std::move(node));
  }
  for (auto& [address, node] : nodes_) DropConnection(node.get());  // No longer targets.
  nodes_ = std::move(next);
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(samples_, [&](const auto& kv) { return !nodes_.count(kv.first); });
  std::erase_if(health_, [&](const auto& kv) { return !nodes_.count(kv.first); });
}

void Prober::OnTick() {
  int64_t now = uv_now(loop_);
  for (auto& [address, node] : nodes_) {
    Node* n = node.get();
    if (n->in_flight && now >= n->deadline) {
      DropConnection(n);
      FinishRound(n, ProbeResult{ProbeOutcome::kTimeout,
                                 fmt::format("no answer within {} ms", options_.timeout_ms)});
    }
    if (!n->in_flight && now >= n->next_round) StartRound(n, now);
  }
}

void Prober::StartRound(Node* n, int64_t now) {
  n->in_flight = true;
  n->deadline = now + options_.timeout_ms;
  n->next_round = now + options_.interval_ms;
  // While a cluster_state:fail runs its grace, rounds are full: the verdict (health and the
  // observation's cluster_ok) then comes with a fresh observation in one round.
  n->full = options_.full_interval_ms <= 0 || now >= n->next_full || !n->last_observed ||
            n->tracker.cluster_fail_pending();
  n->refresh_round = n->full ? n->refresh_wanted : n->refresh_done;
  n->round_changes = changes_seen_;
  n->replies = 0;
  n->failure.reset();
  n->cluster_nodes.clear();
  n->cluster_info.clear();
  n->info.clear();
  n->role = model::Role::kUnknown;
  n->role_offset = 0;
  if (n->ctx == nullptr && !n->numeric_host &&
      (n->ip.empty() || now - n->ip_resolved_at >= kResolveTtlMs)) {
    Resolve(n);
    return;
  }
  SendProbe(n);
}

// hiredis would resolve a name synchronously inside redisAsyncConnect, blocking the loop.
void Prober::Resolve(Node* n) {
  auto* r = new PendingResolve{{}, n};
  r->req.data = r;
  n->resolving = r;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = uv_getaddrinfo(
      loop_, &r->req,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* pending = static_cast<PendingResolve*>(req->data);
        Node* node = pending->node;
        std::string ip;
        // Prefer IPv4: Redis often binds only 127.0.0.1 / the IPv4 address.
        for (addrinfo* ai = res; ai != nullptr && status == 0; ai = ai->ai_next) {
          char buf[64] = {0};
          if (ai->ai_family == AF_INET) {
            uv_ip4_name(reinterpret_cast<sockaddr_in*>(ai->ai_addr), buf, sizeof(buf));
            ip = buf;
            break;
          }
          if (ai->ai_family == AF_INET6 && ip.empty()) {
            uv_ip6_name(reinterpret_cast<sockaddr_in6*>(ai->ai_addr), buf, sizeof(buf));
            ip = buf;
          }
        }
        if (res) uv_freeaddrinfo(res);
        delete pending;
        if (node == nullptr) return;  // Timed out or dropped meanwhile.
        node->resolving = nullptr;
        if (ip.empty()) {
          node->prober->FinishRound(
              node, ProbeResult{ProbeOutcome::kError,
                                fmt::format("resolve {}: {}", node->host,
                                            status == 0 ? "no address" : uv_strerror(status))});
          return;
        }
        node->ip = ip;
        node->ip_resolved_at = uv_now(node->prober->loop_);
        node->prober->SendProbe(node);
      },
      n->host.c_str(), nullptr, &hints);
  if (rc != 0) {
    n->resolving = nullptr;
    delete r;
    FinishRound(n, ProbeResult{ProbeOutcome::kError,
                               fmt::format("resolve {}: {}", n->host, uv_strerror(rc))});
  }
}

void Prober::SendProbe(Node* n) {
  if (n->ctx == nullptr) {
    errno = 0;
    const std::string& ip = n->numeric_host ? n->host : n->ip;
    redisAsyncContext* c = redisAsyncConnect(ip.c_str(), n->port);
    if (c == nullptr) {
      FinishRound(n, ProbeResult{ProbeOutcome::kError, "redisAsyncConnect: out of memory"});
      return;
    }
    if (c->err) {
      // Loopback connects can fail synchronously.
      bool refused = errno == ECONNREFUSED || std::strstr(c->errstr, "refused") != nullptr;
      std::string detail = fmt::format("connect: {}", c->errstr);
      redisAsyncFree(c);
      FinishRound(n, ProbeResult{refused ? ProbeOutcome::kRefused : ProbeOutcome::kError, detail});
      return;
    }
    Status s = AttachHiredisToLibuv(c, loop_);
    if (!s.ok()) {
      redisAsyncFree(c);
      FinishRound(n, ProbeResult{ProbeOutcome::kError, s.ToString()});
      return;
    }
    c->data = n;
    redisAsyncSetConnectCallback(c, &Prober::OnConnect);
    redisAsyncSetDisconnectCallback(c, &Prober::OnDisconnect);
    n->ctx = c;
    n->auth = AuthState::kNotNeeded;
    if (!options_.password.empty()) {
      // AUTH once per connection, ahead of the probe.
      redisAsyncCommand(c, &Prober::OnReply, n, "AUTH %b", options_.password.data(),
                        options_.password.size());
      n->auth = AuthState::kAwaitingReply;
    }
  }
  // Any answer proves the node alive: CLUSTER INFO serves as the ping.
  redisAsyncCommand(n->ctx, &Prober::OnReply, n, "CLUSTER INFO");
  n->expected = 1;
  if (!n->full) return;
  n->expected = kFullCount;
  redisAsyncCommand(n->ctx, &Prober::OnReply, n, "CLUSTER NODES");
  redisAsyncCommand(n->ctx, &Prober::OnReply, n, "ROLE");
  redisAsyncCommand(n->ctx, &Prober::OnReply, n, "INFO replication memory stats keyspace");
}

void Prober::OnConnect(const redisAsyncContext* c, int status) {
  auto* n = static_cast<Node*>(c->data);
  if (status == REDIS_OK || n == nullptr || n->ctx != c) return;
  // hiredis frees the context after this callback.
  n->ctx = nullptr;
  // ac->err is copied from c.err only after this callback returns: read the inner context.
  bool refused = c->c.err == REDIS_ERR_IO && std::strstr(c->c.errstr, "refused") != nullptr;
  if (n->in_flight) {
    n->prober->FinishRound(n, ProbeResult{refused ? ProbeOutcome::kRefused : ProbeOutcome::kError,
                                          fmt::format("connect: {}", c->errstr)});
  }
}

void Prober::OnDisconnect(const redisAsyncContext* c, int status) {
  auto* n = static_cast<Node*>(c->data);
  if (n == nullptr || n->ctx != c) return;
  n->ctx = nullptr;
  if (!n->in_flight) {
    // Probe again now rather than at the next interval: a killed node shows as refused sooner.
    n->next_round = 0;
    return;
  }
  if (n->retry == Retry::kNone) {
    n->retry = Retry::kRetrying;
    n->in_flight = false;
    n->next_round = 0;
    return;
  }
  n->prober->FinishRound(
      n, ProbeResult{ProbeOutcome::kError, fmt::format("connection lost: {}", c->errstr)},
      RoundEnd::kConnectionLost);
}

void Prober::OnReply(redisAsyncContext* c, void* reply, void* privdata) {
  auto* n = static_cast<Node*>(privdata);
  auto* r = static_cast<redisReply*>(reply);
  if (n->ctx != c || r == nullptr || !n->in_flight) return;  // A dropped connection's leftovers.
  if (n->auth == AuthState::kAwaitingReply) {
    n->auth = AuthState::kDone;
    if (r->type == REDIS_REPLY_ERROR && !n->failure) {
      // Whatever the error says, the node refused our credentials.
      n->failure = ProbeResult{ProbeOutcome::kAuth,
                               fmt::format("AUTH: {}", std::string_view(r->str, r->len))};
    }
    return;  // The probe's replies follow.
  }
  int index = n->replies++;  // The Command sent in that place.
  if (r->type == REDIS_REPLY_ERROR) {
    std::string msg(r->str, r->len);
    if (!n->failure) n->failure = ProbeResult{ClassifyError(msg), msg};
  } else if (index == kClusterNodes && r->type == REDIS_REPLY_STRING) {
    n->cluster_nodes.assign(r->str, r->len);
  } else if (index == kClusterInfo && r->type == REDIS_REPLY_STRING) {
    n->cluster_info.assign(r->str, r->len);
  } else if (index == kInfo && r->type == REDIS_REPLY_STRING) {
    n->info.assign(r->str, r->len);
  } else if (index == kRole && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
             r->element[0]->type == REDIS_REPLY_STRING) {
    std::string_view role(r->element[0]->str, r->element[0]->len);
    if (role == "master") {
      n->role = model::Role::kMaster;
      if (r->element[1]->type == REDIS_REPLY_INTEGER) {
        n->role_offset = std::max<long long>(0, r->element[1]->integer);
      }
    } else if (role == "slave") {
      n->role = model::Role::kReplica;
      if (r->elements >= 5 && r->element[4]->type == REDIS_REPLY_INTEGER) {
        // -1 until the first sync completed and again once the link dropped.
        n->role_offset = std::max<long long>(0, r->element[4]->integer);
      }
    }
  }
  if (n->replies < n->expected) return;
  if (n->failure) {
    n->prober->FinishRound(n, *n->failure);
    return;
  }
  n->prober->FinishRound(n, ProbeResult{ProbeOutcome::kOk, ""});
}

void Prober::DropConnection(Node* n) {
  if (n->resolving != nullptr) {
    // The getaddrinfo callback still runs (and frees the request) but no longer sees the node.
    n->resolving->node = nullptr;
    uv_cancel(reinterpret_cast<uv_req_t*>(&n->resolving->req));
    n->resolving = nullptr;
  }
  if (n->ctx == nullptr) return;
  redisAsyncContext* c = n->ctx;
  n->ctx = nullptr;  // Callbacks run by the free below see a stale context and do nothing.
  redisAsyncFree(c);
}

void Prober::FinishRound(Node* n, ProbeResult result, RoundEnd end) {
  n->in_flight = false;
  if (end != RoundEnd::kConnectionLost) n->retry = Retry::kNone;
  Publish(n, result);
  // A failed round counts too: a node that does not answer must not hold up a refresh.
  if (n->refresh_round > n->refresh_done) {
    n->refresh_done = n->refresh_round;
    UpdateRefreshDone();
  }
}

void Prober::Publish(Node* n, const ProbeResult& in) {
  int64_t now = NowMs();
  ProbeResult result = in;
  std::optional<model::NodeObservation> obs;
  InfoFields fields;
  bool changed = false;  // Something other nodes may show too: refresh every node's view.
  if (result.outcome == ProbeOutcome::kOk) {
    std::string digest = InfoDigest(n->cluster_info);
    if (!n->info_digest.empty() && digest != n->info_digest) changed = true;
    n->info_digest = std::move(digest);
  }
  if (result.outcome == ProbeOutcome::kOk && !n->full) {
    fields = InfoFields::Parse(n->cluster_info);
    result.cluster_state_ok = fields.Get("cluster_state") == "ok";
    result.slots_assigned = fields.GetUint("cluster_slots_assigned").value_or(0);
  } else if (result.outcome == ProbeOutcome::kOk) {
    auto nodes = ParseClusterNodes(n->cluster_nodes);
    if (!nodes.ok()) {
      result = ProbeResult{ProbeOutcome::kError, nodes.status().ToString()};
    } else {
      fields = InfoFields::Parse(n->info);
      fields.Merge(InfoFields::Parse(n->cluster_info));
      result.cluster_state_ok = fields.Get("cluster_state") == "ok";
      result.slots_assigned = fields.GetUint("cluster_slots_assigned").value_or(0);
      model::NodeObservation o;
      ApplyClusterNodes(*nodes, &o);
      if (n->role != model::Role::kUnknown) o.role = n->role;
      o.current_epoch = fields.GetUint("cluster_current_epoch").value_or(0);
      // A replica's INFO offset survives a lost link (the cached master), unlike ROLE's: the
      // planner needs it after the master died. 0 means it never completed a sync.
      o.repl_offset = o.role == model::Role::kReplica
                          ? fields.GetUint("slave_repl_offset").value_or(n->role_offset)
                          : n->role_offset;
      o.master_link_up = fields.Get("master_link_status") == "up";
      o.keys = fields.Db0Keys();
      obs = std::move(o);
    }
  }
  auto health = n->tracker.Update(result, now);
  if (health) {
    spdlog::info("prober: {} is {} ({})", n->address, model::HealthName(health->health),
                 health->detail);
    {
      std::lock_guard<std::mutex> lock(mu_);
      health_[n->address] = *health;
    }
    sink_(model::NodeHealthChanged{n->address, *health});
    changed = true;
  }
  if (changed) RefreshAll();
  if (result.outcome == ProbeOutcome::kOk && !n->full) {
    // The observation's cluster_ok follows the tracker, which may turn after the grace alone.
    if (n->last_observed && n->last_observed->cluster_ok != n->tracker.cluster_ok()) {
      n->next_full = 0;
    }
    return;
  }
  if (!obs) return;
  // Next full round in [1/2, 1] of the interval: full rounds of different nodes drift apart. A
  // change seen while this round was under way may not be in its answers: one more, then.
  int64_t full = options_.full_interval_ms;
  n->next_full =
      n->round_changes != changes_seen_
          ? 0
          : uv_now(loop_) + full / 2 +
                static_cast<int64_t>(std::uniform_int_distribution<int64_t>(0, full / 2)(rng_));
  obs->cluster_ok = n->tracker.cluster_ok();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& ring = samples_[n->address];
    ring.push_back(Sample{now, fields.GetDouble("instantaneous_ops_per_sec").value_or(0),
                          fields.GetUint("used_memory").value_or(0), obs->keys});
    while (ring.size() > options_.sample_capacity) ring.pop_front();
  }
  model::NodeObservation stable = StableView(*obs);
  if (n->last_observed == stable) return;
  if (n->last_observed) RefreshAll();
  n->last_observed = std::move(stable);
  sink_(model::NodeObserved{n->address, std::move(*obs)});
}

}  // namespace rs::health
