// Why a node cannot join: a MEET that does not complete, a replica that does not sync. Each
// explanation says what the cluster shows and what to set, for step-failed and the logs.
// Thread contract: free functions; those taking an AdminPool use it from the calling thread.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "model/plan.h"
#include "executor/redis_admin.h"
#include "health/cluster_nodes_parser.h"
#include "health/info_parser.h"

namespace rs::executor {

// How a node tells peers its address (CONFIG GET); unknown when CONFIG is refused or renamed.
struct SourceConfig {
  bool known = false;
  std::string bind_source_addr;     // Empty: the kernel picks the source of outgoing connections.
  std::string cluster_announce_ip;  // Empty: peers take the address a connection comes from.
};

// Reads bind-source-addr and cluster-announce-ip on `address`; `known` false if it cannot.
SourceConfig ReadSourceConfig(AdminPool* pool, const std::string& address);

// Why `viewer`, whose CLUSTER NODES is `view`, does not list `node` at its address with the
// handshake done, e.g. "127.0.0.3:7001 sees a handshake from 127.0.0.1:7002 instead of
// 127.0.0.2:7002: ... set bind-source-addr 127.0.0.2 ...". Empty when the view shows nothing about
// the node. Pure.
std::string ExplainUnknownPeer(const std::string& viewer, const health::ClusterNodes& view,
                               const model::NodeRef& node, const SourceConfig& config);

// A hint for a peer that shows nothing about `node`: " (X sets neither bind-source-addr nor
// cluster-announce-ip: ...)" when that is so, else empty. Pure.
std::string SourceHint(const model::NodeRef& node, const SourceConfig& config);

// "master_link_status:down for 12 s (master_link_down_since_seconds)" from a replica's INFO
// replication. Pure.
std::string DescribeMasterLink(const health::InfoFields& info);

// What `master` answers a connection from the local address `source` (empty: the kernel's pick):
// a greeting it sends unasked (-DENIED ...), else the answer to PING (after AUTH when `options`
// has a password), as RESP text ("+PONG", "-DENIED Redis is running in protected mode ...").
// FailedPrecondition when `source` is not an address of this host; Unavailable / Timeout when the
// connection fails.
Result<std::string> TryConnection(const std::string& source, const std::string& master,
                                  const ConnectOptions& options);

// What to set, given what `master` answered a connection from `source`. Pure.
std::string AdviceForAnswer(const std::string& master, const std::string& source,
                            const Result<std::string>& answer);

// Why `replica` has not completed its first sync from `master`: its master link from INFO
// replication, and what the master answers a connection from the replica's address.
std::string ExplainReplicaNotSynced(AdminPool* pool, const model::NodeRef& replica,
                                    const model::NodeRef& master);

}  // namespace rs::executor
