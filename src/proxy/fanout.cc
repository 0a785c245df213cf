// Commands that concern the whole keyspace or every node: sent to every master (or every node,
// replicas included) and merged into the one reply a single server would give (fanout_merge.h),
// and MONITOR, which streams from every master.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <random>

#include "common/redis_errors.h"
#include "common/resp_writer.h"
#include "common/slot.h"
#include "proxy/monitor.h"
#include "proxy/proxy.h"
#include "proxy/proxy_errors.h"
#include "proxy/scan_cursor.h"
#include "proxy/scan_planner.h"
#include "proxy/worker.h"

namespace rs::proxy {
namespace {

bool DebugNamesKey(const std::string& sub) {
  return sub == "object" || sub == "digest-value" || sub == "listpack" || sub == "quicklist" ||
         sub == "stringmatch-len" || sub == "sdslen" || sub == "ziplist" || sub == "protocol-key";
}

std::string ErrorReply(std::string_view text) {
  std::string out;
  resp::AppendError(&out, text);
  return out;
}

size_t RandomPick() {
  static thread_local std::minstd_rand rng(std::random_device{}());
  return rng();
}

}  // namespace

// The proxy's own commands on the nodes (topology refreshes, liveness and WAIT PINGs, connection
// setup): a client's PING, HELLO, AUTH and CLUSTER SLOTS/NODES are answered by the proxy, so a
// MONITOR line with one of these comes from the proxy itself and is not the client's to see.
bool ProxysOwn(std::string_view line) {
  size_t start = line.find("] \"");
  if (start == std::string_view::npos) return false;
  std::string_view cmd = line.substr(start + 2);
  for (std::string_view own : {"\"PING\"", "\"HELLO\"", "\"AUTH\"", "\"READONLY\"",
                               "\"ASKING\"", "\"CLUSTER\" \"SLOTS\"", "\"CLUSTER\" \"NODES\"",
                               "\"INFO\" \"replication\""}) {
    if (cmd.substr(0, own.size()) == own) return true;
  }
  return false;
}

void MonitorState::OnStreamReply(Backend*, std::string_view reply, const resp::ReplyInfo& info) {
  if (pending != nullptr) {
    if (--waiting == 0) {
      client->Complete(pending, "+OK\r\n");
      pending = nullptr;
    }
    return;
  }
  if (info.type == resp::ReplyType::kSimpleString && ProxysOwn(info.line)) return;
  worker->Push(client, reply);
}

void MonitorState::OnStreamLost(Backend* b, const std::string& why) {
  spdlog::info("client {}: MONITOR stream from {} lost: {}", client->id, b->address(), why);
  if (pending != nullptr && --waiting == 0) {
    client->Complete(pending, "+OK\r\n");
    pending = nullptr;
  }
}

std::vector<Backend*> Worker::AllNodes(Client* c) {
  std::vector<Backend*> out = by_master_[c->resp == 3 ? 1 : 0];
  if (table_) {
    for (const auto& reps : table_->replicas) {
      for (const std::string& r : reps) out.push_back(BackendFor(r, c->resp));
    }
  }
  return out;
}

void Worker::FanOutMerged(Client* c, std::string_view command, const std::vector<Backend*>& targets,
                          NodeMergeFn merge) {
  if (targets.empty()) {
    ReplyError(c, errors::kNoTopology);
    return;
  }
  PendingReply* p = c->Push();
  p->merger = std::make_unique<Merger>(MergeKind::kCustom, targets.size());
  std::vector<std::string> nodes;
  nodes.reserve(targets.size());
  for (Backend* b : targets) nodes.push_back(b->address());
  p->merger->set_custom(std::move(nodes), std::move(merge));
  std::string bytes(command);  // `command` may point into a buffer a failing Send rewrites
  for (size_t i = 0; i < targets.size(); ++i) {
    Op op;
    op.client = c;
    op.pending = p;
    op.part = static_cast<int32_t>(i);
    Via(c, targets[i])->Send(std::move(op), bytes);
  }
}

void Worker::FanOutCommands(Client* c,
                            const std::vector<std::pair<Backend*, std::string>>& parts,
                            NodeMergeFn merge) {
  PendingReply* p = c->Push();
  p->merger = std::make_unique<Merger>(MergeKind::kCustom, parts.size());
  std::vector<std::string> nodes;
  for (const auto& [b, command] : parts) nodes.push_back(b->address());
  p->merger->set_custom(std::move(nodes), std::move(merge));
  for (size_t i = 0; i < parts.size(); ++i) {
    Op op;
    op.client = c;
    op.pending = p;
    op.part = static_cast<int32_t>(i);
    Via(c, parts[i].first)->Send(std::move(op), parts[i].second);
  }
}

void Worker::ToAnyMaster(Client* c, resp::Request& req) {
  Op op;
  op.client = c;
  op.pending = c->Push();
  Dispatch(std::move(op), AnyMaster(c), RequestBytes(req));
}

void Worker::OnKeys(Client* c, resp::Request& req, const CommandInfo&) {
  if (req.args.size() != 2) {
    ReplyError(c, errors::WrongArity("keys"));
    return;
  }
  FanOutMerged(c, RequestBytes(req), by_master_[c->resp == 3 ? 1 : 0], MergeConcat);
}

void Worker::OnRandomKey(Client* c, resp::Request& req, const CommandInfo&) {
  if (req.args.size() != 1) {
    ReplyError(c, errors::WrongArity("randomkey"));
    return;
  }
  const size_t pick = RandomPick();
  const int resp = c->resp;
  FanOutMerged(c, RequestBytes(req), by_master_[c->resp == 3 ? 1 : 0],
               [pick, resp](const std::vector<NodeReply>& parts) {
                 return MergeRandomNonNil(parts, pick, resp);
               });
}

void Worker::OnFlush(Client* c, resp::Request& req, const CommandInfo& info) {
  std::string name(info.name);
  FanOutMerged(c, RequestBytes(req), by_master_[c->resp == 3 ? 1 : 0],
               [name](const std::vector<NodeReply>& parts) { return MergeAllOk(parts, name); });
}

void Worker::OnConfig(Client* c, resp::Request& req, const CommandInfo&) {
  const std::string sub = AsciiLower(req.args.size() > 1 ? req.args[1] : "");
  // The port clients reach "the server" at is the proxy's: CONFIG GET says so, and CONFIG SET of
  // that same port (a client restoring what it read) is a no-op rather than an attempt to move
  // every node onto it.
  const std::string port = std::to_string(proxy_->port());
  if (sub == "get") {
    FanOutCommands(c, {{AnyMaster(c), std::string(RequestBytes(req))}},
                   [port](const std::vector<NodeReply>& parts) {
                     return WithConfigValue(parts[0].reply, "port", port);
                   });
    return;
  }
  if (sub == "set" && req.args.size() >= 4 && req.args.size() % 2 == 0) {
    std::vector<std::string_view> args = {req.args[0], req.args[1]};
    for (size_t i = 2; i + 1 < req.args.size(); i += 2) {
      if (EqualsIgnoreCase(req.args[i], "port") && req.args[i + 1] == port) continue;
      args.push_back(req.args[i]);
      args.push_back(req.args[i + 1]);
    }
    if (args.size() == 2) {
      Reply(c, "+OK\r\n");
      return;
    }
    std::string command;
    resp::AppendCommand(&command, std::span<const std::string_view>(args));
    FanOutMerged(c, command, AllNodes(c), [](const std::vector<NodeReply>& parts) {
      return MergeAllOk(parts, "CONFIG set");
    });
    return;
  }
  // CONFIG SET / RESETSTAT / REWRITE: every node, replicas included, so that a setting holds
  // wherever a key lives now or after a failover.
  std::string name = "CONFIG " + sub;
  FanOutMerged(c, RequestBytes(req), AllNodes(c),
               [name](const std::vector<NodeReply>& parts) { return MergeAllOk(parts, name); });
}

Backend* Worker::TempSession(Client* c, const std::string& address) {
  Backend* s = c->session != nullptr && c->session->address() == address
                   ? c->session
                   : sessions_.Acquire(address, c->resp, false, c);
  if (s != nullptr && s != c->session) c->temp_sessions.push_back(s);
  return s;
}

void Worker::FanOutSessions(Client* c, std::string_view command, NodeMergeFn merge) {
  if (!table_ || table_->masters.empty()) {
    ReplyError(c, errors::kNoTopology);
    return;
  }
  std::vector<std::pair<Backend*, std::string>> parts;
  for (const std::string& m : table_->masters) {
    Backend* s = TempSession(c, m);
    if (s == nullptr) {
      for (auto& [b, cmd] : parts) ReleaseTempSession(c, b);
      stats_.proxy_errors.Inc();
      ReplyError(c, errors::TooManySessions(config().max_sessions));
      return;
    }
    parts.emplace_back(s, std::string(command));
  }
  FanOutCommands(c, parts, std::move(merge));
}

void Worker::OnScriptCall(Client* c, resp::Request& req, const CommandInfo& info) {
  keys_scratch_.clear();
  CommandTable::KeyIndexes(info, req.args, &keys_scratch_);
  int slot = -1;
  const std::string* target = nullptr;
  if (!keys_scratch_.empty()) {
    if (!SameSlot(req.args, keys_scratch_, &slot)) {
      stats_.proxy_errors.Inc();
      ReplyError(c, errors::kScriptCrossSlot);
      return;
    }
    target = table_ ? table_->OwnerOf(slot) : nullptr;
  } else if (table_ && !table_->masters.empty()) {
    target = &table_->masters[round_robin_++ % table_->masters.size()];
  }
  if (target == nullptr) {
    ReplyError(c, table_ ? std::string_view(redis_errors::kClusterDownUnbound) : errors::kNoTopology);
    return;
  }
  // A script runs on a session of its own, so a long one holds up no other client on a shared
  // connection (they get -BUSY from the node, as without the proxy). Requests of the client
  // already on a session to that node are followed there (Via); a script behind requests in
  // flight on shared connections waits until they are answered, so it cannot overtake them.
  Backend* s = Via(c, BackendFor(*target, c->resp));
  if (!s->is_session()) {
    if (c->queued() > 0) {
      park_request_ = true;
      return;
    }
    s = TempSession(c, *target);
    if (s == nullptr) {
      stats_.proxy_errors.Inc();
      ReplyError(c, errors::TooManySessions(config().max_sessions));
      return;
    }
  }
  Op op;
  op.client = c;
  op.pending = c->Push();
  op.slot = slot;
  if (config().slowlog_usec > 0) op.pending->start_ns = batch_ns_;
  if (!info.readonly) {
    // A later WAIT waits on this master too (it looks masters up by their shared connection).
    Backend* shared = BackendFor(*target, c->resp);
    bool known = false;
    for (Backend* w : c->written) known |= w == shared;
    if (!known) c->written.push_back(shared);
  }
  s->Send(std::move(op), RequestBytes(req));
}

void Worker::OnScript(Client* c, resp::Request& req, const CommandInfo&) {
  const std::string sub = req.args.size() > 1 ? AsciiLower(req.args[1]) : "";
  const auto& masters = by_master_[c->resp == 3 ? 1 : 0];
  if (sub == "kill") {
    FanOutSessions(c, RequestBytes(req), MergeKill);
  } else if (sub == "exists") {
    FanOutMerged(c, RequestBytes(req), masters, MergeAndArrays);
  } else {
    ToAnyMaster(c, req);
  }
}

void Worker::OnFunction(Client* c, resp::Request& req, const CommandInfo&) {
  const std::string sub = req.args.size() > 1 ? AsciiLower(req.args[1]) : "";
  if (sub == "kill") {
    FanOutSessions(c, RequestBytes(req), MergeKill);
  } else if (sub == "stats") {
    // The master running a function, if one is; its busy shared connection cannot answer.
    FanOutSessions(c, RequestBytes(req), MergeFunctionStats);
  } else {
    ToAnyMaster(c, req);
  }
}

void Worker::OnSlowlog(Client* c, resp::Request& req, const CommandInfo&) {
  const std::string sub = req.args.size() > 1 ? AsciiLower(req.args[1]) : "";
  const auto& masters = by_master_[c->resp == 3 ? 1 : 0];
  if (sub == "get") {
    int64_t count = 10;
    if (req.args.size() > 2 && (!resp::ParseRedisInt(req.args[2], &count) || count < -1)) {
      ToAnyMaster(c, req);  // the node's own error text
      return;
    }
    FanOutMerged(c, RequestBytes(req), masters, [count](const std::vector<NodeReply>& parts) {
      return MergeSlowlog(parts, count);
    });
  } else if (sub == "len") {
    FanOut(c, req, MergeKind::kSumInt);
  } else if (sub == "reset") {
    FanOutMerged(c, RequestBytes(req), masters, [](const std::vector<NodeReply>& parts) {
      return MergeAllOk(parts, "SLOWLOG RESET");
    });
  } else {
    ToAnyMaster(c, req);
  }
}

void Worker::OnLatency(Client* c, resp::Request& req, const CommandInfo&) {
  const std::string sub = req.args.size() > 1 ? AsciiLower(req.args[1]) : "";
  const auto& masters = by_master_[c->resp == 3 ? 1 : 0];
  const int resp = c->resp;
  if (sub == "latest" || sub == "history") {
    FanOutMerged(c, RequestBytes(req), masters, MergeConcat);
  } else if (sub == "reset") {
    FanOut(c, req, MergeKind::kSumInt);
  } else if (sub == "doctor" || sub == "graph") {
    FanOutMerged(c, RequestBytes(req), masters, [resp](const std::vector<NodeReply>& parts) {
      return MergeNamedText(parts, resp);
    });
  } else if (sub == "histogram") {
    FanOutMerged(c, RequestBytes(req), masters, MergeSumFields);
  } else {
    ToAnyMaster(c, req);
  }
}

void Worker::OnMemory(Client* c, resp::Request& req, const CommandInfo&) {
  const std::string sub = req.args.size() > 1 ? AsciiLower(req.args[1]) : "";
  const auto& masters = by_master_[c->resp == 3 ? 1 : 0];
  const int resp = c->resp;
  if (sub == "usage" && req.args.size() >= 3) {
    PendingReply* p = c->Push();
    SendToSlot(c, p, KeySlot(req.args[2]), RequestBytes(req), -1, false);
  } else if (sub == "stats") {
    FanOutMerged(c, RequestBytes(req), masters, MergeSumFields);
  } else if (sub == "doctor" || sub == "malloc-stats") {
    FanOutMerged(c, RequestBytes(req), masters, [resp](const std::vector<NodeReply>& parts) {
      return MergeNamedText(parts, resp);
    });
  } else if (sub == "purge") {
    FanOutMerged(c, RequestBytes(req), masters, [](const std::vector<NodeReply>& parts) {
      return MergeAllOk(parts, "MEMORY PURGE");
    });
  } else {
    ToAnyMaster(c, req);
  }
}

void Worker::OnMonitor(Client* c, resp::Request& req, const CommandInfo&) {
  if (c->monitor) return;  // a second MONITOR: Redis ignores it too
  if (!table_ || table_->masters.empty()) {
    ReplyError(c, errors::kNoTopology);
    return;
  }
  // Streams never share a connection with requests: one of its own per master.
  auto state = std::make_unique<MonitorState>();
  state->worker = this;
  state->client = c;
  state->pending = c->Push();
  state->waiting = table_->masters.size();
  for (const std::string& m : table_->masters) {
    BackendOptions options;
    options.kind = BackendKind::kStream;
    auto b = std::make_unique<Backend>(this, m, options);
    b->sink = state.get();
    b->SendRaw(RequestBytes(req));
    state->streams.push_back(std::move(b));
  }
  c->monitor = true;
  c->monitor_state = std::move(state);
  monitors_.push_back(c);
}

void Worker::OnDedicated(Client* c, resp::Request& req, const CommandInfo&) {
  // DEBUG OBJECT / DIGEST-VALUE ... and MIGRATE name a key: its slot's master; the rest any master.
  const std::string sub = req.args.size() > 1 ? AsciiLower(req.args[1]) : "";
  std::string_view key;
  if (EqualsIgnoreCase(req.args[0], "debug") && DebugNamesKey(sub) && req.args.size() > 2) {
    key = req.args[2];
  } else if (EqualsIgnoreCase(req.args[0], "migrate") && req.args.size() > 5) {
    key = req.args[3];
    for (size_t i = 6; key.empty() && i + 1 < req.args.size(); ++i) {
      if (EqualsIgnoreCase(req.args[i], "keys")) key = req.args[i + 1];
    }
  }
  const std::string* target = nullptr;
  if (table_ && !table_->masters.empty()) {
    if (!key.empty()) {
      target = table_->OwnerOf(KeySlot(key));
    } else {
      target = &table_->masters[round_robin_++ % table_->masters.size()];
    }
  }
  if (target == nullptr) {
    ReplyError(c, table_ ? std::string_view(redis_errors::kClusterDownUnbound) : errors::kNoTopology);
    return;
  }
  Backend* s = c->session != nullptr && c->session->address() == *target
                   ? c->session
                   : sessions_.Acquire(*target, c->resp, false, c);
  if (s == nullptr) {
    stats_.proxy_errors.Inc();
    ReplyError(c, errors::TooManySessions(config().max_sessions));
    return;
  }
  if (s != c->session) c->temp_sessions.push_back(s);
  Op op;
  op.client = c;
  op.pending = c->Push();
  s->Send(std::move(op), RequestBytes(req));
  c->hold_input = true;
}

// SCAN: one master at a time, in address order; the cursor says which and where (scan_planner.h).
void Worker::OnScan(Client* c, resp::Request& req, const CommandInfo&) {
  if (req.args.size() < 2) {
    ReplyError(c, errors::WrongArity("scan"));
    return;
  }
  Result<uint64_t> cursor = ParseScanCursor(req.args[1]);
  if (!cursor.ok()) {
    ReplyError(c, errors::kInvalidCursor);
    return;
  }
  Result<ScanStep> step = PlanScan(*cursor, proxy_->scan_log(), proxy_->scan_ids());
  if (!step.ok()) {
    ReplyError(c, errors::kNoTopology);
    return;
  }
  if (step->done) {
    Reply(c, "*2\r\n$1\r\n0\r\n*0\r\n");
    return;
  }
  std::vector<std::string_view> args(req.args.begin(), req.args.end());
  const std::string node_cursor = std::to_string(step->node_cursor);
  args[1] = node_cursor;
  std::string scan;
  resp::AppendCommand(&scan, std::span<const std::string_view>(args));
  // The node's own view of the slots comes with its page, from the same connection right after
  // it: a slot that arrived at a master the scan has passed is in the move log before the next
  // cursor is made, even when no refresh or MOVED told the proxy yet (a reshard behind its back).
  Proxy* proxy = proxy_;
  ScanStep planned = *step;
  std::string host = step->address.substr(0, step->address.rfind(':'));
  Backend* b = BackendFor(step->address, c->resp);
  FanOutCommands(
      c, {{b, scan}, {b, "*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n"}},
      [proxy, planned, host](const std::vector<NodeReply>& parts) -> std::string {
        const NodeReply& node = parts[0];
        std::vector<std::string_view> reply;
        if (node.is_error()) return node.reply;
        if (!AggregateElements(node.reply, &reply) || reply.size() != 2 || reply[0].empty() ||
            reply[0][0] != '$') {
          return ErrorReply(errors::UnexpectedReply("SCAN", node.node));
        }
        size_t eol = reply[0].find("\r\n");
        std::string_view text = reply[0].substr(eol + 2, reply[0].size() - eol - 4);
        Result<uint64_t> next_node = ParseScanCursor(text);
        if (!next_node.ok()) return ErrorReply(errors::UnexpectedReply("SCAN cursor", node.node));
        auto view = std::make_shared<RoutingTable>();
        if (!parts[1].is_error() && ParseClusterSlotsReply(parts[1].reply, host, view.get()) &&
            view->AssignedSlots() > 0) {
          (void)proxy->scan_log().Publish(std::move(view));
        }
        Result<uint64_t> next =
            NextScanCursor(planned, *next_node, proxy->scan_log(), proxy->scan_ids());
        if (!next.ok()) {
          return ErrorReply("ERR proxy: SCAN: " + next.status().message());
        }
        std::string out = "*2\r\n";
        resp::AppendBulk(&out, std::to_string(*next));
        out.append(reply[1]);
        return out;
      });
}

namespace {

// Redis's sdscatrepr: a quoted string with \n, \r, \t, \a, \b, \\, \" and \xHH escapes.
void AppendRepr(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char ch : s) {
    switch (ch) {
      case '\\': out->append("\\\\"); break;
      case '"': out->append("\\\""); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\a': out->append("\\a"); break;
      case '\b': out->append("\\b"); break;
      default:
        if (std::isprint(ch)) {
          out->push_back(static_cast<char>(ch));
        } else {
          out->append(fmt::format("\\x{:02x}", ch));
        }
    }
  }
  out->push_back('"');
}

}  // namespace

void Worker::FeedMonitors(Client* c, const resp::Request& req, Handler handler) {
  // What a node's MONITOR shows for the commands the proxy answers itself (they never reach a
  // node): a line with the client's address, and AUTH/HELLO passwords redacted as Redis does.
  sockaddr_storage ss{};
  int len = sizeof(ss);
  std::string addr = "?:0";
  if (uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&ss), &len) == 0 &&
      ss.ss_family == AF_INET) {
    char ip[64] = {};
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    uv_ip4_name(a, ip, sizeof(ip));
    addr = fmt::format("{}:{}", ip, ntohs(a->sin_port));
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  std::string line = fmt::format("+{}.{:06} [0 {}]", us / 1000000, us % 1000000, addr);
  for (size_t i = 0; i < req.args.size(); ++i) {
    bool redact = false;
    if (handler == Handler::kAuth) redact = i > 0;
    if (handler == Handler::kHello && i >= 3 && EqualsIgnoreCase(req.args[i - 1], "auth")) {
      redact = true;  // the user
    }
    if (handler == Handler::kHello && i >= 4 && EqualsIgnoreCase(req.args[i - 2], "auth")) {
      redact = true;  // the password
    }
    line.push_back(' ');
    AppendRepr(&line, redact ? std::string_view("(redacted)") : req.args[i]);
  }
  line.append("\r\n");
  for (Client* m : monitors_) {
    if (m != c) Push(m, line);
  }
}

void Worker::EndMonitor(Client* c) {
  monitors_.erase(std::remove(monitors_.begin(), monitors_.end(), c), monitors_.end());
  if (!c->monitor_state) return;
  for (auto& b : c->monitor_state->streams) {
    b->sink = nullptr;
    b->Retire();
    retired_streams_.push_back(std::move(b));
  }
  retired_pending_ = true;
  c->monitor_state.reset();
  c->monitor = false;
}

}  // namespace rs::proxy
