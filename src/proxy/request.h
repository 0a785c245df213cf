// The unit of work between a client and the backends: a reply slot in the client's ordered queue
// and the backend operations that fill it.
//
// Lifetimes:
//  - A PendingReply lives in its client's queue from the moment the request is parsed until its
//    reply (complete, or merged from all its parts) reaches the head of the queue and moves to
//    the client's output buffer.
//  - An Op lives in exactly one place at a time: a backend's queue (from Send until its reply is
//    read or its connection is lost), the worker's retry list, or a transaction being replayed.
//    While it is anywhere, it counts in its client's `inflight`, which keeps the Client object
//    alive (not its socket) after the client disconnects; its reply then goes nowhere.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "proxy/router.h"
#include "proxy/splitter.h"

namespace rs::proxy {

class Client;

// One request's place in its client's reply order. Filled by one operation, or by a Merger when
// the request was split or fanned out.
struct PendingReply {
  std::string data;
  bool done = false;
  bool suppressed = false;  // CLIENT REPLY OFF / SKIP: consumed in order, never written
  // Out-of-band bytes the node sent before this reply (a tracking invalidation), at the front of
  // `data`: written once everything before this reply is, suppressed or not, done or not.
  uint32_t pushed_before = 0;
  std::unique_ptr<Merger> merger;
  uint64_t start_ns = 0;  // set when the slowlog is on
};

// A command sent (or to be sent) to one backend; replies come back in the order ops were queued.
struct Op {
  Client* client = nullptr;  // nullptr: the proxy's own command (AUTH, ASKING), reply dropped
  PendingReply* pending = nullptr;
  int32_t part = -1;  // index in pending->merger, or -1 for a whole reply
  uint8_t redirects = 0;
  uint8_t retries = 0;
  OpRole role = OpRole::kPlain;
  bool asking = false;  // send ASKING first (an ASK redirect for this request only)
  int slot = -1;        // the slot routed by, -1 for keyless
  // The request bytes while the op is outside a backend (a retry, a redirect, a slowlog entry);
  // empty while it waits in a backend, whose send log holds its `len` bytes.
  std::string command;
  uint32_t len = 0;
  uint64_t queued_ms = 0;    // loop time when queued, for the backend timeout
  uint64_t deadline_ms = 0;  // a blocking op: loop time after which it has timed out; 0: none
  uint64_t sent_ns = 0;      // batch time when written, for latency
};

}  // namespace rs::proxy
