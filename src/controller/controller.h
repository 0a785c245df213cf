// The controller: sources -> event log -> fold -> planner -> executor, with one writer.
// Every event goes through Record(), i.e. StateStore::Append: the write and the fold happen under
// the store's mutex, in sequence order, and a synced event's fsync after it, so the discovery
// loop, the prober, the executor and the admin API never race on the state and the prober's
// health events never wait for another thread's fsync.
// Thread contract: Run() on the main thread; Record/State/WaitForEvent from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include <uv.h>

#include "admin/admin_server.h"
#include "controller/config.h"
#include "eventlog/state_store.h"
#include "executor/executor.h"
#include "health/prober.h"
#include "planner/policy.h"

namespace rs::controller {

class DiscoveryRunner;

class Controller : public executor::Journal, public admin::ControllerView {
 public:
  // Opens (or creates) the event log; fails clearly when another redis-ctl holds it.
  static Result<std::unique_ptr<Controller>> Open(Config config);
  ~Controller() override;

  // Runs until `stop` is set; then finishes the current batch, snapshots and returns.
  Status Run(const std::atomic<bool>& stop);

  // executor::Journal and admin::ControllerView.
  Result<model::Seq> Record(model::EventPayload payload, model::Seq cause,
                               bool sync) override;
  model::ClusterState State() override;
  std::string Generation() override { return store_->log().generation(); }
  model::Seq WaitForEvent(model::Seq after, std::chrono::milliseconds timeout) override;
  bool Ready() override { return ready_.load(); }

  // admin::ControllerView (implemented in controller_admin.cc)
  Status ScanEvents(model::Seq from, model::Seq to,
                    const std::function<bool(const eventlog::DecodedEvent&)>& fn) override;
  const eventlog::EventLog& Log() override;
  std::vector<admin::MetricSample> Samples(const std::string& address) override;
  admin::DryRunResult DryRun(const model::OperatorRequest& request) override;
  admin::AdminSettings Settings() override;
  Result<eventlog::BackupInfo> Backup(const std::string& dir) override;
  // end admin::ControllerView

 private:
  explicit Controller(Config config);

  void SourcesThread();
  void PlannerLoop(const std::atomic<bool>& stop);
  // After a plan: returns once every node was probed afresh and a sweep changed nothing (bounded).
  void AwaitFreshViews(const std::atomic<bool>& stop);
  // Keeps the prober's target list = members + every node of the managed cluster.
  void UpdateProbeTargets();

  Config config_;
  planner::Policy policy_;
  executor::ExecutorConfig executor_config_;

  std::unique_ptr<eventlog::StateStore> store_;  // Set by Open, thread-safe.

  std::atomic<bool> ready_{false};
  std::atomic<bool> sources_stop_{false};

  uv_loop_t loop_;
  std::unique_ptr<health::Prober> prober_;
  std::unique_ptr<DiscoveryRunner> discovery_;
  std::mutex targets_mu_;
  std::vector<std::string> targets_;
  model::Seq targets_seq_ = ~model::Seq{0};  // The state the targets were last derived from.

  std::unique_ptr<admin::AdminServer> admin_;
};

}  // namespace rs::controller
