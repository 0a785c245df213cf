// Synchronous admin calls to Redis nodes (hiredis), with connect and command timeouts and AUTH.
// Thread contract: an AdminConnection and an AdminPool are used by one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis_reply.h"
#include "common/status.h"

struct redisContext;

namespace rs::executor {

using Reply = RedisReply;

struct ConnectOptions {
  int connect_timeout_ms = 1000;
  int command_timeout_ms = 5000;
  std::string user;      // Empty: AUTH with password only.
  std::string password;  // Empty: no AUTH.
};

class AdminConnection {
 public:
  // Connects to "host:port" and authenticates.
  static Result<std::unique_ptr<AdminConnection>> Connect(const std::string& address,
                                                          const ConnectOptions& options);
  ~AdminConnection();
  AdminConnection(const AdminConnection&) = delete;
  AdminConnection& operator=(const AdminConnection&) = delete;

  // One command. An error reply is a Reply of type kError (not a failed Result); a failed Result
  // means the connection broke or timed out, and the connection is then unusable.
  Result<Reply> Command(const std::vector<std::string>& args);
  // Sends every command, then reads every reply (one round trip for many SETSLOTs).
  Result<std::vector<Reply>> Pipeline(const std::vector<std::vector<std::string>>& commands);

  const std::string& address() const { return address_; }
  bool broken() const { return broken_; }

 private:
  AdminConnection(std::string address, redisContext* ctx) : address_(std::move(address)), ctx_(ctx) {}
  Status Fail(std::string_view what);

  std::string address_;
  redisContext* ctx_;
  bool broken_ = false;
};

// Connections by address, reconnecting when one broke.
class AdminPool {
 public:
  explicit AdminPool(ConnectOptions options) : options_(std::move(options)) {}

  Result<AdminConnection*> Get(const std::string& address);
  // Runs one command on `address`, reconnecting once if the cached connection had broken.
  Result<Reply> Command(const std::string& address, const std::vector<std::string>& args);
  Result<std::vector<Reply>> Pipeline(const std::string& address,
                                      const std::vector<std::vector<std::string>>& commands);
  void Drop(const std::string& address) { conns_.erase(address); }
  const ConnectOptions& options() const { return options_; }

 private:
  ConnectOptions options_;
  std::map<std::string, std::unique_ptr<AdminConnection>> conns_;
};

// Returns the reply, or an error Status (with the address and command) when the reply is an error.
Result<Reply> ExpectOk(Result<Reply> reply, std::string_view what);

}  // namespace rs::executor
