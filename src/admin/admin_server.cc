#include "admin/admin_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "admin/alerts.h"
#include "admin/auth.h"
#include "admin/backup_request.h"
#include "admin/http_reply.h"
#include "admin/http_server.h"
#include "admin/metrics.h"
#include "admin/operation_json.h"
#include "admin/web_assets.h"
#include "admin/worker_pool.h"
#include "common/address.h"
#include "common/now.h"
#include "eventlog/event_filter.h"
#include "eventlog/event_format.h"
#include "eventlog/event_query.h"
#include "eventlog/svc_time.h"

namespace rs::admin {
namespace {

using nlohmann::json;

// Node id -> address, from every observation (the committed topology may lag).
std::map<std::string, std::string> AddressesById(const model::ClusterState& s) {
  std::map<std::string, std::string> out;
  for (const auto& [addr, o] : s.observed) {
    if (!o.id.empty()) out[o.id] = addr;
  }
  for (const auto& shard : s.topology.shards) {
    if (!shard.master.id.empty()) out[shard.master.id] = shard.master.address;
    for (const auto& r : shard.replicas) {
      if (!r.id.empty()) out[r.id] = r.address;
    }
  }
  return out;
}

json ClusterJson(const model::ClusterState& s, const std::string& generation) {
  std::map<std::string, int> by_health;
  for (const auto& [addr, h] : s.health) by_health[std::string(model::HealthName(h.health))]++;
  uint32_t covered = 0;
  for (const auto& shard : s.topology.shards) covered += model::CountSlots(shard.slots);
  bool open_slots = false;
  for (const auto& [addr, o] : s.observed) open_slots |= !o.open_slots.empty();
  std::string state = "ok";
  if (s.topology.epoch == 0) {
    state = "forming";
  } else if (covered < kSlotCount || by_health.count("down") || open_slots) {
    state = "degraded";
  }
  if (s.plan) state = state == "ok" ? "changing" : state;
  std::set<std::string> hosts;
  for (const auto& [addr, m] : s.members) hosts.insert(m.host);
  // The newest finished plan when it failed: its reason (what is wrong, what to set) stays in
  // sight while the planner tries again, until a plan succeeds.
  json last_failure = nullptr;
  if (!s.plan_history.empty() && s.plan_history.back().outcome == model::PlanOutcome::kFailed) {
    const model::PlanSummary& p = s.plan_history.back();
    last_failure =
        json{{"plan", p.id}, {"reason", p.reason}, {"detail", p.detail}, {"seq", p.finished_seq}};
  }
  return json{{"state", state},
              {"epoch", s.topology.epoch},
              {"generation", generation},
              {"last_seq", s.last_seq},
              {"paused", s.paused},
              {"members", s.members.size()},
              {"masters", s.topology.shards.size()},
              {"slots_covered", covered},
              {"open_slots", open_slots},
              {"health", by_health},
              {"hosts", std::vector<std::string>(hosts.begin(), hosts.end())},
              {"plan", s.plan ? json(s.plan->plan.id) : json(nullptr)},
              {"last_failure", last_failure},
              {"pending_requests", s.pending_requests.size()},
              {"retired", std::vector<std::string>(s.retired.begin(), s.retired.end())},
              {"discovery", svc::DiscoveryJson(s)}};
}

json NodesJson(const model::ClusterState& s, ControllerView* view) {
  std::set<std::string> addrs;
  for (const auto& [a, m] : s.members) addrs.insert(a);
  for (const auto& [a, h] : s.health) addrs.insert(a);
  for (const auto& [a, o] : s.observed) addrs.insert(a);
  auto by_id = AddressesById(s);
  json nodes = json::array();
  for (const std::string& addr : addrs) {
    json n{{"address", addr}};
    auto m = s.members.find(addr);
    n["member"] = m != s.members.end();
    n["retired"] = s.retired.contains(addr);
    n["instance"] = m != s.members.end() ? m->second.instance : 0;
    n["host"] = m != s.members.end() ? m->second.host : addr.substr(0, addr.rfind(':'));
    auto h = s.health.find(addr);
    n["health"] = h != s.health.end() ? model::HealthName(h->second.health) : "unknown";
    n["reason"] = h != s.health.end() ? svc::ReasonName(h->second.reason) : "none";
    n["detail"] = h != s.health.end() ? h->second.detail : "";
    auto o = s.observed.find(addr);
    if (o != s.observed.end()) {
      const auto& v = o->second;
      n["id"] = v.id;
      n["role"] = svc::RoleName(v.role);
      n["master"] = v.role == model::Role::kReplica && by_id.count(v.master_id)
                        ? json(by_id[v.master_id])
                        : json(nullptr);
      // A master's slots as the committed topology has them, else as the node reports them.
      std::vector<model::SlotRange> slots = v.slots;
      for (const auto& shard : s.topology.shards) {
        if (shard.master.address == addr && slots.empty()) slots = shard.slots;
      }
      n["slots"] = slots.empty() ? "" : model::RangesToString(slots);
      n["slot_count"] = model::CountSlots(slots);
      n["open_slots"] = v.open_slots.size();
      json open = json::array();
      for (const auto& o : v.open_slots) {
        open.push_back({{"slot", o.slot},
                        {"state", o.migrating ? "migrating" : "importing"},
                        {"peer", by_id.count(o.peer_id) ? by_id[o.peer_id] : o.peer_id}});
      }
      n["open_slot_list"] = open;
      n["keys"] = v.keys;
      n["link_up"] = v.master_link_up;
      n["cluster_ok"] = v.cluster_ok;
    } else {
      n["role"] = "unknown";
      n["master"] = nullptr;
      n["slots"] = "";
      n["slot_count"] = 0;
    }
    auto samples = view->Samples(addr);
    if (!samples.empty()) {
      n["ops_per_sec"] = samples.back().ops_per_sec;
      n["used_memory"] = samples.back().used_memory;
      n["keys"] = samples.back().keys;
    } else {
      n["ops_per_sec"] = nullptr;
      n["used_memory"] = nullptr;
    }
    nodes.push_back(std::move(n));
  }
  return nodes;
}

json HistoryJson(const model::PlanSummary& p) {
  return json{{"id", p.id},
              {"reason", p.reason},
              {"state", svc::OutcomeName(p.outcome)},
              {"detail", p.detail},
              {"proposed_seq", p.proposed_seq},
              {"finished_seq", p.finished_seq},
              {"progress", p.outcome == model::PlanOutcome::kCompleted ? 1.0 : 0.0}};
}

json DryRunJson(const DryRunResult& r) {
  switch (r.kind) {
    case DryRunResult::Kind::kPlan:
      return json{{"dry_run", true},
                  {"decision", "plan"},
                  {"reason", r.plan.reason},
                  {"steps", PlanStepsToJson(r.plan)}};
    case DryRunResult::Kind::kReject:
      return json{{"dry_run", true}, {"decision", "reject"}, {"reason", r.reason}};
    case DryRunResult::Kind::kWait:
      break;
  }
  return json{{"dry_run", true}, {"decision", "wait"}, {"reason", r.reason}};
}

std::string Downsampled(const std::vector<MetricSample>& samples, const std::string& metric,
                        int64_t since_ms, int points, json* out) {
  std::vector<std::pair<int64_t, double>> raw;
  for (const auto& s : samples) {
    if (s.time_ms < since_ms) continue;
    double v = metric == "ops"      ? s.ops_per_sec
               : metric == "memory" ? static_cast<double>(s.used_memory)
                                    : static_cast<double>(s.keys);
    raw.emplace_back(s.time_ms, v);
  }
  // Average buckets of consecutive samples so a chart gets at most `points` points.
  size_t per = std::max<size_t>(1, (raw.size() + points - 1) / points);
  *out = json::array();
  for (size_t i = 0; i < raw.size(); i += per) {
    double sum = 0;
    size_t n = 0;
    for (size_t k = i; k < std::min(raw.size(), i + per); ++k, ++n) sum += raw[k].second;
    out->push_back({raw[std::min(raw.size(), i + per) - 1].first, sum / n});
  }
  return "";
}

}  // namespace

AdminServer::AdminServer(AdminServerOptions options, ControllerView* view)
    : options_(std::move(options)),
      view_(view),
      settings_(view->Settings()),
      metrics_(std::make_unique<MetricsFollower>()) {
  alerter_ = std::make_unique<Alerter>(
      settings_.alert_webhook, std::chrono::seconds(settings_.alert_cooldown_s),
      [this](const Alert& a, bool delivered) {
        auto r = view_->Record(model::AlertRaised{a.subject, a.kind, a.message, delivered}, a.cause,
                               false);
        if (!r.ok()) spdlog::error("recording alert: {}", r.status().ToString());
      });
  Routes();
}

AdminServer::~AdminServer() { Stop(); }

void AdminServer::Get(std::string pattern, RouteFn fn, RunOn on) {
  AddRoute("GET", std::move(pattern), std::move(fn), on);
}
void AdminServer::Post(std::string pattern, RouteFn fn) {
  AddRoute("POST", std::move(pattern), std::move(fn), RunOn::kWorker);
}
void AdminServer::Delete(std::string pattern, RouteFn fn) {
  AddRoute("DELETE", std::move(pattern), std::move(fn), RunOn::kWorker);
}

void AdminServer::AddRoute(std::string method, std::string pattern, RouteFn fn, RunOn on) {
  Route r;
  r.method = std::move(method);
  r.exact = pattern.find_first_of("()[]\\+*?") == std::string::npos;
  if (!r.exact) r.regex = std::regex(pattern);
  r.pattern = std::move(pattern);
  r.fn = std::move(fn);
  r.on = on;
  routes_.push_back(std::move(r));
}

// On the loop thread: finds the route, answers loop routes at once and hands the rest to the
// workers. HEAD is served as GET without the body.
void AdminServer::Dispatch(RequestId id, HttpRequest req) {
  const std::string method = req.method == "HEAD" ? "GET" : req.method;
  const Route* found = nullptr;
  bool path_known = false;
  for (const Route& r : routes_) {
    std::smatch m;
    bool match = r.exact ? req.path == r.pattern : std::regex_match(req.path, m, r.regex);
    if (!match) continue;
    path_known = true;
    if (r.method != method) continue;
    found = &r;
    req.matches.clear();
    if (r.exact) {
      req.matches.push_back(req.path);
    } else {
      for (const auto& g : m) req.matches.push_back(g.str());
    }
    break;
  }
  HttpResponse res;
  if (!found) {
    if (req.path.rfind("/v1/", 0) == 0) {
      ErrorReply(res, path_known ? 405 : 404,
                 fmt::format("no such endpoint: {} {}", req.method, req.path));
    } else {
      res = HttpResponse::Text(path_known ? 405 : 404,
                               path_known ? "method not allowed\n" : "not found\n");
    }
    return server_->Reply(id, std::move(res));
  }
  if (found->on == RunOn::kLoop) {
    found->fn(req, res);
    return server_->Reply(id, std::move(res));
  }
  if (found->on == RunOn::kTopology) {
    return workers_->Submit([this, id, req = std::move(req)] { ServeTopology(id, req); });
  }
  workers_->Submit([this, id, fn = &found->fn, req = std::move(req)] {
    HttpResponse res;
    (*fn)(req, res);
    server_->Reply(id, std::move(res));
  });
}

void AdminServer::Routes() {
  // Answered on the loop thread, never queued behind the workers: a health check stays fast
  // whatever the API is doing.
  Get(
      "/healthz",
      [](const HttpRequest&, HttpResponse& res) { res.set_content("ok\n", "text/plain"); },
      RunOn::kLoop);
  Get(
      "/readyz",
      [this](const HttpRequest&, HttpResponse& res) {
        if (view_->Ready()) {
          res.set_content("ready\n", "text/plain");
        } else {
          res.status = 503;
          res.set_content("replaying the event log\n", "text/plain");
        }
      },
      RunOn::kLoop);
  // GET /v1/topology[?after=EPOCH[&generation=G]&wait=SECONDS]: with `after`, waits until the
  // committed epoch differs from EPOCH (or `wait` passes, then answers 304 Not Modified); see
  // TopologyAnswersAtOnce and ServeTopology. Always open: the proxies read it without a token.
  Get("/v1/topology", nullptr, RunOn::kTopology);
  Get("/metrics", [this](const HttpRequest&, HttpResponse& res) {
    res.set_content(metrics_->Render(view_->State()), "text/plain; version=0.0.4");
  });
  ApiRoutes();
  ConsoleRoutes();
}

void AdminServer::ApiRoutes() {
  auto tokens = std::make_shared<TokenSet>(settings_.tokens);
  // Returns the caller's name, or answers 401/403 and returns nullopt.
  auto authorize = [tokens](const HttpRequest& req,
                            HttpResponse& res) -> std::optional<std::string> {
    if (tokens->empty()) {
      ErrorReply(res, 403,
                 "no admin token is configured (--admin-token, --admin-token-file or "
                 "REDIS_CTL_ADMIN_TOKEN), so this call is refused");
      return std::nullopt;
    }
    auto who = tokens->Check(req.header("Authorization"));
    if (!who) {
      res.set_header("WWW-Authenticate", "Bearer");
      ErrorReply(res, 401, "a valid 'Authorization: Bearer <token>' header is required");
    }
    return who;
  };
  const bool open_reads = settings_.open_reads;
  auto can_read = [authorize, open_reads](const HttpRequest& req, HttpResponse& res) {
    return open_reads || authorize(req, res).has_value();
  };

  Get("/v1/cluster", [this, can_read](const HttpRequest& req, HttpResponse& res) {
    if (!can_read(req, res)) return;
    JsonReply(res, 200, ClusterJson(view_->State(), view_->Generation()));
  });
  Get("/v1/nodes", [this, can_read](const HttpRequest& req, HttpResponse& res) {
    if (!can_read(req, res)) return;
    auto state = view_->State();
    json nodes = NodesJson(state, view_);
    for (auto& n : nodes) n["muted"] = alerter_->Muted(n["address"].get<std::string>());
    JsonReply(res, 200, json{{"nodes", nodes}});
  });
  // GET /v1/events?after=SEQ&limit=N&kind=K[,K]&node=ADDR&slot=S&plan=ID
  Get("/v1/events", [this, can_read](const HttpRequest& req, HttpResponse& res) {
    if (!can_read(req, res)) return;
    auto after = UintParam(req, "after", 0);
    auto limit = UintParam(req, "limit", 100);
    auto slot = UintParam(req, "slot", 0);
    auto plan = UintParam(req, "plan", 0);
    for (const auto* r : {&after, &limit, &slot, &plan}) {
      if (!r->ok()) return ErrorReply(res, 400, r->status().message());
    }
    if (*limit == 0 || *limit > 1000) return ErrorReply(res, 400, "limit must be 1..1000");
    svc::EventFilter filter;
    if (req.has_param("kind")) {
      std::string kinds = req.param("kind");
      for (size_t pos = 0; pos <= kinds.size();) {
        size_t comma = std::min(kinds.find(',', pos), kinds.size());
        if (comma > pos) filter.kinds.insert(kinds.substr(pos, comma - pos));
        pos = comma + 1;
      }
    }
    if (req.has_param("node")) filter.node = req.param("node");
    if (req.has_param("slot")) {
      if (*slot >= kSlotCount) return ErrorReply(res, 400, "slot must be 0..16383");
      filter.slot = static_cast<uint16_t>(*slot);
    }
    if (req.has_param("plan")) filter.plan = *plan;
    const bool newest = req.param("order") != "asc" && !req.has_param("after");
    // Through the log's history index: a filtered page reads the events it shows, not the log.
    auto page = svc::EventPage(view_->Log(), filter, *after, *limit, newest);
    if (!page.ok()) return ErrorReply(res, 500, page.status().message());
    json events = json::array();
    for (const svc::EventPageEntry& e : *page) {
      json j = svc::EventToJson(e.event);
      j["summary"] = e.summary;
      j["cause_of"] = e.cause_of;
      events.push_back(std::move(j));
    }
    JsonReply(res, 200, json{{"events", events}, {"last_seq", view_->State().last_seq}});
  });
  Get("/v1/plans", [this, can_read](const HttpRequest& req, HttpResponse& res) {
    if (!can_read(req, res)) return;
    auto s = view_->State();
    json history = json::array();
    for (auto it = s.plan_history.rbegin(); it != s.plan_history.rend(); ++it) {
      history.push_back(HistoryJson(*it));
    }
    json pending = json::array();
    for (const auto& r : s.pending_requests) {
      pending.push_back({{"id", r.id}, {"kind", svc::OperatorKindName(r.kind)}, {"who", r.who}});
    }
    JsonReply(res, 200,
              json{{"current", s.plan ? PlanInFlightToJson(*s.plan) : json(nullptr)},
                   {"history", history},
                   {"pending_requests", pending}});
  });
  Get(R"(/v1/plans/(\d+))", [this, can_read](const HttpRequest& req, HttpResponse& res) {
    if (!can_read(req, res)) return;
    uint64_t id = std::stoull(req.matches[1]);
    auto s = view_->State();
    if (s.plan && s.plan->plan.id == id) return JsonReply(res, 200, PlanInFlightToJson(*s.plan));
    for (const auto& p : s.plan_history) {
      if (p.id != id) continue;
      json j = HistoryJson(p);
      (void)view_->ScanEvents(p.proposed_seq, p.proposed_seq, [&](const eventlog::DecodedEvent& d) {
        if (const auto* pp = std::get_if<model::PlanProposed>(&d.event.payload)) {
          j["steps"] = PlanStepsToJson(pp->plan);
          j["causes"] = pp->plan.causes;
        }
        return false;
      });
      return JsonReply(res, 200, j);
    }
    ErrorReply(res, 404,
               fmt::format("no plan {} (in flight or in the last {})", id,
                           model::ClusterState::kMaxPlanHistory));
  });
  Delete(R"(/v1/plans/(\d+))", [this, authorize](const HttpRequest& req, HttpResponse& res) {
    auto who = authorize(req, res);
    if (!who) return;
    uint64_t id = std::stoull(req.matches[1]);
    std::lock_guard lock(request_mu_);
    auto s = view_->State();
    if (!s.plan || s.plan->plan.id != id) {
      return ErrorReply(res, 404, fmt::format("plan {} is not in flight", id));
    }
    model::OperatorRequest r;
    r.who = *who;
    r.kind = model::OperatorKind::kAbort;
    r.plan_id = id;
    uint64_t request_id = s.next_request_id;
    auto seq = view_->Record(model::OperatorRequested{r}, 0, true);
    if (!seq.ok()) return ErrorReply(res, 500, seq.status().message());
    JsonReply(res, 202, json{{"id", request_id}, {"seq", *seq}, {"plan_id", id}});
  });
  Post("/v1/operations", [this, authorize](const HttpRequest& req, HttpResponse& res) {
    auto who = authorize(req, res);
    if (!who) return;
    if (req.body.empty()) {
      return ErrorReply(res, 400,
                        "the body is empty: POST a JSON object such as "
                        "{\"kind\":\"migrate\",\"from\":...} with a Content-Length");
    }
    json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return ErrorReply(res, 400, "the body is not valid JSON");
    std::lock_guard lock(request_mu_);
    auto s = view_->State();
    const std::string kind = body.is_object() ? body.value("kind", "") : "";
    if (kind == "mute" || kind == "unmute") {
      if (!body.contains("node") || !body["node"].is_string() ||
          !KnownNode(s, body["node"].get<std::string>())) {
        return ErrorReply(res, 400, "\"node\" must be a known node address");
      }
      std::string node = body["node"].get<std::string>();
      auto seq = view_->Record(
          model::AlertRaised{"node " + node, kind,
                             fmt::format("alerts for {} {}d by {}", node, kind, *who), true},
          0, true);
      if (!seq.ok()) return ErrorReply(res, 500, seq.status().message());
      return JsonReply(res, 202, json{{"seq", *seq}, {"kind", kind}, {"node", node}});
    }
    auto request = OperationFromJson(body, s, *who);
    if (!request.ok()) return ErrorReply(res, 400, request.status().message());
    if (req.param("dry_run") == "1" || req.param("dry_run") == "true") {
      return JsonReply(res, 200, DryRunJson(view_->DryRun(*request)));
    }
    uint64_t request_id = s.next_request_id;
    auto seq = view_->Record(model::OperatorRequested{*request}, 0, true);
    if (!seq.ok()) return ErrorReply(res, 500, seq.status().message());
    JsonReply(res, 202, json{{"id", request_id}, {"seq", *seq}});
  });
  // POST /v1/backup {"name", "keep"}: a verified checkpoint of the log under --backup-dir.
  Post("/v1/backup", [this, authorize](const HttpRequest& req, HttpResponse& res) {
    auto who = authorize(req, res);
    if (!who) return;
    if (settings_.backup_dir.empty()) {
      return ErrorReply(res, 409,
                        "no backup dir is configured (redis-ctl --backup-dir), so backups are "
                        "refused; redis-svc backup --data-dir works beside a running redis-ctl");
    }
    auto request = BackupRequestFromBody(req.body, NowMs());
    if (!request.ok()) return ErrorReply(res, 400, request.status().message());
    std::lock_guard lock(backup_mu_);
    const std::string path = settings_.backup_dir + "/" + request->name;
    auto info = view_->Backup(path);
    if (!info.ok()) {
      const bool exists = info.status().code() == StatusCode::kFailedPrecondition;
      return ErrorReply(res, exists ? 409 : 500, info.status().message());
    }
    spdlog::info("backup {} by {}: events {}..{}, {} bytes, verified", path, *who, info->first,
                 info->last, info->size);
    json removed = json::array();
    if (request->keep) {
      auto pruned = eventlog::PruneBackups(settings_.backup_dir, *request->keep);
      if (!pruned.ok()) {
        spdlog::warn("backup {}: pruning older backups: {}", path, pruned.status().message());
      } else {
        for (const std::string& name : *pruned) {
          spdlog::info("backup {} removed (keep {})", name, *request->keep);
          removed.push_back(name);
        }
      }
    }
    JsonReply(res, 201,
              json{{"name", request->name},
                   {"path", info->path},
                   {"generation", info->generation},
                   {"first_seq", info->first},
                   {"last_seq", info->last},
                   {"records", info->records},
                   {"size", info->size},
                   {"removed", removed}});
  });
  // GET /v1/operations/ID: what became of a request (pending, rejected with a reason, or the
  // plan that answers it).
  Get(R"(/v1/operations/(\d+))", [this, can_read](const HttpRequest& req, HttpResponse& res) {
    if (!can_read(req, res)) return;
    uint64_t id = std::stoull(req.matches[1]);
    auto s = view_->State();
    for (const auto& r : s.pending_requests) {
      if (r.id == id) return JsonReply(res, 200, json{{"id", id}, {"state", "pending"}});
    }
    if (id >= s.next_request_id) return ErrorReply(res, 404, fmt::format("no request {}", id));
    json answer = {{"id", id}, {"state", "done"}};
    auto last = svc::LastAnswerTo(view_->Log(), id);
    if (!last.ok()) return ErrorReply(res, 500, last.status().message());
    if (*last) {
      const eventlog::DecodedEvent& d = **last;
      if (const auto* r = std::get_if<model::OperatorRejected>(&d.event.payload)) {
        answer = {{"id", id}, {"state", "rejected"}, {"reason", r->reason}, {"seq", d.event.seq}};
      } else if (const auto* p = std::get_if<model::PlanProposed>(&d.event.payload)) {
        answer = {{"id", id}, {"state", "planned"}, {"plan_id", p->plan.id}, {"seq", d.event.seq}};
      }
    }
    JsonReply(res, 200, answer);
  });
  // GET /v1/metrics/series?node=ADDR&metric=ops|memory|keys&range=SECONDS (default 3600)
  Get("/v1/metrics/series", [this, can_read](const HttpRequest& req, HttpResponse& res) {
    if (!can_read(req, res)) return;
    auto range = UintParam(req, "range", 3600);
    if (!range.ok()) return ErrorReply(res, 400, range.status().message());
    const std::string node = req.param("node");
    const std::string metric = req.has_param("metric") ? req.param("metric") : "ops";
    if (metric != "ops" && metric != "memory" && metric != "keys") {
      return ErrorReply(res, 400, "metric must be ops, memory or keys");
    }
    if (node.empty() || !KnownNode(view_->State(), node)) {
      return ErrorReply(res, 400, "node must be a known node address");
    }
    const int64_t now = NowMs();
    json points;
    Downsampled(view_->Samples(node), metric, now - static_cast<int64_t>(*range) * 1000, 120,
                &points);
    JsonReply(res, 200, json{{"node", node}, {"metric", metric}, {"points", points}});
  });
}

void AdminServer::ConsoleRoutes() {
  auto serve = [](const HttpRequest& req, HttpResponse& res) {
    std::string path = req.path == "/" ? "/index.html" : req.path;
    const WebAsset* a = FindWebAsset(path);
    if (!a) {
      res.status = 404;
      res.set_content("not found\n", "text/plain");
      return;
    }
    res.set_header("ETag", std::string(a->etag));
    res.set_header("Cache-Control", "no-cache");
    if (req.header("If-None-Match") == a->etag) {
      res.status = 304;
      return;
    }
    res.set_content(std::string(a->body), std::string(a->content_type));
  };
  // Static bytes embedded in the binary: served on the loop.
  Get("/", serve, RunOn::kLoop);
  Get(R"(/([a-z0-9_\-]+\.(html|js|css|svg)))", serve, RunOn::kLoop);
}

void AdminServer::FollowLog(model::Seq live_from) {
  // Metrics count from the first event; alerts only fire for events after live_from.
  model::Seq next = 1;
  while (!stop_.load()) {
    auto st = view_->ScanEvents(next, UINT64_MAX, [&](const eventlog::DecodedEvent& d) {
      metrics_->Observe(d);
      alerter_->Observe(d, d.event.seq > live_from);
      next = d.event.seq + 1;
      return !stop_.load();
    });
    if (!st.ok()) {
      spdlog::warn("admin follower: {}", st.ToString());
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    view_->WaitForEvent(next - 1, std::chrono::milliseconds(500));
    alerter_->Tick();
  }
}

Status AdminServer::Start() {
  RS_ASSIGN_OR_RETURN(Address addr, Address::ParseListen(options_.listen));
  generation_ = view_->Generation();
  HttpServerOptions hopts;
  hopts.host = addr.host;
  hopts.port = addr.port;
  hopts.max_connections = options_.max_connections;
  // Each connection is a descriptor: stay below the limit, leaving room for RocksDB and the
  // controller's own sockets.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
    const size_t room = nofile.rlim_cur > 512 ? nofile.rlim_cur - 256 : nofile.rlim_cur / 2;
    hopts.max_connections = std::min(hopts.max_connections, room);
  }
  server_ = std::make_unique<HttpServer>(
      hopts, [this](RequestId id, HttpRequest req) { Dispatch(id, std::move(req)); });
  server_->set_on_abandon([this](RequestId id) { watchers_.erase(id); });
  server_->set_on_tick([this] { OnTick(); });
  server_->set_on_stop([this] { OnStopping(); });
  workers_ = std::make_unique<WorkerPool>(options_.threads);
  if (Status s = server_->Start(); !s.ok()) {
    workers_->Stop();
    return Status::Unavailable(
        fmt::format("cannot listen on {} ({})", options_.listen, s.message()));
  }
  addr.port = server_->port();
  port_ = addr.port;
  address_ = addr.ToString();
  topology_follower_ = std::thread([this] { FollowTopology(); });
  // Taken here, not on the thread: what the controller records right after Start (a bad members
  // file at start-up) must count as live, however late the thread runs.
  const model::Seq live_from = view_->State().last_seq;
  follower_ = std::thread([this, live_from] { FollowLog(live_from); });
  spdlog::info("admin listening on {} (HTTP API, console at /; up to {} connections)", address_,
               hopts.max_connections);
  return Status::Ok();
}

void AdminServer::Stop() {
  stop_ = true;
  // Stops accepting at once; waiting long-polls are answered 503 on the loop, answers the
  // workers finish within the server's grace are sent, then every connection closes.
  if (server_) server_->Stop();
  // Requests queued and not started are dropped (their connections are closed); running ones
  // finish, since they may be recording an event.
  if (workers_) workers_->Stop();
  if (topology_follower_.joinable()) topology_follower_.join();
  if (follower_.joinable()) follower_.join();
  // The controller closes its log after Stop: no alert may be recorded later.
  alerter_->Stop();
}

}  // namespace rs::admin
