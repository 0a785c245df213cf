#include "eventlog/event_format.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "model/plan.h"
#include "eventlog/svc_time.h"

namespace rs::svc {
namespace {

using namespace rs::eventlog;
using namespace rs::model;
using nlohmann::json;

json Ranges(const std::vector<SlotRange>& r) { return RangesToString(r); }
json Ref(const NodeRef& n) { return json{{"address", n.address}, {"id", n.id}}; }

json TopologyJson(const Topology& t) {
  json shards = json::array();
  for (const Shard& s : t.shards) {
    json reps = json::array();
    for (const NodeRef& r : s.replicas) reps.push_back(Ref(r));
    shards.push_back({{"master", Ref(s.master)},
                      {"slots", Ranges(s.slots)},
                      {"slot_count", CountSlots(s.slots)},
                      {"replicas", reps}});
  }
  return json{{"epoch", t.epoch}, {"shards", shards}};
}

json HealthJson(const NodeHealth& h) {
  return json{{"health", HealthName(h.health)},
              {"reason", ReasonName(h.reason)},
              {"detail", h.detail},
              {"since", FormatTime(h.since_ms)}};
}

json ObservationJson(const NodeObservation& o) {
  json open = json::array();
  for (const OpenSlot& s : o.open_slots) {
    open.push_back({{"slot", s.slot},
                    {"state", s.migrating ? "migrating" : "importing"},
                    {"peer", s.peer_id}});
  }
  json peers = json::array();
  for (const PeerView& p : o.peers) {
    peers.push_back({{"id", p.id},
                     {"address", p.address},
                     {"role", RoleName(p.role)},
                     {"master_id", p.master_id},
                     {"pfail", p.pfail},
                     {"fail", p.fail},
                     {"handshake", p.handshake},
                     {"connected", p.connected},
                     {"config_epoch", p.config_epoch},
                     {"slots", Ranges(p.slots)}});
  }
  return json{{"id", o.id},
              {"role", RoleName(o.role)},
              {"master_id", o.master_id},
              {"slots", Ranges(o.slots)},
              {"open_slots", open},
              {"config_epoch", o.config_epoch},
              {"current_epoch", o.current_epoch},
              {"repl_offset", o.repl_offset},
              {"master_link_up", o.master_link_up},
              {"cluster_ok", o.cluster_ok},
              {"keys", o.keys},
              {"peers", peers}};
}

json RequestJson(const OperatorRequest& r) {
  json j{{"id", r.id}, {"who", r.who}, {"kind", OperatorKindName(r.kind)}};
  if (!r.from.empty()) j["from"] = r.from;
  if (!r.to.empty()) j["to"] = r.to;
  if (!r.node.empty()) j["node"] = r.node;
  if (!r.slots.empty()) j["slots"] = Ranges(r.slots);
  if (r.count) j["count"] = r.count;
  if (!r.weights.empty()) j["weights"] = r.weights;
  if (r.threshold) j["threshold"] = r.threshold;
  if (r.plan_id) j["plan_id"] = r.plan_id;
  return j;
}

json PlanJson(const Plan& p) {
  json steps = json::array();
  for (const Step& s : p.steps) steps.push_back(StepToString(s));
  return json{{"id", p.id}, {"reason", p.reason}, {"causes", p.causes}, {"steps", steps}};
}

std::string RequestText(const OperatorRequest& r) {
  std::string out =
      fmt::format("{} asks {}", r.who.empty() ? "?" : r.who, OperatorKindName(r.kind));
  if (!r.slots.empty()) out += " slots " + RangesToString(r.slots);
  if (r.count) out += fmt::format(" count {}", r.count);
  if (!r.from.empty()) out += " from " + r.from;
  if (!r.to.empty()) out += " to " + r.to;
  if (!r.node.empty()) out += " node " + r.node;
  if (r.plan_id) out += fmt::format(" plan {}", r.plan_id);
  return out;
}

struct Describer {
  std::string operator()(const MembershipChanged& m) const {
    std::string out = fmt::format("{} members from {}:", m.members.size(), m.source);
    for (const Member& x : m.members) out += fmt::format(" {}#{}", x.address, x.instance);
    return out;
  }
  std::string operator()(const NodeHealthChanged& h) const {
    std::string out = fmt::format("{} {}", h.address, HealthName(h.health.health));
    if (h.health.reason != HealthReason::kNone) {
      out += fmt::format(" ({}{}{})", ReasonName(h.health.reason),
                         h.health.detail.empty() ? "" : ": ", h.health.detail);
    } else if (!h.health.detail.empty()) {
      out += fmt::format(" ({})", h.health.detail);
    }
    return out;
  }
  std::string operator()(const NodeObserved& o) const {
    const NodeObservation& v = o.observation;
    std::string out = fmt::format("{} {} {}", o.address, RoleName(v.role), v.id.substr(0, 8));
    if (v.role == Role::kMaster) out += " slots " + RangesToString(v.slots);
    if (v.role == Role::kReplica) out += " of " + v.master_id.substr(0, 8);
    if (!v.open_slots.empty()) out += fmt::format(" open_slots {}", v.open_slots.size());
    out += fmt::format(" epoch {} keys {}{}", v.config_epoch, v.keys,
                       v.cluster_ok ? "" : " cluster_state:fail");
    return out;
  }
  std::string operator()(const OperatorRequested& r) const { return RequestText(r.request); }
  std::string operator()(const OperatorRejected& r) const {
    return fmt::format("request {} rejected: {}", r.request_id, r.reason);
  }
  std::string operator()(const PlanProposed& p) const {
    std::string out =
        fmt::format("plan {}: {} ({} steps)", p.plan.id, p.plan.reason, p.plan.steps.size());
    if (p.request_id) out += fmt::format(" for request {}", p.request_id);
    return out;
  }
  std::string operator()(const StepStarted& s) const {
    return fmt::format("plan {} step {} started", s.plan_id, s.step + 1);
  }
  std::string operator()(const StepProgress& s) const {
    return fmt::format("plan {} step {}: slots {} done, {} keys moved", s.plan_id, s.step + 1,
                       RangesToString(s.slots_done), s.keys_moved);
  }
  std::string operator()(const StepCompleted& s) const {
    return fmt::format("plan {} step {} completed", s.plan_id, s.step + 1);
  }
  std::string operator()(const StepFailed& s) const {
    return fmt::format("plan {} step {} failed: {}", s.plan_id, s.step + 1, s.error);
  }
  std::string operator()(const PlanFinished& p) const {
    return fmt::format("plan {} {}{}{}", p.plan_id, OutcomeName(p.outcome),
                       p.reason.empty() ? "" : ": ", p.reason);
  }
  std::string operator()(const TopologyCommitted& t) const {
    std::string out = fmt::format("epoch {}:", t.topology.epoch);
    for (const Shard& s : t.topology.shards) {
      out += fmt::format(" {}={}", s.master.address, RangesToString(s.slots));
    }
    return out;
  }
  std::string operator()(const ControllerStarted& c) const {
    return fmt::format("redis-ctl {} started (config {})", c.version, c.config_hash);
  }
  std::string operator()(const ControllerStopped& c) const {
    return c.clean ? "redis-ctl stopped cleanly" : "redis-ctl stopped (unclean)";
  }
  std::string operator()(const AlertRaised& a) const {
    return fmt::format("{} {}: {}{}", a.kind, a.subject, a.message,
                       a.delivered ? "" : " (not delivered)");
  }
  std::string operator()(const DiscoveryStatusChanged& d) const {
    return fmt::format("{} {}{}{}", d.source, DiscoveryStatusWord(d.source, d.reachable),
                       d.reason.empty() ? "" : ": ", d.reason);
  }
};

struct Jsoner {
  json operator()(const MembershipChanged& m) const {
    json members = json::array();
    for (const Member& x : m.members) {
      members.push_back({{"instance", x.instance}, {"address", x.address}, {"host", x.host}});
    }
    return json{{"members", members}, {"source", m.source}};
  }
  json operator()(const NodeHealthChanged& h) const {
    return json{{"address", h.address}, {"health", HealthJson(h.health)}};
  }
  json operator()(const NodeObserved& o) const {
    return json{{"address", o.address}, {"observation", ObservationJson(o.observation)}};
  }
  json operator()(const OperatorRequested& r) const { return RequestJson(r.request); }
  json operator()(const OperatorRejected& r) const {
    return json{{"request_id", r.request_id}, {"reason", r.reason}};
  }
  json operator()(const PlanProposed& p) const {
    return json{{"plan", PlanJson(p.plan)}, {"request_id", p.request_id}};
  }
  json operator()(const StepStarted& s) const {
    return json{{"plan_id", s.plan_id}, {"step", s.step}};
  }
  json operator()(const StepProgress& s) const {
    return json{{"plan_id", s.plan_id},
                {"step", s.step},
                {"slots_done", Ranges(s.slots_done)},
                {"keys_moved", s.keys_moved}};
  }
  json operator()(const StepCompleted& s) const {
    return json{{"plan_id", s.plan_id}, {"step", s.step}};
  }
  json operator()(const StepFailed& s) const {
    return json{{"plan_id", s.plan_id}, {"step", s.step}, {"error", s.error}};
  }
  json operator()(const PlanFinished& p) const {
    return json{{"plan_id", p.plan_id}, {"outcome", OutcomeName(p.outcome)}, {"reason", p.reason}};
  }
  json operator()(const TopologyCommitted& t) const { return TopologyJson(t.topology); }
  json operator()(const ControllerStarted& c) const {
    return json{{"version", c.version}, {"config_hash", c.config_hash}};
  }
  json operator()(const ControllerStopped& c) const { return json{{"clean", c.clean}}; }
  json operator()(const AlertRaised& a) const {
    return json{{"subject", a.subject},
                {"kind", a.kind},
                {"message", a.message},
                {"delivered", a.delivered}};
  }
  json operator()(const DiscoveryStatusChanged& d) const {
    return json{{"source", d.source}, {"reachable", d.reachable}, {"reason", d.reason}};
  }
};

}  // namespace

std::string_view ReasonName(HealthReason r) {
  switch (r) {
    case HealthReason::kNone:
      return "none";
    case HealthReason::kRefused:
      return "refused";
    case HealthReason::kTimeout:
      return "timeout";
    case HealthReason::kLoading:
      return "loading";
    case HealthReason::kAuth:
      return "auth";
    case HealthReason::kClusterDown:
      return "cluster-down";
    case HealthReason::kError:
      return "error";
    case HealthReason::kUnknown:
      return "unknown";
  }
  return "?";
}

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kUnknown:
      return "unknown";
    case Role::kMaster:
      return "master";
    case Role::kReplica:
      return "replica";
  }
  return "?";
}

std::string_view StepStatusName(StepStatus s) {
  switch (s) {
    case StepStatus::kPending:
      return "pending";
    case StepStatus::kRunning:
      return "running";
    case StepStatus::kDone:
      return "done";
    case StepStatus::kFailed:
      return "failed";
    case StepStatus::kUnknown:
      return "unknown";
  }
  return "?";
}

std::string_view OutcomeName(PlanOutcome o) {
  switch (o) {
    case PlanOutcome::kCompleted:
      return "completed";
    case PlanOutcome::kFailed:
      return "failed";
    case PlanOutcome::kAborted:
      return "aborted";
    case PlanOutcome::kSuperseded:
      return "superseded";
    case PlanOutcome::kUnknown:
      return "unknown";
  }
  return "?";
}

std::string_view OperatorKindName(OperatorKind k) {
  switch (k) {
    case OperatorKind::kMigrate:
      return "migrate";
    case OperatorKind::kRebalance:
      return "rebalance";
    case OperatorKind::kFailover:
      return "failover";
    case OperatorKind::kAddNode:
      return "add-node";
    case OperatorKind::kRemoveNode:
      return "remove-node";
    case OperatorKind::kPause:
      return "pause";
    case OperatorKind::kResume:
      return "resume";
    case OperatorKind::kFix:
      return "fix";
    case OperatorKind::kAbort:
      return "abort";
    case OperatorKind::kUnknown:
      return "unknown";
  }
  return "?";
}

std::string KindName(const DecodedEvent& d) {
  switch (d.kind) {
    case RecordKind::kEvent:
      return std::string(EventKindName(d.event.payload));
    case RecordKind::kCompacted:
      return "compacted(" + TagName(d.tag) + ")";
    case RecordKind::kUnknown:
      return TagName(d.tag);
  }
  return "?";
}

std::string Describe(const DecodedEvent& d) {
  switch (d.kind) {
    case RecordKind::kEvent:
      return std::visit(Describer{}, d.event.payload);
    case RecordKind::kCompacted:
      return fmt::format("{} event about {} removed by retention", TagName(d.tag), d.address);
    case RecordKind::kUnknown:
      return fmt::format("a kind this redis-svc does not know (tag {}); upgrade redis-svc", d.tag);
  }
  return "";
}

json EventToJson(const DecodedEvent& d) {
  json j{{"seq", d.event.seq},         {"time", FormatTime(d.event.time_ms)},
         {"time_ms", d.event.time_ms}, {"cause", d.event.cause},
         {"source", d.event.source},   {"kind", KindName(d)}};
  if (d.kind == RecordKind::kEvent) {
    j["data"] = std::visit(Jsoner{}, d.event.payload);
  } else if (d.kind == RecordKind::kCompacted) {
    j["data"] = {{"kind", TagName(d.tag)}, {"address", d.address}};
  } else {
    j["data"] = {{"tag", d.tag}};
  }
  j["summary"] = Describe(d);
  return j;
}

json DiscoveryJson(const ClusterState& s) {
  return json{{"reachable", s.discovery_reachable},
              {"reason", s.discovery_reason},
              {"since", s.discovery_since_ms ? json(FormatTime(s.discovery_since_ms)) : json()},
              {"since_ms", s.discovery_since_ms},
              {"source", s.discovery_source}};
}

std::string_view DiscoveryStatusWord(std::string_view source, bool ok) {
  if (source.starts_with("file:")) return ok ? "usable" : "UNUSABLE";
  return ok ? "reachable" : "UNREACHABLE";
}

json StateToJson(const ClusterState& s) {
  json members = json::array();
  for (const auto& [addr, m] : s.members) {
    members.push_back({{"instance", m.instance}, {"address", addr}, {"host", m.host}});
  }
  json health = json::object();
  for (const auto& [addr, h] : s.health) health[addr] = HealthJson(h);
  json observed = json::object();
  for (const auto& [addr, o] : s.observed) observed[addr] = ObservationJson(o);
  json plan = nullptr;
  if (s.plan) {
    json steps = json::array();
    for (size_t i = 0; i < s.plan->plan.steps.size(); ++i) {
      steps.push_back({{"step", StepToString(s.plan->plan.steps[i])},
                       {"status", StepStatusName(s.plan->status[i])},
                       {"slots_done", Ranges(s.plan->slots_done[i])},
                       {"keys_moved", s.plan->keys_moved[i]}});
    }
    plan = {{"id", s.plan->plan.id},
            {"reason", s.plan->plan.reason},
            {"steps", steps},
            {"error", s.plan->error},
            {"abort_requested", s.plan->abort_requested},
            {"proposed_seq", s.plan->proposed_seq}};
  }
  json pending = json::array();
  for (const OperatorRequest& r : s.pending_requests) pending.push_back(RequestJson(r));
  json history = json::array();
  for (const PlanSummary& p : s.plan_history) {
    history.push_back({{"id", p.id},
                       {"reason", p.reason},
                       {"outcome", OutcomeName(p.outcome)},
                       {"detail", p.detail},
                       {"proposed_seq", p.proposed_seq},
                       {"finished_seq", p.finished_seq}});
  }
  return json{{"seq", s.last_seq},
              {"time", FormatTime(s.last_time_ms)},
              {"members", members},
              {"membership_seq", s.membership_seq},
              {"retired", std::vector<std::string>(s.retired.begin(), s.retired.end())},
              {"health", health},
              {"observed", observed},
              {"layout_changed", s.layout_changed_ms ? json(FormatTime(s.layout_changed_ms)) : json()},
              {"topology", TopologyJson(s.topology)},
              {"plan", plan},
              {"plan_history", history},
              {"pending_requests", pending},
              {"paused", s.paused},
              {"discovery", DiscoveryJson(s)}};
}

void Table::Print(std::FILE* out, bool aligned) const {
  if (!aligned) {
    for (const auto& row : rows_) {
      for (size_t i = 0; i < row.size(); ++i) {
        std::fputs(row[i].c_str(), out);
        std::fputc(i + 1 == row.size() ? '\n' : '\t', out);
      }
    }
    return;
  }
  std::vector<size_t> width(header_.size(), 0);
  for (size_t i = 0; i < header_.size(); ++i) width[i] = header_[i].size();
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  auto line = [&](const std::vector<std::string>& row) {
    std::string s;
    for (size_t i = 0; i < row.size(); ++i) {
      s += row[i];
      // The last column is not padded, so long summaries do not leave trailing blanks.
      if (i + 1 < row.size()) s += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::fprintf(out, "%s\n", s.c_str());
  };
  line(header_);
  for (const auto& row : rows_) line(row);
}

bool StdoutIsTerminal() { return isatty(STDOUT_FILENO) == 1; }

}  // namespace rs::svc
