// Client connections for bench_proxy_sessions: a socket to 127.0.0.1, an output buffer written as
// the socket takes it, and whole replies framed from the input by resp::ReplyScanner (replies split
// across reads, nested arrays and pub/sub pushes framed exactly as the proxy frames them).
// A benchmark has nowhere to recover to: every socket or protocol failure exits the process with a
// message on stderr (Fail); a proxy refusal exits cleanly with `name: unsupported` lines.
#pragma once

#include <sys/epoll.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/resp_scanner.h"

namespace rs::bench {

[[noreturn]] void Fail(std::string_view what);

// Thread contract: used by one thread.
class Conn {
 public:
  Conn() = default;
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Connects to 127.0.0.1:port with TCP_NODELAY, as a blocking socket.
  void Connect(int port);
  void SetNonBlocking();
  int fd() const { return fd_; }

  // Queues one command (a multibulk request), or bytes already encoded.
  void Append(std::initializer_list<std::string_view> args);
  void AppendRaw(std::string_view bytes);
  // Writes what the socket takes (a blocking socket: everything). True when nothing is left.
  bool Flush();
  bool HasOutput() const { return out_pos_ < out_.size(); }

  // One read into the input buffer. False when nothing was there (non-blocking sockets only);
  // the peer closing the connection is a failure.
  bool ReadSome();
  // The next whole reply already read, if any: `raw` is its bytes, `info` what it is. Both point
  // into the input buffer and stay valid until the next ReadSome.
  bool NextReply(std::string_view* raw, resp::ReplyInfo* info);
  // Blocking sockets: reads until a whole reply is in.
  std::string_view ReadReply(resp::ReplyInfo* info);

  // The caller's index of this connection (Poller hands back Conns; this says whose).
  size_t id = 0;
  // Whether the poller is asked for EPOLLOUT on this socket (Poller's bookkeeping).
  bool watching_output = false;

 private:
  int fd_ = -1;
  std::string out_;
  size_t out_pos_ = 0;
  std::vector<char> in_;
  size_t in_begin_ = 0;  // start of the first reply not yet returned
  size_t in_end_ = 0;
  resp::ReplyScanner scanner_;
};

// The elements of the array (or RESP3 push) reply `raw`, framed one by one; false if `raw` is not
// an array. Views point into `raw`.
bool Elements(std::string_view raw, const resp::ReplyInfo& info,
              std::vector<resp::ReplyInfo>* elements);

// Whether `info` is one of the proxy's refusals of a command it does not support yet
// ("ERR proxy: 'BLPOP' is not supported by the proxy yet", "... MULTI is not supported ...").
bool IsUnsupported(const resp::ReplyInfo& info);

// Prints "name: unsupported" for each name, the refusal on stderr, and exits with status 0: a
// proxy without the feature is a result, not a failure.
[[noreturn]] void ReportUnsupported(std::initializer_list<std::string_view> names,
                                    std::string_view refusal);

// A reply's text for an error message: the line of a simple reply, else its first bytes.
std::string Describe(std::string_view raw, const resp::ReplyInfo& info);

// Level-triggered epoll over non-blocking Conns, reading always and writing while output waits.
// Thread contract: used by one thread.
class Poller {
 public:
  Poller();
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  void Add(Conn* conn);
  // Asks for EPOLLOUT exactly while `conn` has output left; call after queueing or flushing.
  void Update(Conn* conn);
  // Waits up to timeout_ms; fills `ready` with the Conns that can be read or written.
  void Wait(int timeout_ms, std::vector<Conn*>* ready);

 private:
  int epfd_ = -1;
  std::vector<epoll_event> events_;
};

// Resident set size of `pid` in bytes, from /proc/PID/status.
int64_t RssBytes(int pid);

// `INFO clients` field blocked_clients of the Redis on `conn` (a blocking Conn).
int64_t BlockedClients(Conn* conn);

// Microseconds on a monotonic clock.
double NowUs();

// Raises this process's open-file limit to its hard limit (thousands of clients need fds).
void RaiseFileLimit();

}  // namespace rs::bench
