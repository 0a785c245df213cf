#include "controller/controller.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "admin/decision_timing.h"
#include "common/now.h"
#include "common/version.h"
#include "controller/discovery_runner.h"
#include "planner/planner.h"

namespace rs::controller {
namespace {

// A short, stable digest of the settings that shape decisions, so an audit shows config changes.
std::string ConfigHash(const Config& c) {
  std::string s = fmt::format("{}|{}|{}|{}|{}|{}|{}|{}", c.discovery, c.appname, c.redis_proc,
                              c.replicas, c.min_masters, c.allow_takeover, c.failover_grace_ms,
                              c.rebalance_threshold_pct);
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
  return fmt::format("{:016x}", h);
}

// Written whole (a temp file renamed over it), so a reader never sees a partial number.
Status WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) return Status::IoError(fmt::format("cannot write --admin-port-file {}", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    return Status::IoError(
        fmt::format("cannot write --admin-port-file {}: {}", path, ec.message()));
  }
  return Status::Ok();
}

std::string_view SourceOf(const model::EventPayload& p) {
  if (std::holds_alternative<model::MembershipChanged>(p) ||
      std::holds_alternative<model::DiscoveryStatusChanged>(p)) {
    return "discovery";
  }
  if (std::holds_alternative<model::NodeHealthChanged>(p) ||
      std::holds_alternative<model::NodeObserved>(p)) {
    return "prober";
  }
  if (std::holds_alternative<model::PlanProposed>(p) ||
      std::holds_alternative<model::OperatorRejected>(p)) {
    return "planner";
  }
  if (std::holds_alternative<model::OperatorRequested>(p)) return "operator";
  if (std::holds_alternative<model::ControllerStarted>(p) ||
      std::holds_alternative<model::ControllerStopped>(p) ||
      std::holds_alternative<model::AlertRaised>(p)) {
    return "controller";
  }
  return "executor";
}

}  // namespace

Controller::Controller(Config config)
    : config_(std::move(config)) {
  policy_.replicas = static_cast<int>(config_.replicas);
  policy_.min_masters = static_cast<int>(config_.min_masters);
  policy_.rebalance_threshold_pct = config_.rebalance_threshold_pct;
  policy_.refused_grace_ms = config_.failover_grace_ms;
  policy_.allow_takeover = config_.allow_takeover;
  policy_.max_parallel_migrations = static_cast<int>(config_.max_parallel_migrations);
  // Three probe rounds without a change to the layout Redis reports before planning on it.
  policy_.settle_ms = 3 * static_cast<int64_t>(config_.probe_interval_ms);
  executor_config_.connect.user = config_.redis_user;
  executor_config_.connect.password = config_.redis_password;
  executor_config_.max_parallel_migrations = config_.max_parallel_migrations;
  executor_config_.max_keys_per_second = config_.max_keys_per_second;
}

Controller::~Controller() = default;

Result<std::unique_ptr<Controller>> Controller::Open(Config config) {
  std::unique_ptr<Controller> c(new Controller(std::move(config)));
  eventlog::StateStoreOptions opts;
  opts.log.mode = eventlog::OpenMode::kReadWrite;
  opts.log.create_if_missing = true;
  opts.snapshot_every = c->config_.snapshot_every;
  opts.retain_health_ms = c->config_.retain_health_hours * 3600 * 1000;
  auto store = eventlog::StateStore::Open(c->config_.data_dir, opts);
  if (!store.ok()) {
    // EventLog::Open says Unavailable exactly when another writer holds the log's lock.
    if (store.status().code() == StatusCode::kUnavailable) {
      return Status::FailedPrecondition(
          fmt::format("another redis-ctl is already running on {} (the event log is locked): {}",
                      c->config_.data_dir, store.status().message()));
    }
    return store.status();
  }
  c->store_ = std::move(*store);
  return c;
}

Result<model::Seq> Controller::Record(model::EventPayload payload, model::Seq cause,
                                         bool sync) {
  model::Event e;
  e.time_ms = NowMs();
  e.cause = cause;
  e.source = std::string(SourceOf(payload));
  e.payload = std::move(payload);
  return store_->Append(std::move(e),
                        sync ? eventlog::Durability::kSync : eventlog::Durability::kGroup);
}

model::ClusterState Controller::State() { return store_->State(); }

model::Seq Controller::WaitForEvent(model::Seq after, std::chrono::milliseconds timeout) {
  return store_->WaitForState(after, timeout);
}

void Controller::UpdateProbeTargets() {
  // The targets follow from the state alone: copying it (every observation) for nothing, five
  // times a second, was a good part of an idle controller's CPU at 60 nodes.
  model::Seq seq = WaitForEvent(0, std::chrono::milliseconds(0));
  if (seq == targets_seq_) return;
  std::set<std::string> want;
  std::vector<std::string> untracked;
  {
    auto state = State();
    targets_seq_ = state.last_seq;
    for (const auto& [addr, m] : state.members) want.insert(addr);
    for (const auto& shard : state.topology.shards) {
      want.insert(shard.master.address);
      for (const auto& r : shard.replicas) want.insert(r.address);
    }
    // Nodes the cluster still knows (a removed member being drained, a node someone met by hand).
    for (const auto& [addr, obs] : state.observed) {
      if (!state.members.count(addr) && !state.health.count(addr)) continue;
      for (const auto& peer : obs.peers) {
        if (!peer.address.empty() && !peer.handshake) want.insert(peer.address);
      }
    }
    // A node no longer probed (drained and forgotten, or gone from discovery and the cluster)
    // would keep its last health and observation in the state for ever: /v1/nodes would list it
    // and a last "down" would leave the cluster degraded. Record that it is no longer tracked.
    for (const auto& [addr, h] : state.health) {
      if (!want.contains(addr)) untracked.push_back(addr);
    }
    for (const auto& [addr, o] : state.observed) {
      if (!want.contains(addr) && !state.health.contains(addr)) untracked.push_back(addr);
    }
  }
  for (const std::string& addr : untracked) {
    model::NodeHealth h{model::Health::kUnknown, model::HealthReason::kNone,
                           "no longer probed: neither a member nor in the cluster", NowMs()};
    auto r = Record(model::NodeHealthChanged{addr, std::move(h)}, 0, /*sync=*/false);
    if (!r.ok()) spdlog::error("recording that {} is untracked: {}", addr, r.status().ToString());
  }
  std::vector<std::string> list(want.begin(), want.end());
  std::lock_guard lock(targets_mu_);
  if (list != targets_) {
    targets_ = list;
    if (prober_) prober_->SetTargets(list);
  }
}

void Controller::SourcesThread() {
  // Discovery and the prober share one libuv loop; a timer checks for shutdown and keeps the
  // prober's targets in step with the state.
  uv_timer_t tick;
  uv_timer_init(&loop_, &tick);
  tick.data = this;
  uv_timer_start(
      &tick,
      [](uv_timer_t* t) {
        auto* self = static_cast<Controller*>(t->data);
        if (self->sources_stop_.load()) {
          uv_timer_stop(t);
          uv_close(reinterpret_cast<uv_handle_t*>(t), nullptr);
          self->prober_->Stop();
          self->discovery_->Stop();
          return;
        }
        self->UpdateProbeTargets();
      },
      200, 200);
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void Controller::AwaitFreshViews(const std::atomic<bool>& stop) {
  // The observations in the state predate the plan's changes, and between full rounds the prober
  // fetches only CLUSTER INFO: have every node probed afresh (fully, each round started after
  // this point, recorded) and repeat until a whole sweep records nothing new, so gossip still
  // spreading the plan's changes is seen settle. Never sooner than two rounds and a timeout after
  // the plan (gossip gets that long, and a failure that persists does not spin plans), never
  // later than two more rounds and timeouts (a node that does not answer ends its round at the
  // probe timeout; views that keep changing are planned on then).
  using std::chrono::milliseconds;
  const auto ended = std::chrono::steady_clock::now();
  const auto earliest =
      ended + milliseconds(2 * config_.probe_interval_ms + config_.probe_timeout_ms);
  const auto latest =
      earliest + milliseconds(2 * (config_.probe_interval_ms + config_.probe_timeout_ms));
  while (!stop.load()) {
    model::Seq before = WaitForEvent(0, milliseconds(0));
    uint64_t ticket = prober_->RequestFullRefresh();
    bool done = false;
    while (!stop.load() && !done && std::chrono::steady_clock::now() < latest) {
      done = prober_->WaitForFullRefresh(ticket, milliseconds(50));
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= latest) return;
    if (done && WaitForEvent(0, milliseconds(0)) == before) {
      while (!stop.load() && std::chrono::steady_clock::now() < earliest) {
        std::this_thread::sleep_for(milliseconds(50));
      }
      if (WaitForEvent(0, milliseconds(0)) == before) return;
    }
  }
}

void Controller::PlannerLoop(const std::atomic<bool>& stop) {
  executor::Executor executor(executor_config_, this);
  std::string last_reason;
  auto next_compaction = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!stop.load()) {
    if (config_.retain_health_hours > 0 && std::chrono::steady_clock::now() >= next_compaction) {
      next_compaction = std::chrono::steady_clock::now() + std::chrono::hours(1);
      // Recording goes on meanwhile: the compaction takes no lock of the store's.
      auto report = store_->CompactHistory(NowMs());
      if (!report.ok()) spdlog::warn("compacting old health events: {}", report.status().ToString());
    }
    model::ClusterState state = State();
    if (state.plan) {
      (void)executor.RunPlan(&stop);  // Its outcome is recorded in the log.
      AwaitFreshViews(stop);
      continue;
    }
    // Time enters the pure planner as an input: the state as of now.
    state.last_time_ms = NowMs();
    auto decide_start = std::chrono::steady_clock::now();
    planner::Decision d = planner::Make(state, policy_);
    admin::DecisionTiming::Planner().Add(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                             decide_start)
            .count()));
    switch (d.kind) {
      case planner::DecisionKind::kPlan: {
        spdlog::info("proposing {}", model::PlanToString(d.plan));
        model::Seq cause = d.plan.causes.empty() ? 0 : d.plan.causes.back();
        auto r = Record(model::PlanProposed{std::move(d.plan), d.request_id}, cause, true);
        if (!r.ok()) spdlog::error("recording plan: {}", r.status().ToString());
        continue;
      }
      case planner::DecisionKind::kReject: {
        spdlog::warn("rejecting operator request {}: {}", d.request_id, d.reason);
        auto r = Record(model::OperatorRejected{d.request_id, d.reason}, 0, true);
        if (!r.ok()) spdlog::error("recording rejection: {}", r.status().ToString());
        continue;
      }
      case planner::DecisionKind::kConflict:
      case planner::DecisionKind::kNothing:
        if (d.reason != last_reason) {
          if (d.kind == planner::DecisionKind::kConflict) {
            spdlog::error("conflict: {}", d.reason);
            (void)Record(model::AlertRaised{fmt::format("nodes {}", fmt::join(d.nodes, ",")),
                                               "conflict", d.reason, false},
                         0, true);
          } else {
            spdlog::info("planner: {}", d.reason);
          }
          last_reason = d.reason;
        }
        break;
    }
    WaitForEvent(state.last_seq, std::chrono::milliseconds(200));
  }
}

Status Controller::Run(const std::atomic<bool>& stop) {
  RS_RETURN_IF_ERROR(Record(model::ControllerStarted{kVersion, ConfigHash(config_)}, 0, true)
                         .status());
  admin::AdminServerOptions aopts;
  aopts.listen = config_.listen;
  admin_ = std::make_unique<admin::AdminServer>(aopts, this);
  RS_RETURN_IF_ERROR(admin_->Start());
  if (!config_.admin_port_file.empty()) {
    RS_RETURN_IF_ERROR(WritePortFile(config_.admin_port_file, admin_->port()));
  }

  uv_loop_init(&loop_);
  health::ProberOptions popts;
  popts.interval_ms = config_.probe_interval_ms;
  popts.timeout_ms = config_.probe_timeout_ms;
  popts.full_interval_ms = config_.probe_full_interval_ms;
  popts.health.suspect_after_failures = config_.probe_suspect_after;
  popts.password = config_.redis_password;
  // Samples come from full rounds: an hour of them for the console's charts in steady state.
  popts.sample_capacity = static_cast<size_t>(
      3600 * 1000 / std::max(config_.probe_interval_ms, config_.probe_full_interval_ms));
  prober_ = std::make_unique<health::Prober>(&loop_, popts, [this](model::EventPayload p) {
    auto r = Record(std::move(p), 0, /*sync=*/false);
    if (!r.ok()) spdlog::error("recording health: {}", r.status().ToString());
  });
  RS_RETURN_IF_ERROR(prober_->Start());
  std::vector<model::Member> restored;
  for (const auto& [addr, m] : State().members) restored.push_back(m);
  auto reachable = [this](std::string_view address) {
    auto h = prober_->HealthOf(std::string(address));
    return !h || h->health != model::Health::kDown;
  };
  auto record_sync = [this](model::EventPayload p) {
    auto r = Record(std::move(p), 0, /*sync=*/true);
    if (!r.ok()) spdlog::error("recording discovery event: {}", r.status().ToString());
  };
  // A start that fails from here on (a bad members file with no history) closes what it started
  // on the loop, as a stop does, before the error ends the run.
  auto close_sources = [this](Status why) {
    if (discovery_) discovery_->Stop();
    prober_->Stop();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    return why;
  };
  auto runner = DiscoveryRunner::Create(&loop_, config_, std::move(restored),
                                        State().discovery_reachable, reachable, record_sync);
  if (!runner.ok()) return close_sources(runner.status());
  discovery_ = std::move(runner).value();
  if (Status s = discovery_->Start(); !s.ok()) return close_sources(std::move(s));
  UpdateProbeTargets();

  std::thread sources([this] { SourcesThread(); });
  ready_ = true;
  spdlog::info("redis-ctl {} running: data dir {}, discovery {}, admin on {}", kVersion,
               config_.data_dir, config_.discovery, admin_->address());
  PlannerLoop(stop);

  spdlog::info("stopping: writing a clean snapshot");
  ready_ = false;
  admin_->Stop();
  sources_stop_ = true;
  sources.join();
  uv_loop_close(&loop_);
  RS_RETURN_IF_ERROR(Record(model::ControllerStopped{true}, 0, true).status());
  return store_->Close();
}

}  // namespace rs::controller
