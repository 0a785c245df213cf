#include "proxy/routing_table.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/address.h"

namespace rs::proxy {

int RoutingTable::AssignedSlots() const {
  int n = 0;
  for (int16_t o : owner) n += o >= 0;
  return n;
}

int16_t RoutingTable::AddMaster(std::string_view address) {
  for (size_t i = 0; i < masters.size(); ++i) {
    if (masters[i] == address) return static_cast<int16_t>(i);
  }
  masters.emplace_back(address);
  replicas.emplace_back();
  return static_cast<int16_t>(masters.size() - 1);
}

std::shared_ptr<const RoutingTable> RoutingTable::WithSlotOwner(int slot,
                                                                std::string_view address) const {
  auto copy = std::make_shared<RoutingTable>(*this);
  copy->owner[slot] = copy->AddMaster(address);
  copy->source = "moved";
  return copy;
}

Result<RoutingTable> RoutingTable::FromTopologyJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("topology: body is not a JSON object");
  }
  RoutingTable table;
  table.source = "controller";
  auto epoch = j.find("epoch");
  if (epoch == j.end() || !epoch->is_number_unsigned()) {
    return Status::InvalidArgument("topology: missing or bad \"epoch\"");
  }
  table.epoch = epoch->get<uint64_t>();
  // Absent from controllers that predate it: the empty generation.
  if (auto g = j.find("generation"); g != j.end()) {
    if (!g->is_string()) return Status::InvalidArgument("topology: \"generation\" is not a string");
    table.generation = g->get<std::string>();
    // It goes back into the long-poll's query string as it is.
    const bool hex = std::all_of(table.generation.begin(), table.generation.end(),
                                 [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)); });
    if (!hex || table.generation.size() > 64) {
      return Status::InvalidArgument(
          fmt::format("topology: \"generation\" '{}' is not up to 64 hex digits", table.generation));
    }
  }
  auto shards = j.find("shards");
  if (shards == j.end() || !shards->is_array()) {
    return Status::InvalidArgument("topology: missing \"shards\" array");
  }
  for (const auto& shard : *shards) {
    if (!shard.is_object() || !shard.contains("master") || !shard["master"].is_object() ||
        !shard["master"].contains("address") || !shard["master"]["address"].is_string()) {
      return Status::InvalidArgument("topology: shard without master.address");
    }
    std::string master = shard["master"]["address"].get<std::string>();
    if (auto a = Address::Parse(master); !a.ok()) {
      return a.status().WithContext("topology: master address");
    }
    int16_t index = table.AddMaster(master);
    if (shard.contains("replicas") && shard["replicas"].is_array()) {
      for (const auto& r : shard["replicas"]) {
        if (r.is_object() && r.contains("address") && r["address"].is_string()) {
          table.replicas[index].push_back(r["address"].get<std::string>());
        }
      }
    }
    if (!shard.contains("slots") || !shard["slots"].is_array()) {
      return Status::InvalidArgument(fmt::format("topology: shard {} without slots", master));
    }
    for (const auto& range : shard["slots"]) {
      if (!range.is_array() || range.size() != 2 || !range[0].is_number_unsigned() ||
          !range[1].is_number_unsigned()) {
        return Status::InvalidArgument(fmt::format("topology: bad slot range for {}", master));
      }
      uint64_t first = range[0].get<uint64_t>(), last = range[1].get<uint64_t>();
      if (first > last || last >= kSlotCount) {
        return Status::InvalidArgument(
            fmt::format("topology: slot range {}-{} of {} out of bounds", first, last, master));
      }
      for (uint64_t s = first; s <= last; ++s) table.owner[s] = index;
    }
  }
  return table;
}

}  // namespace rs::proxy
