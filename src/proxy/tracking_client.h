// A tracking client's connections to the nodes (worker_tracking.cc, tracking_sinks.cc): per
// master, its tracking session (a session connection from the pool set up with CLIENT TRACKING
// on), and with REDIRECT, per master a sink of its own that the session redirects the node's
// invalidations to.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "proxy/backend.h"
#include "proxy/tracking.h"

namespace rs::proxy {

class Worker;
class Client;

// The client's tracking session to one node.
struct TrackingLink {
  std::string address;
  Backend* session = nullptr;  // from the worker's SessionPool; its `tracker` is the client
  uint8_t resp = 2;            // the protocol it speaks now (HELLO follows the client's)
  bool used = false;           // a request of the client went over it: the node may track keys
};

// A RESP3 stream connection whose node-side id the client's session on that node redirects to.
// Sinks are per tracking client, not per redirect target: an invalidation on a sink is for that
// client only, so a target that is gone is told to that client alone (tracking-redir-broken),
// when an invalidation comes, as Redis does; and another REDIRECT needs no new node-side setup.
struct TrackingSink {
  std::string address;
  std::unique_ptr<Backend> backend;  // nullptr once given up
  int64_t node_id = 0;               // its CLIENT ID on the node, once answered
  bool failed = false;
  uint64_t failed_ms = 0;
};

// Thread contract: owned by its client (Client::tracking), in its worker's loop.
class ClientTracking final : public StreamSink {
 public:
  ClientTracking(Worker* worker, Client* client) : worker_(worker), client_(client) {}
  ~ClientTracking() override = default;

  // StreamSink: the sinks' replies (their CLIENT ID, then invalidations) and their failure.
  void OnStreamReply(Backend* b, std::string_view reply, const resp::ReplyInfo& info) override;
  void OnStreamLost(Backend* b, const std::string& why) override;

  TrackingLink* LinkFor(std::string_view address);
  TrackingLink* LinkOf(const Backend* session);
  TrackingSink* SinkFor(std::string_view address);
  TrackingSink* SinkOf(const Backend* b);

  TrackingState state;
  std::vector<TrackingLink> links;
  std::vector<TrackingSink> sinks;
  // CLIENT TRACKING ON with REDIRECT waiting for its sinks' ids (the client reads nothing more
  // meanwhile): its reply slot and the command to apply then.
  PendingReply* waiting = nullptr;
  TrackingCommand waiting_cmd;
  // While one of its requests is handled (Worker::HandleTracked): CLIENT CACHING applies to it
  // (`caching_live`), and a read that could not go over a tracking session asks for a null
  // invalidation after its reply (`invalidate_after`).
  bool in_request = false;
  bool caching_live = false;
  bool invalidate_after = false;
  uint64_t next_bcast_check_ms = 0;  // BCAST: when to look for masters without a session again

 private:
  Worker* worker_;
  Client* client_;
};

// The worker's view of client-side caching.
// Thread contract: owned by its worker loop.
struct WorkerTracking {
  // Clients named as REDIRECT targets, by that id; a client leaves when it disconnects.
  std::unordered_map<int64_t, Client*> targets;
  // Clients with a ClientTracking (for the tick: sink timeouts, BCAST sessions).
  std::unordered_set<Client*> clients;
};

}  // namespace rs::proxy
