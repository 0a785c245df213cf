#include "admin/operation_json.h"

#include <charconv>

#include <fmt/format.h>

#include "common/address.h"
#include "eventlog/event_format.h"

namespace rs::admin {
namespace {

using model::OperatorKind;
using nlohmann::json;

Result<uint32_t> ParseUint(std::string_view s, uint32_t max) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v > max) {
    return Status::InvalidArgument(fmt::format("'{}' is not a number up to {}", s, max));
  }
  return v;
}

Result<std::string> NodeField(const json& body, const char* field,
                              const model::ClusterState& state, bool must_be_known) {
  if (!body.contains(field) || !body[field].is_string()) {
    return Status::InvalidArgument(fmt::format("\"{}\" (a node address) is required", field));
  }
  std::string addr = body[field].get<std::string>();
  RS_RETURN_IF_ERROR(Address::Parse(addr).status());
  if (must_be_known && !KnownNode(state, addr)) {
    return Status::InvalidArgument(fmt::format("unknown node {}", addr));
  }
  return addr;
}

const char* StepKindName(model::StepKind k) {
  switch (k) {
    case model::StepKind::kMeet:
      return "meet";
    case model::StepKind::kAssignSlots:
      return "assign-slots";
    case model::StepKind::kSetConfigEpoch:
      return "set-config-epoch";
    case model::StepKind::kReplicate:
      return "replicate";
    case model::StepKind::kMigrate:
      return "migrate";
    case model::StepKind::kFailover:
      return "failover";
    case model::StepKind::kForget:
      return "forget";
    case model::StepKind::kReset:
      return "reset";
    case model::StepKind::kFixOpenSlot:
      return "fix-open-slot";
    case model::StepKind::kCommitTopology:
      return "commit-topology";
    case model::StepKind::kUnknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace

Result<std::vector<model::SlotRange>> ParseSlotList(std::string_view text) {
  std::vector<model::SlotRange> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    auto dash = part.find('-');
    RS_ASSIGN_OR_RETURN(uint32_t first, ParseUint(part.substr(0, dash), kSlotCount - 1));
    uint32_t last = first;
    if (dash != std::string_view::npos) {
      RS_ASSIGN_OR_RETURN(last, ParseUint(part.substr(dash + 1), kSlotCount - 1));
    }
    if (last < first) return Status::InvalidArgument(fmt::format("empty slot range '{}'", part));
    out.push_back({static_cast<uint16_t>(first), static_cast<uint16_t>(last)});
  }
  if (out.empty()) return Status::InvalidArgument("no slots given");
  return model::NormalizeRanges(std::move(out));
}

bool KnownNode(const model::ClusterState& state, const std::string& address) {
  return state.members.count(address) || state.observed.count(address) ||
         state.health.count(address);
}

Result<model::OperatorRequest> OperationFromJson(const json& body,
                                                    const model::ClusterState& state,
                                                    const std::string& who) {
  if (!body.is_object()) return Status::InvalidArgument("the body must be a JSON object");
  if (!body.contains("kind") || !body["kind"].is_string()) {
    return Status::InvalidArgument("\"kind\" is required");
  }
  const std::string kind = body["kind"].get<std::string>();
  model::OperatorRequest r;
  r.who = who;
  if (kind == "migrate") {
    r.kind = OperatorKind::kMigrate;
    RS_ASSIGN_OR_RETURN(r.from, NodeField(body, "from", state, true));
    RS_ASSIGN_OR_RETURN(r.to, NodeField(body, "to", state, true));
    if (r.from == r.to) return Status::InvalidArgument("\"from\" and \"to\" are the same node");
    const bool has_slots = body.contains("slots");
    const bool has_count = body.contains("count");
    if (has_slots == has_count) {
      return Status::InvalidArgument("give exactly one of \"slots\" (\"0-100,200\") or \"count\"");
    }
    if (has_slots) {
      if (!body["slots"].is_string()) {
        return Status::InvalidArgument("\"slots\" must be a string like \"0-100,200\"");
      }
      RS_ASSIGN_OR_RETURN(r.slots, ParseSlotList(body["slots"].get<std::string>()));
    } else {
      if (!body["count"].is_number_integer() || body["count"].get<int64_t>() <= 0 ||
          body["count"].get<int64_t>() > kSlotCount) {
        return Status::InvalidArgument("\"count\" must be an integer from 1 to 16384");
      }
      r.count = body["count"].get<uint32_t>();
    }
  } else if (kind == "rebalance") {
    r.kind = OperatorKind::kRebalance;
    if (body.contains("weights")) {
      if (!body["weights"].is_object()) {
        return Status::InvalidArgument("\"weights\" must be an object {\"addr\": weight}");
      }
      for (const auto& [addr, w] : body["weights"].items()) {
        if (!KnownNode(state, addr)) return Status::InvalidArgument("unknown node " + addr);
        if (!w.is_number() || w.get<double>() < 0 || w.get<double>() > 1000) {
          return Status::InvalidArgument("weights must be numbers from 0 to 1000");
        }
        r.weights[addr] = w.get<double>();
      }
    }
    if (body.contains("threshold")) {
      if (!body["threshold"].is_number() || body["threshold"].get<double>() < 0 ||
          body["threshold"].get<double>() > 100) {
        return Status::InvalidArgument("\"threshold\" must be a percentage from 0 to 100");
      }
      r.threshold = body["threshold"].get<double>();
    }
  } else if (kind == "failover") {
    r.kind = OperatorKind::kFailover;
    RS_ASSIGN_OR_RETURN(r.node, NodeField(body, "node", state, true));
    std::string mode = body.value("mode", std::string("default"));
    if (mode == "default") {
      r.mode = model::FailoverMode::kDefault;
    } else if (mode == "force" || mode == "takeover") {
      r.mode = mode == "force" ? model::FailoverMode::kForce : model::FailoverMode::kTakeover;
      if (!body.contains("confirm") || !body["confirm"].is_string() ||
          body["confirm"].get<std::string>() != kDataLossConfirmation) {
        return Status::InvalidArgument(fmt::format(
            "a {} failover may lose writes the old master acknowledged; to go ahead, set "
            "\"confirm\": \"{}\"",
            mode, kDataLossConfirmation));
      }
    } else {
      return Status::InvalidArgument("\"mode\" must be default, force or takeover");
    }
  } else if (kind == "add-node") {
    r.kind = OperatorKind::kAddNode;
    RS_ASSIGN_OR_RETURN(r.node, NodeField(body, "node", state, false));
  } else if (kind == "remove-node") {
    r.kind = OperatorKind::kRemoveNode;
    RS_ASSIGN_OR_RETURN(r.node, NodeField(body, "node", state, true));
  } else if (kind == "pause") {
    r.kind = OperatorKind::kPause;
  } else if (kind == "resume") {
    r.kind = OperatorKind::kResume;
  } else if (kind == "fix") {
    r.kind = OperatorKind::kFix;
  } else {
    return Status::InvalidArgument(fmt::format(
        "unknown kind '{}' (migrate, rebalance, failover, add-node, remove-node, pause, resume, "
        "fix, mute, unmute)",
        kind));
  }
  return r;
}

json PlanStepsToJson(const model::Plan& plan) {
  json steps = json::array();
  for (const model::Step& s : plan.steps) {
    json j{{"kind", StepKindName(s.kind)},
           {"text", model::StepToString(s)},
           {"target", s.target.address},
           {"peer", s.peer.address}};
    if (!s.slots.empty()) {
      j["slots"] = model::RangesToString(s.slots);
      j["slots_total"] = model::CountSlots(s.slots);
    }
    steps.push_back(std::move(j));
  }
  return steps;
}

json PlanInFlightToJson(const model::PlanInFlight& p) {
  json steps = PlanStepsToJson(p.plan);
  uint64_t total = 0, done = 0, finished = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto status = i < p.status.size() ? p.status[i] : model::StepStatus::kPending;
    steps[i]["status"] = svc::StepStatusName(status);
    if (status == model::StepStatus::kDone) ++finished;
    if (p.plan.steps[i].kind == model::StepKind::kMigrate) {
      uint32_t step_total = model::CountSlots(p.plan.steps[i].slots);
      uint32_t step_done = status == model::StepStatus::kDone
                               ? step_total
                               : model::CountSlots(p.slots_done[i]);
      steps[i]["slots_done"] = step_done;
      steps[i]["keys_moved"] = i < p.keys_moved.size() ? p.keys_moved[i] : 0;
      total += step_total;
      done += step_done;
    }
  }
  json j{{"id", p.plan.id},
         {"reason", p.plan.reason},
         {"state", "running"},
         {"steps", steps},
         {"steps_done", finished},
         {"error", p.error},
         {"abort_requested", p.abort_requested},
         {"proposed_seq", p.proposed_seq},
         {"causes", p.plan.causes}};
  // Progress: slots for plans that move slots, steps otherwise.
  j["progress"] = total ? static_cast<double>(done) / total
                        : (steps.empty() ? 1.0 : static_cast<double>(finished) / steps.size());
  j["slots_total"] = total;
  j["slots_done"] = done;
  return j;
}

}  // namespace rs::admin
