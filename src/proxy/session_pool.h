// A worker's session connections: dedicated backend connections for client state that lives on a
// node (a transaction or WATCH, a blocking command, WAIT), pooled per node and protocol.
//
// Lifetime of a session connection: Acquire() hands one to a client (an idle pooled one, or a new
// one); the client holds it while its state lives (Client::session, or the blocking/WAIT op that
// uses it) and gives it back with Release(): clean ones (after EXEC, DISCARD, UNWATCH or a
// blocking reply, so no state is left on the node) return to the pool, others are closed. A client
// that disconnects closes its session, so a blocked pop is never served to a dead client. Idle
// pooled connections are closed after `idle_ms`; at most `max_sessions` are in use at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/backend.h"

namespace rs::proxy {

class Worker;

// Thread contract: owned by its worker loop.
class SessionPool {
 public:
  // Idle connections kept per node and protocol. Enough for the clients that take a session
  // for each transaction or blocking pop (a job queue's workers): below their number, a
  // connection is closed on release and opened again for the next one, a TCP handshake per
  // transaction (with 16, bench_proxy_sessions multi's 50 clients ran at 16,228 tx/s; with
  // 256, about 67,000).
  static constexpr size_t kMaxIdlePerNode = 256;

  SessionPool(Worker* worker, int max_sessions, uint64_t idle_ms,
              size_t max_idle_per_node = kMaxIdlePerNode)
      : worker_(worker),
        max_sessions_(max_sessions),
        idle_ms_(idle_ms),
        max_idle_per_node_(max_idle_per_node) {}
  ~SessionPool();

  // A session connection to `address` in protocol `resp` for `owner`, or nullptr when
  // --max-sessions are in use (the caller answers errors::TooManySessions).
  Backend* Acquire(const std::string& address, uint8_t resp, bool readonly, Client* owner);
  // Gives `b` back: pooled when `clean` and connected, otherwise closed at the end of the turn.
  // A client's tracking session (Backend::tracker) stays with it when `clean`; otherwise the
  // worker hears of it first (Worker::OnTrackingSessionDropped).
  void Release(Backend* b, bool clean);
  // The connection failed (Backend::Fail): it is not reused.
  void OnLost(Backend* b);
  // Closes idle connections older than idle_ms (the worker's timer).
  void Sweep(uint64_t now_ms);
  // Backend::CheckTimeouts on every connection in use.
  void CheckTimeouts(uint64_t now_ms, bool loop_stalled);
  // Closes and deletes what Release/OnLost retired (end of a loop turn, outside any callback of
  // theirs).
  void CollectRetired();
  // Closes every connection (worker shutdown).
  void Clear();

  size_t in_use() const { return in_use_; }
  size_t idle() const;
  uint64_t acquired_total() const { return acquired_total_; }
  uint64_t created_total() const { return created_total_; }

 private:
  struct Key {
    std::string address;
    uint8_t resp;
    bool readonly;
    bool operator==(const Key& o) const {
      return resp == o.resp && readonly == o.readonly && address == o.address;
    }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<std::string>()(k.address) * 31 + k.resp * 2 + k.readonly;
    }
  };

  void Retire(Backend* b);

  Worker* worker_;
  int max_sessions_;
  uint64_t idle_ms_;
  size_t max_idle_per_node_;
  // Every live session connection, owned here; idle ones also listed per key, newest last.
  std::unordered_map<Backend*, std::unique_ptr<Backend>> all_;
  std::unordered_map<Key, std::vector<Backend*>, KeyHash> idle_;
  std::vector<std::unique_ptr<Backend>> retired_;
  size_t in_use_ = 0;
  uint64_t acquired_total_ = 0;
  uint64_t created_total_ = 0;
};

}  // namespace rs::proxy
