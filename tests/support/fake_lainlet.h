// FakeLainlet: a test server that speaks lainlet's wire protocol (shared/lainlet-api.md 1.2-1.3)
// for /v2/procwatcher and /v2/coreinfowatcher: raw hijacked event-stream headers with no length,
// `id:`/`event:`/`data:` framing, init id 1, per-receiver ids from 2, heartbeats with id 0 every
// `heartbeat` seconds, `error` events followed by a close, plain GETs with a Content-Length, 400
// for Key() failures, 404 for unknown paths, and on demand any error status for everything (a
// broken lainlet or the proxy in front of it). Driven by the test.
// Thread contract: the server runs on its own thread; every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace rs::test {

class FakeLainlet {
 public:
  FakeLainlet();
  ~FakeLainlet();
  FakeLainlet(const FakeLainlet&) = delete;
  FakeLainlet& operator=(const FakeLainlet&) = delete;

  // Listens on 127.0.0.1 (a free port the first time, the same port afterwards).
  Status Start();
  // Closes the listener and every connection, like a lainlet that went away.
  void Stop();
  // Stop, then Start on the same port.
  Status Restart();

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // The procwatcher data (the JSON body). When it changed, every procwatcher watch gets an
  // `update` (or `delete` with DeleteProcs) carrying the new full state, as lainlet does.
  void SetProcs(std::string body);
  void DeleteProcs(std::string body);
  // Changes what GET and init return without telling the watches: a dropped event (4.8).
  void SetProcsSilently(std::string body);
  void SetCoreinfo(std::string body);

  // Sends `error` (id 0) with `text` on every watch, then closes them.
  void SendError(const std::string& text);
  // A hung lainlet: while stalled, watches get nothing at all (no heartbeats, no events).
  void StallHeartbeats(bool stall);
  // Closes every open connection abruptly (the listener stays).
  void DropConnections();
  // Key() failure: GETs answer `400` with `text`, watches get `error` with `text` and a close.
  void RefuseWith(std::string text);
  void ClearRefusal();
  // A broken lainlet: open watches are closed and every request (watch or GET) is answered
  // `status` (e.g. 500) with `body`, then closed, until ClearFailure.
  void FailWith(int status, std::string body);
  void ClearFailure();

  int watch_requests() const { return watch_requests_; }
  int get_requests() const { return get_requests_; }
  int open_watches() const;
  // Every request line received ("GET /v2/procwatcher?appname=... HTTP/1.1").
  std::vector<std::string> request_lines() const;

 private:
  struct Conn {
    int fd = -1;
    std::string in;
    bool watch = false;
    std::string route;  // "procwatcher" or "coreinfowatcher".
    int heartbeat_s = 0;
    int64_t next_heartbeat_ms = 0;
    uint64_t counter = 2;   // lainlet's Receiver.counter: ids after init start at 2.
    std::string last_data;  // Only changed data is sent.
  };

  void Serve();
  void HandleRequest(Conn* c);                      // mu_ held.
  bool SendAll(Conn* c, const std::string& bytes);  // mu_ held; false: the connection died.
  void SendEvent(Conn* c, uint64_t id, const std::string& name, const std::string& data);
  void Broadcast(const std::string& route, const std::string& action);  // mu_ held.
  void CloseConn(Conn* c);                                              // mu_ held.
  void CloseAll();                                                      // mu_ held.

  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> running_ = false;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::map<std::string, std::string> data_;  // route → body.
  bool stalled_ = false;
  std::string refusal_;
  int fail_status_ = 0;
  std::string fail_body_;
  std::vector<std::string> request_lines_;
  std::atomic<int> watch_requests_ = 0;
  std::atomic<int> get_requests_ = 0;
};

// One procwatcher pod entry as lainlet writes it ({"InstanceNo":..,"IP":..,"Port":..,"ProcName":..}).
std::string PodJson(uint32_t instance, const std::string& ip, int port, const std::string& proc);
// A procwatcher body, `[{"proc":[pods...]},...]`, from groups of PodJson entries.
std::string ProcwatcherBody(const std::vector<std::vector<std::string>>& groups);

}  // namespace rs::test
