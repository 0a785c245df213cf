// The committed topology as JSON, the shape /v1/topology serves and redis-proxy reads:
// {"epoch": 7, "shards": [{"master": {"address": "127.0.0.1:7001", "id": "..."},
//   "slots": [[0, 5460]], "replicas": [{"address": "...", "id": "..."}]}]}
// (/v1/topology adds the log's "generation": 32 hex digits.)
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "model/types.h"

namespace rs::admin {

nlohmann::json TopologyToJson(const model::Topology& topology);
Result<model::Topology> TopologyFromJson(std::string_view text);

}  // namespace rs::admin
