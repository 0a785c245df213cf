// MONITOR through the proxy: the streams of every master merged into one client's output.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/backend.h"

namespace rs::proxy {

class Worker;
class Client;
struct PendingReply;

// Thread contract: owned by its client (Client::monitor_state), on the worker's loop. Its
// streams are one connection per master, never shared with requests; the client gets +OK once
// every master streams (or failed), then every line as it comes.
struct MonitorState : public StreamSink {
  Worker* worker = nullptr;
  Client* client = nullptr;
  PendingReply* pending = nullptr;  // the +OK, until every stream confirmed
  size_t waiting = 0;
  std::vector<std::unique_ptr<Backend>> streams;

  void OnStreamReply(Backend* b, std::string_view reply, const resp::ReplyInfo& info) override;
  void OnStreamLost(Backend* b, const std::string& why) override;
};

}  // namespace rs::proxy
