#include "admin/alerts.h"

#include <httplib.h>

#include <cctype>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/ascii.h"
#include "eventlog/event_format.h"

namespace rs::admin {

Alerter::Alerter(std::string webhook, std::chrono::seconds cooldown, RecordFn record,
                 const Clock& clock)
    : webhook_(std::move(webhook)), cooldown_(cooldown), record_(std::move(record)), clock_(clock) {
  sender_ = std::thread([this] { SenderThread(); });
}

Alerter::~Alerter() { Stop(); }

void Alerter::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (sender_.joinable()) sender_.join();
}

bool Alerter::Muted(const std::string& node) const {
  std::lock_guard lock(mu_);
  return muted_.count(node) > 0;
}

namespace {
constexpr int64_t kSettleMs = 5000;

std::string Key(const std::string& subject, const std::string& kind) {
  return subject + "|" + kind;
}

// A discovery source's alerts: lainlet's outage, or a members file that cannot be used.
struct DiscoveryAlertKinds {
  std::string subject, down, up;
};
DiscoveryAlertKinds KindsFor(const std::string& source) {
  if (source.starts_with("file:")) {
    return {"members file", "members-file-invalid", "members-file-valid"};
  }
  return {"lainlet", "lainlet-unreachable", "lainlet-reachable"};
}
bool IsDiscoveryDown(const std::string& kind) {
  return kind == "lainlet-unreachable" || kind == "members-file-invalid";
}
bool IsDiscoveryUp(const std::string& kind) {
  return kind == "lainlet-reachable" || kind == "members-file-valid";
}
}  // namespace

void Alerter::Observe(const eventlog::DecodedEvent& d, bool live) {
  if (d.kind != eventlog::RecordKind::kEvent) return;
  const auto& p = d.event.payload;
  const model::Seq seq = d.event.seq;
  if (const auto* a = std::get_if<model::AlertRaised>(&p)) {
    // Mutes are keyed by address; the subject is "node ADDR".
    std::string node = a->subject.rfind("node ", 0) == 0 ? a->subject.substr(5) : a->subject;
    {
      std::lock_guard lock(mu_);
      if (a->kind == "mute") muted_.insert(node);
      if (a->kind == "unmute") muted_.erase(node);
    }
    // While catching up, the recorded alerts say whether the outage in progress was announced,
    // so that its end is announced after a restart too. (Live, Send already knows.)
    if (!live && IsDiscoveryDown(a->kind)) lainlet_alerted_ = true;
    if (!live && IsDiscoveryUp(a->kind)) lainlet_alerted_ = false;
    return;
  }
  if (const auto* h = std::get_if<model::NodeHealthChanged>(&p)) {
    if (h->health.health != model::Health::kDown) {
      held_.erase(Key("node " + h->address, "node-down"));
    }
    if (live && h->health.health == model::Health::kDown && !Muted(h->address)) {
      Raise({"node " + h->address, "node-down",
             fmt::format("{} is down ({}: {})", h->address, svc::ReasonName(h->health.reason),
                         h->health.detail),
             seq});
    }
  } else if (const auto* pp = std::get_if<model::PlanProposed>(&p)) {
    bool failover = false;
    for (const auto& s : pp->plan.steps) failover |= s.kind == model::StepKind::kFailover;
    plan_has_failover_[pp->plan.id] = failover;
    plan_running_ = true;
    while (plan_has_failover_.size() > 16) plan_has_failover_.erase(plan_has_failover_.begin());
  } else if (const auto* f = std::get_if<model::PlanFinished>(&p)) {
    plan_running_ = false;
    settled_since_ms_ = d.event.time_ms;
    if (live && f->outcome == model::PlanOutcome::kFailed) {
      Raise({fmt::format("plan {}", f->plan_id), "plan-failed",
             fmt::format("plan {} failed: {}", f->plan_id, f->reason), seq});
    }
    if (live && f->outcome == model::PlanOutcome::kCompleted && plan_has_failover_[f->plan_id]) {
      Raise({fmt::format("plan {}", f->plan_id), "failover-done",
             fmt::format("plan {} completed a failover", f->plan_id), seq});
    }
  } else if (const auto* ds = std::get_if<model::DiscoveryStatusChanged>(&p)) {
    const DiscoveryAlertKinds k = KindsFor(ds->source);
    held_.erase(Key(k.subject, ds->reachable ? k.down : k.up));
    const std::string word = AsciiLower(svc::DiscoveryStatusWord(ds->source, ds->reachable));
    if (!ds->reachable && live) {
      Raise({k.subject, k.down, fmt::format("{} is {}: {}", ds->source, word, ds->reason), seq});
    } else if (ds->reachable && std::exchange(lainlet_alerted_, false) && live) {
      // The recovery is only worth a message when the outage was announced.
      Raise(
          {k.subject, k.up, fmt::format("{} is {} again ({})", ds->source, word, ds->reason), seq});
    }
  } else if (const auto* t = std::get_if<model::TopologyCommitted>(&p)) {
    epoch_ = t->topology.epoch;
    settled_since_ms_ = d.event.time_ms;
  } else if (const auto* o = std::get_if<model::NodeObserved>(&p)) {
    // Only a formed cluster with no plan moving slots can have "uncovered" slots worth a page,
    // and not while gossip is still spreading the last change (a node's view lags a few
    // hundred ms behind a commit; seen as a false alert right after bootstrap).
    if (epoch_ == 0 || plan_running_) return;
    if (d.event.time_ms - settled_since_ms_ < kSettleMs) return;
    const auto& v = o->observation;
    uint32_t covered = v.role == model::Role::kMaster ? model::CountSlots(v.slots) : 0;
    for (const auto& peer : v.peers) {
      if (peer.role == model::Role::kMaster && !peer.fail) {
        covered += model::CountSlots(peer.slots);
      }
    }
    if (v.peers.empty()) return;  // Not in a cluster (yet): nothing to say.
    if (covered < kSlotCount) {
      if (uncovered_seen_.insert(o->address).second && live && !Muted(o->address)) {
        Raise({"cluster", "uncovered-slots",
               fmt::format("{} sees {} of 16384 slots served", o->address, covered), seq});
      }
    } else {
      uncovered_seen_.erase(o->address);
      if (uncovered_seen_.empty()) held_.erase(Key("cluster", "uncovered-slots"));
    }
  }
}

bool Alerter::Raise(Alert a) {
  auto now = clock_.Now();
  std::string key = Key(a.subject, a.kind);
  auto it = last_sent_.find(key);
  if (it != last_sent_.end() && now - it->second < cooldown_) {
    held_[key] = std::move(a);  // The newest message of the condition wins.
    return false;
  }
  Send(std::move(a), now);
  return true;
}

void Alerter::Send(Alert a, Clock::Monotonic::time_point now) {
  std::string key = Key(a.subject, a.kind);
  last_sent_[key] = now;
  held_.erase(key);
  if (IsDiscoveryDown(a.kind)) lainlet_alerted_ = true;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(a));
  }
  cv_.notify_all();
}

void Alerter::Tick() {
  auto now = clock_.Now();
  std::vector<Alert> due;
  for (auto it = held_.begin(); it != held_.end();) {
    if (now - last_sent_[it->first] < cooldown_) {
      ++it;
      continue;
    }
    due.push_back(std::move(it->second));
    it = held_.erase(it);
  }
  for (Alert& a : due) {
    // Muted since it was held back.
    if (a.subject.rfind("node ", 0) == 0 && Muted(a.subject.substr(5))) continue;
    Send(std::move(a), now);
  }
}

void Alerter::SenderThread() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left.
    Alert a = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    bool delivered = !webhook_.empty() && Post(a);
    record_(a, delivered);
    lock.lock();
  }
}

bool Alerter::Post(const Alert& a) {
  // "http://host:port/path": httplib::Client takes scheme://host:port, the path goes to Post.
  auto scheme_end = webhook_.find("://");
  auto path_start = webhook_.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  std::string base = path_start == std::string::npos ? webhook_ : webhook_.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "/" : webhook_.substr(path_start);
  httplib::Client client(base);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  client.set_write_timeout(5, 0);
  nlohmann::json body{{"subject", a.subject},
                      {"kind", a.kind},
                      {"message", a.message},
                      {"cause_seq", a.cause},
                      {"source", "redis-ctl"}};
  auto res = client.Post(path, body.dump(), "application/json");
  if (!res || res->status / 100 != 2) {
    spdlog::warn("alert webhook {}: {}", webhook_,
                 res ? fmt::format("HTTP {}", res->status) : httplib::to_string(res.error()));
    return false;
  }
  return true;
}

}  // namespace rs::admin
