// One client connection: its parser state, its replies in request order and its output buffer.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "common/resp_parser.h"
#include "proxy/buffer.h"
#include "proxy/request.h"

namespace rs::proxy {

class Worker;

// Thread contract: owned by its worker loop. Lives until its handle is closed AND no backend op
// still points at it (`inflight == 0`).
class Client {
 public:
  Client(Worker* worker, uint64_t id) : worker(worker), id(id) { tcp.data = this; }

  // A reply slot at the back of the queue, in request order.
  PendingReply* Push() {
    if (!queue) queue = std::make_unique<std::deque<PendingReply>>();
    queue->emplace_back();
    return &queue->back();
  }
  // Marks `p` done with `reply`; replies at the head of the queue move to the output buffer.
  void Complete(PendingReply* p, std::string_view reply);
  void CompleteOwned(PendingReply* p, std::string&& reply);
  void Drain();
  size_t queued() const { return queue ? queue->size() : 0; }

  uv_tcp_t tcp;
  Worker* worker;
  uint64_t id;
  resp::RequestParser parser;
  Buffer in;
  Buffer out;
  std::unique_ptr<std::deque<PendingReply>> queue;
  std::string name;
  size_t inflight = 0;  // ops in backends that point here
  size_t writing = 0;   // bytes handed to uv_write, not yet confirmed
  uint64_t last_active_ms = 0;
  bool authed = false;
  bool closing = false;            // handle close requested
  bool closed = false;             // handle close callback ran
  bool close_after_flush = false;  // QUIT, protocol error
  bool reading = true;
  bool in_refused_multi = false;
  bool dirty = false;      // on the worker's flush list
  Client* prev = nullptr;  // worker's list of live clients
  Client* next = nullptr;
};

}  // namespace rs::proxy
