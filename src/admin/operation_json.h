// POST /v1/operations bodies -> OperatorRequest, validated at the edge against the state so a
// bad request gets a 400 with a reason instead of reaching the planner; plans as JSON.
// Thread contract: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "model/cluster_state.h"

namespace rs::admin {

// What a FORCE or TAKEOVER failover's "confirm" field must say.
inline constexpr std::string_view kDataLossConfirmation = "I accept possible data loss";

// "0-100,200" -> ranges (normalised). Fails on anything else or slots >= 16384.
Result<std::vector<model::SlotRange>> ParseSlotList(std::string_view text);

// True when `address` is a member or a node the controller has probed or observed.
bool KnownNode(const model::ClusterState& state, const std::string& address);

// Validates and converts; `who` is the token's name. Kinds: migrate, rebalance, failover,
// add-node, remove-node, pause, resume, fix (mute/unmute are handled by the server).
Result<model::OperatorRequest> OperationFromJson(const nlohmann::json& body,
                                                    const model::ClusterState& state,
                                                    const std::string& who);

nlohmann::json PlanStepsToJson(const model::Plan& plan);
// The plan in flight with per-step status and progress (done / total slots for migrations).
nlohmann::json PlanInFlightToJson(const model::PlanInFlight& p);

}  // namespace rs::admin
