#include "remote_commands.h"

#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "eventlog/event_format.h"

namespace rs::svc {
namespace {

using nlohmann::json;

struct Reply {
  int status = 0;  // 0: no connection.
  json body;
  std::string error;
};

class Ctl {
 public:
  explicit Ctl(const RemoteArgs& a) : client_(a.ctl), token_(a.token) {
    if (token_.empty()) {
      if (const char* env = std::getenv("REDIS_SVC_TOKEN")) token_ = env;
    }
    client_.set_connection_timeout(3, 0);
    client_.set_read_timeout(30, 0);
    ctl_ = a.ctl;
  }
  Reply Get(const std::string& path) { return Wrap(client_.Get(path, Headers())); }
  Reply Post(const std::string& path, const json& body) {
    return Wrap(client_.Post(path, Headers(), body.dump(), "application/json"));
  }

 private:
  httplib::Headers Headers() const {
    if (token_.empty()) return {};
    return {{"Authorization", "Bearer " + token_}};
  }
  Reply Wrap(const httplib::Result& r) {
    Reply out;
    if (!r) {
      out.error =
          fmt::format("cannot reach redis-ctl at {}: {}", ctl_, httplib::to_string(r.error()));
      return out;
    }
    out.status = r->status;
    out.body = json::parse(r->body, nullptr, false);
    if (r->status / 100 != 2) {
      out.error = out.body.is_object() && out.body.contains("error")
                      ? out.body["error"].get<std::string>()
                      : fmt::format("HTTP {}", r->status);
    }
    return out;
  }
  httplib::Client client_;
  std::string token_;
  std::string ctl_;
};

int Fail(const Reply& r) {
  std::fprintf(stderr, "redis-svc: %s\n", r.error.c_str());
  return r.status == 0 ? 2 : 1;
}

std::string Bar(double progress, int width = 30) {
  int filled = static_cast<int>(progress * width + 0.5);
  return "[" + std::string(filled, '#') + std::string(width - filled, ' ') + "]";
}

std::string Str(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

std::string Bytes(const json& v) {
  if (!v.is_number()) return "";
  double n = v.get<double>();
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (n >= 1024 && i < 4) n /= 1024, ++i;
  return fmt::format("{:.{}f}{}", n, i ? 1 : 0, units[i]);
}

// Follows request `id` to its plan and the plan to its end, with a progress bar on a terminal.
int Follow(Ctl& ctl, uint64_t id) {
  const bool tty = isatty(STDERR_FILENO) == 1;
  uint64_t plan_id = 0;
  for (int i = 0; i < 600 && !plan_id; ++i) {
    Reply r = ctl.Get(fmt::format("/v1/operations/{}", id));
    if (!r.error.empty()) return Fail(r);
    std::string state = Str(r.body, "state");
    if (state == "rejected") {
      std::fprintf(stderr, "request %llu rejected: %s\n", static_cast<unsigned long long>(id),
                   Str(r.body, "reason").c_str());
      return 1;
    }
    if (state == "planned") plan_id = r.body["plan_id"];
    if (state == "done") {
      std::printf("request %llu done\n", static_cast<unsigned long long>(id));
      return 0;
    }
    if (!plan_id) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!plan_id) {
    std::fprintf(stderr, "request %llu is still waiting for the planner\n",
                 static_cast<unsigned long long>(id));
    return 1;
  }
  std::printf("request %llu -> plan %llu\n", static_cast<unsigned long long>(id),
              static_cast<unsigned long long>(plan_id));
  while (true) {
    Reply r = ctl.Get(fmt::format("/v1/plans/{}", plan_id));
    if (!r.error.empty()) return Fail(r);
    const json& p = r.body;
    std::string state = Str(p, "state");
    double progress = p.value("progress", 0.0);
    std::string line =
        fmt::format("{} {:3.0f}% {}", Bar(progress), progress * 100,
                    state == "running"
                        ? fmt::format("step {}/{}", p.value("steps_done", 0) + 1, p["steps"].size())
                        : state);
    if (tty) std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
    if (state != "running") {
      if (tty) std::fputc('\n', stderr);
      std::printf("plan %llu %s%s%s\n", static_cast<unsigned long long>(plan_id), state.c_str(),
                  Str(p, "detail").empty() ? "" : ": ", Str(p, "detail").c_str());
      return state == "completed" ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
}

}  // namespace

int RunStatus(const RemoteArgs& a) {
  Ctl ctl(a);
  Reply r = ctl.Get("/v1/cluster");
  if (!r.error.empty()) return Fail(r);
  if (a.json) {
    std::printf("%s\n", r.body.dump(2).c_str());
    return 0;
  }
  const json& c = r.body;
  std::string health;
  for (const auto& [k, v] : c["health"].items()) {
    health += fmt::format("{}{} {}", health.empty() ? "" : ", ", v.get<int>(), k);
  }
  std::printf("state:     %s%s\n", Str(c, "state").c_str(),
              c["paused"] ? " (automation paused)" : "");
  std::printf("epoch:     %s\n", Str(c, "epoch").c_str());
  if (!Str(c, "generation").empty()) {
    std::printf("generation: %s (the event log's history)\n", Str(c, "generation").c_str());
  }
  std::printf("slots:     %s of 16384 covered by %s masters%s\n", Str(c, "slots_covered").c_str(),
              Str(c, "masters").c_str(), c["open_slots"] ? ", open slots" : "");
  std::printf("members:   %s (%s)\n", Str(c, "members").c_str(), health.c_str());
  std::printf("plan:      %s\n", c["plan"].is_null() ? "none" : Str(c, "plan").c_str());
  if (c.contains("last_failure") && c["last_failure"].is_object()) {
    const json& f = c["last_failure"];
    std::printf("failed:    plan %s (%s): %s\n", Str(f, "plan").c_str(), Str(f, "reason").c_str(),
                Str(f, "detail").c_str());
  }
  std::printf("requests:  %s pending\n", Str(c, "pending_requests").c_str());
  if (c.contains("retired") && c["retired"].is_array() && !c["retired"].empty()) {
    std::string retired;
    for (const auto& a : c["retired"]) {
      retired += (retired.empty() ? "" : ", ") + a.get<std::string>();
    }
    std::printf("retired:   %s (kept out while discovery lists them; add-node takes one back)\n",
                retired.c_str());
  }
  if (c.contains("discovery") && c["discovery"].is_object()) {
    const json& d = c["discovery"];
    const std::string source = Str(d, "source");
    const bool ok = d.value("reachable", true);
    const std::string word(DiscoveryStatusWord(source, ok));
    if (ok) {
      std::printf("discovery: %s\n", word.c_str());
    } else {
      const std::string from = source.empty() ? "" : " (" + source + ")";
      std::printf("discovery: %s since %s%s: %s\n", word.c_str(), Str(d, "since").c_str(),
                  from.c_str(), Str(d, "reason").c_str());
    }
  }
  return 0;
}

int RunNodes(const RemoteArgs& a) {
  Ctl ctl(a);
  Reply r = ctl.Get("/v1/nodes");
  if (!r.error.empty()) return Fail(r);
  if (a.json) {
    std::printf("%s\n", r.body["nodes"].dump(2).c_str());
    return 0;
  }
  Table t({"ADDRESS", "HOST", "ROLE", "MASTER", "SLOTS", "HEALTH", "MEMORY", "OPS/S", "KEYS"});
  for (const auto& n : r.body["nodes"]) {
    std::string health = Str(n, "health");
    if (Str(n, "reason") != "none" && !Str(n, "reason").empty())
      health += "(" + Str(n, "reason") + ")";
    std::string role = Str(n, "role");
    if (n.value("retired", false)) role += " (retired)";
    t.Add(
        {Str(n, "address"), Str(n, "host"), role, Str(n, "master"), Str(n, "slot_count"),
         health, Bytes(n["used_memory"]),
         n["ops_per_sec"].is_number() ? fmt::format("{:.0f}", n["ops_per_sec"].get<double>()) : "",
         Str(n, "keys")});
  }
  t.Print(stdout, StdoutIsTerminal());
  return 0;
}

int RunPlans(const RemoteArgs& a) {
  Ctl ctl(a);
  Reply r = ctl.Get("/v1/plans");
  if (!r.error.empty()) return Fail(r);
  if (a.json) {
    std::printf("%s\n", r.body.dump(2).c_str());
    return 0;
  }
  const json& cur = r.body["current"];
  if (!cur.is_null()) {
    double progress = cur.value("progress", 0.0);
    std::printf("plan %s running: %s\n  %s %.0f%%\n", Str(cur, "id").c_str(),
                Str(cur, "reason").c_str(), Bar(progress).c_str(), progress * 100);
    int i = 0;
    for (const auto& s : cur["steps"]) {
      std::printf("  %2d. %-8s %s\n", ++i, Str(s, "status").c_str(), Str(s, "text").c_str());
    }
  } else {
    std::printf("no plan in flight\n");
  }
  Table t({"PLAN", "OUTCOME", "REASON", "DETAIL"});
  for (const auto& h : r.body["history"]) {
    t.Add({Str(h, "id"), Str(h, "state"), Str(h, "reason"), Str(h, "detail")});
  }
  if (!t.empty()) t.Print(stdout, StdoutIsTerminal());
  return 0;
}

int RunOperation(const std::string& kind, const RemoteArgs& a) {
  json body{{"kind", kind}};
  if (!a.from.empty()) body["from"] = a.from;
  if (!a.to.empty()) body["to"] = a.to;
  if (!a.node.empty()) body["node"] = a.node;
  if (!a.slots.empty()) body["slots"] = a.slots;
  if (a.count) body["count"] = a.count;
  for (const std::string& w : a.weights) {
    auto eq = w.rfind('=');
    char* end = nullptr;
    double v = eq == std::string::npos ? 0 : std::strtod(w.c_str() + eq + 1, &end);
    if (eq == std::string::npos || eq == 0 || end == w.c_str() + eq + 1 || *end != '\0') {
      std::fprintf(stderr, "redis-svc: --weight wants ADDR=WEIGHT, got '%s'\n", w.c_str());
      return 2;
    }
    body["weights"][w.substr(0, eq)] = v;
  }
  if (a.threshold >= 0) body["threshold"] = a.threshold;
  if (kind == "failover") {
    body["mode"] = a.mode;
    if (a.mode != "default" && a.yes_data_loss) body["confirm"] = "I accept possible data loss";
  }
  Ctl ctl(a);
  Reply r = ctl.Post(a.dry_run ? "/v1/operations?dry_run=1" : "/v1/operations", body);
  if (!r.error.empty()) return Fail(r);
  if (a.json) {
    std::printf("%s\n", r.body.dump(2).c_str());
    if (a.dry_run || a.no_wait) return 0;
  }
  if (a.dry_run) {
    std::string decision = Str(r.body, "decision");
    if (decision == "plan") {
      std::printf("the planner would run: %s\n", Str(r.body, "reason").c_str());
      int i = 0;
      for (const auto& s : r.body["steps"]) std::printf("  %2d. %s\n", ++i, Str(s, "text").c_str());
      return 0;
    }
    std::printf("%s: %s\n", decision == "reject" ? "the planner would reject it" : "note",
                Str(r.body, "reason").c_str());
    return decision == "reject" ? 1 : 0;
  }
  if (!r.body.contains("id")) {
    std::printf("recorded (event %s)\n", Str(r.body, "seq").c_str());
    return 0;
  }
  uint64_t id = r.body["id"];
  if (!a.json) {
    std::printf("request %llu recorded (event %s)\n", static_cast<unsigned long long>(id),
                Str(r.body, "seq").c_str());
  }
  if (a.no_wait || kind == "pause" || kind == "resume") return 0;
  return Follow(ctl, id);
}

}  // namespace rs::svc
