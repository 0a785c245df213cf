// Multi-key commands across slots: split into one sub-request per slot (Redis 7.0 refuses keys of
// two slots in one command even when one node owns both), then merge the replies in key order.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/command_table.h"
#include "proxy/fanout_merge.h"

namespace rs::proxy {

struct SubRequest {
  int slot = 0;
  std::string command;            // RESP multibulk, ready to send
  std::vector<uint32_t> outputs;  // MGET: position in the merged reply of each key sent
};

// Groups the keys (MSET: key/value pairs) of `args` by slot, keeping the first-seen order of the
// slots and the order of keys within each. `key_indexes` come from CommandTable::KeyIndexes.
std::vector<SubRequest> SplitBySlot(const std::vector<std::string_view>& args,
                                    const std::vector<int>& key_indexes, SplitKind kind);

// True when every key of `key_indexes` hashes to one slot (then the request is sent unchanged).
bool SameSlot(const std::vector<std::string_view>& args, const std::vector<int>& key_indexes,
              int* slot);

// kCustom: a fan-out whose reply a function builds from every node's reply (fanout_merge.h).
enum class MergeKind : uint8_t { kMget, kAllOk, kSumInt, kMinInt, kFirst, kInfo, kCustom };
using NodeMergeFn = std::function<std::string(const std::vector<NodeReply>&)>;

// Collects the replies of the parts of one client request and builds the client's reply.
// Thread contract: owned by the client request it belongs to, in one worker.
class Merger {
 public:
  Merger(MergeKind kind, size_t parts, size_t outputs = 0);

  // Records the reply (complete RESP bytes) of part `part`. MGET uses the part's `outputs`.
  void Add(size_t part, std::string_view reply, const std::vector<uint32_t>* outputs = nullptr);
  // Records an error for a part that got no reply (backend down, timeout).
  void AddError(size_t part, std::string_view error_text);
  // kInfo: part `part` did not answer in time; the reply is built without it.
  void AddNoAnswer(size_t part);
  // Part `part` is recorded (a reply, an error or no answer).
  bool has(size_t part) const { return has_[part]; }
  size_t parts() const { return parts_.size(); }
  MergeKind kind() const { return kind_; }

  bool done() const { return remaining_ == 0; }
  // The merged reply; the first error of any part (in part order) wins.
  std::string Finish() const;

  std::vector<std::vector<uint32_t>>& outputs() { return outputs_; }
  // kInfo: text put before the aggregated sections: the proxy's own sections, the last one
  // ("# Backends") left open for a line per node asked (see set_nodes) and its blank line.
  void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }
  // kInfo: the node each part asks ("info_node<i>:addr=h:p,state=ok|error|no-answer").
  void set_nodes(std::vector<std::string> nodes) { nodes_ = std::move(nodes); }
  // kInfo: the client's protocol (RESP3 gets a verbatim string, as Redis sends INFO).
  void set_resp(int resp) { resp_ = resp; }
  // kInfo: fields answered with the proxy's own value.
  void set_overrides(std::vector<std::pair<std::string, std::string>> o) { overrides_ = std::move(o); }
  // kCustom: the node of each part and the function that merges their replies.
  void set_custom(std::vector<std::string> nodes, NodeMergeFn fn) {
    nodes_ = std::move(nodes);
    custom_ = std::move(fn);
  }

 private:
  std::string FinishInfo() const;

  MergeKind kind_;
  size_t remaining_;
  std::vector<std::string> parts_;  // raw reply of each part (kFirst, kAllOk, kInfo, errors)
  std::vector<bool> is_error_;
  std::vector<bool> has_;
  std::vector<bool> no_answer_;  // kInfo
  std::vector<std::string> values_;  // MGET: one element per key
  int64_t sum_ = 0;  // kSumInt: the sum; kMinInt: the least so far
  bool seen_ = false;
  std::string prefix_;
  int resp_ = 2;
  std::vector<std::pair<std::string, std::string>> overrides_;  // kInfo
  std::vector<std::string> nodes_;  // kCustom, kInfo
  NodeMergeFn custom_;
  std::vector<std::vector<uint32_t>> outputs_;  // MGET: outputs of each part
};

// Aggregates INFO bulk payloads: integer fields of the Clients, Memory, Stats, Keyspace and CPU
// sections are summed ("dbN:keys=..,expires=.." counts too), except what the proxy puts on every
// master (cached scripts, functions, libraries, maxmemory: the largest); anything else is taken
// from the first backend.
// `overrides`: fields whose value is the proxy's own (connected_clients: the proxy's clients,
// not the nodes' connections).
std::string AggregateInfo(const std::vector<std::string>& payloads,
                          const std::vector<std::pair<std::string, std::string>>& overrides = {});

}  // namespace rs::proxy
