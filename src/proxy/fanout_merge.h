// How the replies of a command sent to every node (or every master) become the one reply a client
// of a single server expects. Pure functions over the nodes' raw replies, in the order the nodes
// were asked; each takes the client's protocol where it builds an aggregate or a text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/routing_table.h"

namespace rs::proxy {

// One node's part of a fan-out: its address and its whole reply (an error reply when the proxy
// could not reach it: "-ERR proxy: backend ... failed ...").
struct NodeReply {
  std::string node;
  std::string reply;
  bool is_error() const { return !reply.empty() && reply[0] == '-'; }
  // The error text without '-' and CRLF.
  std::string_view error_text() const;
};

// The top-level elements of an aggregate reply (array, set, push; a map counts its keys and
// values), as raw bytes; false for anything else or a malformed reply.
bool AggregateElements(std::string_view reply, std::vector<std::string_view>* elements);

// KEYS: one array of every node's elements; the first error wins.
std::string MergeConcat(const std::vector<NodeReply>& parts);

// FLUSHALL, CONFIG SET, ...: +OK when every node said OK; otherwise
// "ERR proxy: <COMMAND> failed on h:p (error), ... (the others: OK)".
std::string MergeAllOk(const std::vector<NodeReply>& parts, std::string_view command);

// SCRIPT KILL / FUNCTION KILL: +OK when one node killed it, NOTBUSY when none had one, any
// other error (UNKILLABLE, an unreachable node) as it came.
std::string MergeKill(const std::vector<NodeReply>& parts);

// PING: a node's own error (BUSY, LOADING, ...) as it came; else `own`, the proxy's PONG. The
// proxy's errors (a node it cannot reach) are not the client's: the proxy itself answers.
std::string MergePing(const std::vector<NodeReply>& parts, const std::string& own);

// FUNCTION STATS: the reply of the master running a script or function (its running_script is
// not null), else the first.
std::string MergeFunctionStats(const std::vector<NodeReply>& parts);

// SCRIPT EXISTS: per script 1 only where every master has it.
std::string MergeAndArrays(const std::vector<NodeReply>& parts);

// RANDOMKEY: a key from the node `pick` points at, or the next node that has one; nil when none.
std::string MergeRandomNonNil(const std::vector<NodeReply>& parts, size_t pick, int resp);

// SLOWLOG GET [count]: every node's entries, newest first (by their timestamp), at most `count`
// (count < 0: all).
std::string MergeSlowlog(const std::vector<NodeReply>& parts, int64_t count);

// LATENCY LATEST / HISTORY and the like: every node's entries in one array.
// (= MergeConcat)

// MEMORY DOCTOR, LATENCY DOCTOR, MEMORY MALLOC-STATS: each node's text under a "<node>:" line, as
// one bulk (RESP3: verbatim) string.
std::string MergeNamedText(const std::vector<NodeReply>& parts, int resp);

// MEMORY STATS: the nodes' key/value lists with integer values summed (nested maps too) and other
// values taken from the first node, in the first node's order; RESP3 maps stay maps.
std::string MergeSumFields(const std::vector<NodeReply>& parts);

// A CONFIG GET reply (key/value pairs: a RESP2 array or a RESP3 map) with `key`'s value replaced
// by `value`; any other reply as it is.
std::string WithConfigValue(const std::string& reply, std::string_view key, std::string_view value);

// A node's CLUSTER SLOTS reply as a routing table (masters and slot owners; an empty host means
// the node answering, at `node_host`). False for a reply that is not one.
bool ParseClusterSlotsReply(std::string_view reply, std::string_view node_host,
                            RoutingTable* out);

}  // namespace rs::proxy
