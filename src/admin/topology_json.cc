#include "admin/topology_json.h"

#include <fmt/format.h>

namespace rs::admin {
namespace {

nlohmann::json NodeJson(const model::NodeRef& n) {
  return {{"address", n.address}, {"id", n.id}};
}

Result<model::NodeRef> NodeFrom(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("address") || !j["address"].is_string()) {
    return Status::InvalidArgument("node without an address");
  }
  model::NodeRef n;
  n.address = j["address"].get<std::string>();
  if (j.contains("id") && j["id"].is_string()) n.id = j["id"].get<std::string>();
  return n;
}

}  // namespace

nlohmann::json TopologyToJson(const model::Topology& topology) {
  nlohmann::json shards = nlohmann::json::array();
  for (const model::Shard& s : topology.shards) {
    nlohmann::json slots = nlohmann::json::array();
    for (const model::SlotRange& r : s.slots) slots.push_back({r.first, r.last});
    nlohmann::json replicas = nlohmann::json::array();
    for (const model::NodeRef& r : s.replicas) replicas.push_back(NodeJson(r));
    shards.push_back({{"master", NodeJson(s.master)}, {"slots", slots}, {"replicas", replicas}});
  }
  return {{"epoch", topology.epoch}, {"shards", shards}};
}

Result<model::Topology> TopologyFromJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument("topology is not a JSON object");
  if (!j.contains("epoch") || !j["epoch"].is_number_unsigned()) {
    return Status::InvalidArgument("topology without a numeric epoch");
  }
  model::Topology t;
  t.epoch = j["epoch"].get<uint64_t>();
  if (!j.contains("shards") || !j["shards"].is_array()) {
    return Status::InvalidArgument("topology without a shards array");
  }
  for (const auto& js : j["shards"]) {
    model::Shard s;
    if (!js.is_object() || !js.contains("master"))
      return Status::InvalidArgument("shard without a master");
    RS_ASSIGN_OR_RETURN(s.master, NodeFrom(js["master"]));
    if (js.contains("slots") && js["slots"].is_array()) {
      for (const auto& r : js["slots"]) {
        if (!r.is_array() || r.size() != 2 || !r[0].is_number_unsigned() ||
            !r[1].is_number_unsigned() || r[0].get<uint32_t>() > r[1].get<uint32_t>() ||
            r[1].get<uint32_t>() >= model::kSlotCount) {
          return Status::InvalidArgument(fmt::format("bad slot range {}", r.dump()));
        }
        s.slots.push_back({r[0].get<uint16_t>(), r[1].get<uint16_t>()});
      }
    }
    if (js.contains("replicas") && js["replicas"].is_array()) {
      for (const auto& r : js["replicas"]) {
        RS_ASSIGN_OR_RETURN(model::NodeRef n, NodeFrom(r));
        s.replicas.push_back(std::move(n));
      }
    }
    t.shards.push_back(std::move(s));
  }
  return t;
}

}  // namespace rs::admin
