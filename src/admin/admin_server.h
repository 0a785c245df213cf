// The controller's HTTP server: health checks, the topology long-poll the proxies follow, the
// JSON admin API (/v1/...), Prometheus /metrics and the embedded web console at /.
// Thread contract: Start/Stop from the owner. One libuv loop thread (HttpServer) accepts and
// parses every connection and answers /healthz, /readyz and the console's assets itself; the
// handlers that read controller state or the event log run on a small worker pool and reach it
// only through ControllerView, which must be thread-safe. A topology long-poll holds no thread:
// it is parked on the loop until a topology follower thread, woken by every folded event, hands
// the loop a new epoch (serialized once for all watchers) or its wait ends (304). A follower
// thread reads the event log in order for the metrics counters and the alerts.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "admin/http_request.h"
#include "admin/topology_poll.h"
#include "common/status.h"
#include "eventlog/backup.h"
#include "eventlog/event_codec.h"
#include "eventlog/event_log.h"
#include "model/cluster_state.h"

namespace rs::admin {

class Alerter;
class HttpServer;
class MetricsFollower;
class WorkerPool;
using RequestId = uint64_t;

// One prober sample of a node (the health module's Sample, without depending on it).
struct MetricSample {
  int64_t time_ms = 0;
  double ops_per_sec = 0;
  uint64_t used_memory = 0;
  uint64_t keys = 0;
};

// What the planner would answer to a request, computed on a copy of the state (no side effects).
struct DryRunResult {
  enum class Kind { kPlan, kReject, kWait };
  Kind kind = Kind::kWait;
  model::Plan plan;    // kPlan.
  std::string reason;  // kReject: why; kWait: what the planner would do first.
};

// Settings the admin server takes from redis-ctl's configuration.
struct AdminSettings {
  std::vector<std::string> tokens;  // "name:secret" (or "secret", named "admin").
  bool open_reads = true;           // false: GETs of /v1 (except topology) need a token too.
  std::string alert_webhook;        // http://host:port/path; empty: alerts are only recorded.
  int alert_cooldown_s = 300;
  std::string backup_dir;  // Root of POST /v1/backup's checkpoints; empty: backups refused.
};

class ControllerView {
 public:
  virtual ~ControllerView() = default;
  virtual model::ClusterState State() = 0;
  // The event log's history generation (see eventlog::kGenerationKey); fixed once open.
  virtual std::string Generation() = 0;
  // Blocks until an event after `after` is folded or the timeout passes; returns the last seq.
  virtual model::Seq WaitForEvent(model::Seq after, std::chrono::milliseconds timeout) = 0;
  // True once the controller has replayed its log and is running its loop.
  virtual bool Ready() = 0;
  // Appends an event through the controller's single writer (operator requests, alerts).
  virtual Result<model::Seq> Record(model::EventPayload payload, model::Seq cause, bool sync) = 0;
  // Reads the log in order from `from` to `to` (inclusive) until fn returns false.
  virtual Status ScanEvents(model::Seq from, model::Seq to,
                            const std::function<bool(const eventlog::DecodedEvent&)>& fn) = 0;
  // The event log, for reads (filtered pages through its history index); thread-safe.
  virtual const eventlog::EventLog& Log() = 0;
  // The prober's recent samples of a node, oldest first.
  virtual std::vector<MetricSample> Samples(const std::string& address) = 0;
  // The planner's answer if `request` were recorded now.
  virtual DryRunResult DryRun(const model::OperatorRequest& request) = 0;
  virtual AdminSettings Settings() = 0;
  // A verified checkpoint of the log in `dir` (which must not exist), from the writer's handle.
  virtual Result<eventlog::BackupInfo> Backup(const std::string& dir) = 0;
};

struct AdminServerOptions {
  std::string listen = "127.0.0.1:8080";  // Port 0: any free port.
  int max_wait_seconds = 60;              // Cap on ?wait= for long-polls.
  int threads = 4;                        // Workers for the handlers that read state or the log.
  // Open connections at most (also kept below RLIMIT_NOFILE); a long-poll is one.
  size_t max_connections = 10000;
};

class AdminServer {
 public:
  AdminServer(AdminServerOptions options, ControllerView* view);
  ~AdminServer();

  // Binds and starts serving on the HTTP loop's thread and the workers. Fails when the address
  // is taken. Port 0 picks a free port; port() and address() tell which, and the log says it.
  Status Start();
  // Stops within about a second: accepting stops, waiting long-polls are answered 503 at once,
  // answers the workers finish within 0.8 s are sent, then every connection closes; requests
  // queued for the workers and not started are dropped.
  void Stop();
  int port() const { return port_; }
  const std::string& address() const { return address_; }

 private:
  using RouteFn = std::function<void(const HttpRequest&, HttpResponse&)>;
  // Where a route runs: on the loop (no blocking at all), on a worker, or the topology poll.
  enum class RunOn { kLoop, kWorker, kTopology };
  struct Route {
    std::string method;
    std::string pattern;
    bool exact = true;  // A plain path; otherwise `regex` (its groups land in req.matches).
    std::regex regex;
    RouteFn fn;
    RunOn on = RunOn::kWorker;
  };
  // A parked long-poll, owned by the loop thread.
  struct Watcher {
    TopologyPoll poll;
    uint64_t deadline_ms = 0;  // Steady clock; then 304.
  };
  // The loop's copy of the committed topology, as of event `seq`.
  struct CachedTopology {
    bool valid = false;
    model::Seq seq = 0;
    uint64_t epoch = 0;
    std::string body;  // The JSON answer.
  };

  void Get(std::string pattern, RouteFn fn, RunOn on = RunOn::kWorker);
  void Post(std::string pattern, RouteFn fn);
  void Delete(std::string pattern, RouteFn fn);
  void AddRoute(std::string method, std::string pattern, RouteFn fn, RunOn on);
  void Routes();
  void ApiRoutes();
  void ConsoleRoutes();
  void Dispatch(RequestId id, HttpRequest req);                       // Loop thread.
  void ServeTopology(RequestId id, const HttpRequest& req);           // A worker.
  void OnTopology(model::Seq seq, uint64_t epoch, std::string body);  // Loop thread.
  void OnTick();                                                      // Loop thread.
  void OnStopping();                                                  // Loop thread.
  void FollowTopology();
  void FollowLog(model::Seq live_from);

  AdminServerOptions options_;
  ControllerView* view_;
  AdminSettings settings_;
  std::string generation_;     // Fixed once the log is open; read at Start.
  std::vector<Route> routes_;  // Fixed after construction.
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<MetricsFollower> metrics_;
  std::unique_ptr<Alerter> alerter_;
  // Loop thread only.
  std::unordered_map<RequestId, Watcher> watchers_;
  std::multimap<uint64_t, RequestId> deadlines_;  // May name watchers already answered.
  CachedTopology topology_;
  bool stopping_on_loop_ = false;
  std::thread topology_follower_;
  std::thread follower_;
  std::atomic<bool> stop_{false};
  // Serialises operator requests so the id read before Record is the one the fold assigns
  // (operator requests are only recorded here).
  std::mutex request_mu_;
  std::mutex backup_mu_;  // One POST /v1/backup at a time (the name check, then the copy).
  int port_ = 0;
  std::string address_;  // host:port actually bound.
};

}  // namespace rs::admin
