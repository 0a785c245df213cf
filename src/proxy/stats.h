// Counters of one worker, read by INFO and /metrics from other threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

namespace rs::proxy {

// One writer (the worker), many readers: Inc() is a relaxed load+store, no lock prefix needed.
struct Counter {
  std::atomic<uint64_t> v{0};
  void Add(uint64_t n) {
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Inc() { Add(1); }
  void Set(uint64_t n) { v.store(n, std::memory_order_relaxed); }
  uint64_t Get() const { return v.load(std::memory_order_relaxed); }
};

// Thread contract: written by its worker only; any thread may read.
struct WorkerStats {
  explicit WorkerStats(size_t commands) : per_command(commands + 1) {}
  Counter clients;
  Counter clients_total;
  Counter clients_rejected;
  Counter requests;
  Counter errors;        // error replies sent to clients (any origin)
  Counter proxy_errors;  // errors the proxy made (backend down, refused, protocol)
  Counter moved;
  Counter ask;
  Counter tryagain;
  Counter slow_consumers;
  Counter slow_requests;
  Counter protocol_errors;
  std::vector<Counter> per_command;  // CommandInfo::index; last: unknown commands
};

}  // namespace rs::proxy
