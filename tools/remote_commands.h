// redis-svc subcommands that talk to a running redis-ctl over its admin API (--ctl URL):
// status, nodes, plans, and the operations migrate, rebalance, failover, add-node, remove-node,
// fix, pause, resume, which follow the plan they cause with a progress bar.
// Thread contract: one call per process.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rs::svc {

struct RemoteArgs {
  std::string ctl = "http://127.0.0.1:8080";
  std::string token;  // Default $REDIS_SVC_TOKEN.
  bool json = false;
  bool no_wait = false;  // Operations: return once recorded.
  bool dry_run = false;  // Operations: show the plan the planner would run; record nothing.
  // Operation fields.
  std::string from, to, node, slots, mode = "default";
  uint32_t count = 0;
  std::vector<std::string> weights;  // "ADDR=WEIGHT".
  double threshold = -1;
  bool yes_data_loss = false;  // Failover force/takeover.
};

int RunStatus(const RemoteArgs& args);
int RunNodes(const RemoteArgs& args);
int RunPlans(const RemoteArgs& args);
// kind: migrate, rebalance, failover, add-node, remove-node, fix, pause, resume.
int RunOperation(const std::string& kind, const RemoteArgs& args);

}  // namespace rs::svc
