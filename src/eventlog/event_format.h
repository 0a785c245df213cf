// How redis-svc prints events and cluster state: one human line per event, JSON for --json,
// and tables that align on a terminal and stay tab-separated when piped.
// Thread contract: free functions and a value-type table.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/cluster_state.h"
#include "eventlog/event_codec.h"

namespace rs::svc {

// "127.0.0.1:7003 down (refused: connect: Connection refused)", "plan 17 proposed: drain ...".
std::string Describe(const eventlog::DecodedEvent& d);
// The kind's name: "node-health", "compacted(node-health)", "unknown-77".
std::string KindName(const eventlog::DecodedEvent& d);

nlohmann::json EventToJson(const eventlog::DecodedEvent& d);
nlohmann::json StateToJson(const model::ClusterState& s);
// {"reachable", "reason", "since" (RFC 3339, null before any change), "since_ms", "source"
// (the source that reported the last change, "" before any)}.
nlohmann::json DiscoveryJson(const model::ClusterState& s);
// How a discovery status reads: lainlet (or an unnamed source) is "reachable"/"UNREACHABLE", a
// members file "usable"/"UNUSABLE".
std::string_view DiscoveryStatusWord(std::string_view source, bool ok);

std::string_view ReasonName(model::HealthReason r);
std::string_view RoleName(model::Role r);
std::string_view StepStatusName(model::StepStatus s);
std::string_view OutcomeName(model::PlanOutcome o);
std::string_view OperatorKindName(model::OperatorKind k);

// Rows printed aligned under a header on a terminal, or tab-separated without a header line's
// padding when piped (so `cut -f` and `awk -F'\t'` work).
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  void Print(std::FILE* out, bool aligned) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

bool StdoutIsTerminal();

}  // namespace rs::svc
