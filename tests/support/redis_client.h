// A small synchronous hiredis client for tests: one connection, one command at a time (or a
// pipeline of them), replies copied into plain values.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis_reply.h"
#include "common/status.h"

struct redisContext;

namespace rs::test {

// A Redis reply as a value. Error replies are replies, not failed Results, so tests can look at
// "MOVED 3999 127.0.0.1:6381" and friends.
using Reply = RedisReply;

// Thread contract: not thread-safe; one owner.
class RedisClient {
 public:
  // Connects and, when `password` is set, sends AUTH. `timeout` bounds the connect and every
  // command afterwards, so a paused (SIGSTOP) server makes commands fail instead of hang.
  static Result<RedisClient> Connect(const std::string& host, uint16_t port,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                     const std::string& password = "");

  RedisClient(RedisClient&&) noexcept;
  RedisClient& operator=(RedisClient&&) noexcept;
  ~RedisClient();

  // Binary-safe: each argument is sent as one bulk string.
  Result<Reply> Command(const std::vector<std::string>& args);
  template <typename... Args>
  requires(std::convertible_to<const Args&, std::string_view>&&...) Result<Reply> Command(
      const Args&... args) {
    return Command(std::vector<std::string>{std::string(std::string_view(args))...});
  }

  // The reply as text: bulk/status string, or the integer in decimal. Error replies, nil and
  // arrays become a failed Result carrying the reply.
  Result<std::string> CommandString(const std::vector<std::string>& args);
  template <typename... Args>
  requires(std::convertible_to<const Args&, std::string_view>&&...)
      Result<std::string> CommandString(const Args&... args) {
    return CommandString(std::vector<std::string>{std::string(std::string_view(args))...});
  }

  // Pipelining: queue any number of commands, then read their replies in order.
  void Append(const std::vector<std::string>& args);
  // Sends what Append queued without waiting for a reply (GetReply sends it too): pipelines to
  // several servers flush each before reading any.
  Status Flush();
  Result<Reply> GetReply();

  const std::string& endpoint() const { return endpoint_; }

 private:
  struct ContextDeleter {
    void operator()(redisContext* c) const;
  };
  RedisClient(std::unique_ptr<redisContext, ContextDeleter> ctx, std::string endpoint);
  Status TransportError(std::string_view what) const;

  std::unique_ptr<redisContext, ContextDeleter> ctx_;
  std::string endpoint_;
};

// "key:value" lines of an INFO or CLUSTER INFO reply, e.g. InfoField(text, "cluster_state") ->
// "ok"; "" when absent.
std::string InfoField(std::string_view info, std::string_view field);

}  // namespace rs::test
