// lainlet JSON bodies (lainlet-api.md 1.5) turned into validated values, and the rule that picks
// the redis members out of a procwatcher snapshot. Pure: no sockets.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/member.h"

namespace rs::discovery {

// One entry of a procwatcher pod group, as lainlet sends it (no validation of the values).
struct Pod {
  uint32_t instance = 0;
  std::string ip;         // "" while the container has no IP yet.
  int port = 0;           // The spec port; 0 when the proc declares none.
  std::string proc_name;  // "" when the container was not inspected yet.
  auto operator<=>(const Pod&) const = default;
};

// Where a pod runs, from /v2/coreinfowatcher.
struct PodHost {
  std::string node_name;
  std::string node_ip;
  auto operator<=>(const PodHost&) const = default;
};

// `[{"proc":[Pod...]}, ...]` → every pod of every group. `null` lists count as empty; a body that
// is not this shape is an error (never an empty snapshot).
Result<std::vector<Pod>> ParseProcwatcher(std::string_view body);

// `{"<app>.<type>.<proc>": {"PodInfos": [...]}}` → InstanceNo → host, for the pod groups whose
// last name segment is `proc_name`.
Result<std::map<uint32_t, PodHost>> ParseCoreinfo(std::string_view body,
                                                  std::string_view proc_name);

struct Selection {
  std::vector<model::Member> members;  // Sorted by address.
  std::vector<std::string> skipped;       // Why entries of the proc were left out, for logs.
};

// Keeps the pods of `proc_name` that have an IP and a port, keyed by InstanceNo (a duplicate
// instance keeps the first entry). host = NodeName from `hosts` when known, else the IP.
Selection SelectMembers(const std::vector<Pod>& pods, std::string_view proc_name,
                        const std::map<uint32_t, PodHost>& hosts);

}  // namespace rs::discovery
