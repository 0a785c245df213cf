#include "executor/redis_admin.h"

#include <sys/time.h>

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include "common/address.h"

namespace rs::executor {
namespace {

timeval ToTimeval(int ms) {
  timeval tv;
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

std::string Describe(const std::vector<std::string>& args) {
  std::string out;
  for (size_t i = 0; i < args.size() && i < 4; ++i) {
    if (i) out += ' ';
    out += args[i];
  }
  if (args.size() > 4) out += " ...";
  return out;
}

}  // namespace

Result<std::unique_ptr<AdminConnection>> AdminConnection::Connect(const std::string& address,
                                                                  const ConnectOptions& options) {
  RS_ASSIGN_OR_RETURN(Address addr, Address::Parse(address));
  redisContext* ctx =
      redisConnectWithTimeout(addr.host.c_str(), addr.port, ToTimeval(options.connect_timeout_ms));
  if (ctx == nullptr) return Status::Unavailable(fmt::format("connect {}: out of memory", address));
  if (ctx->err) {
    Status s = Status::Unavailable(fmt::format("connect {}: {}", address, ctx->errstr));
    redisFree(ctx);
    return s;
  }
  redisSetTimeout(ctx, ToTimeval(options.command_timeout_ms));
  std::unique_ptr<AdminConnection> conn(new AdminConnection(address, ctx));
  if (!options.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!options.user.empty()) auth.push_back(options.user);
    auth.push_back(options.password);
    RS_ASSIGN_OR_RETURN(Reply r, conn->Command(auth));
    if (r.is_error()) return Status::FailedPrecondition(fmt::format("AUTH on {}: {}", address, r.str));
  }
  return conn;
}

AdminConnection::~AdminConnection() { redisFree(ctx_); }

Status AdminConnection::Fail(std::string_view what) {
  broken_ = true;
  std::string err = ctx_->errstr[0] ? ctx_->errstr : "connection lost";
  if (ctx_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    return Status::Timeout(fmt::format("{} on {}: timed out", what, address_));
  }
  return Status::Unavailable(fmt::format("{} on {}: {}", what, address_, err));
}

Result<Reply> AdminConnection::Command(const std::vector<std::string>& args) {
  RS_ASSIGN_OR_RETURN(std::vector<Reply> replies, Pipeline({args}));
  return std::move(replies.front());
}

Result<std::vector<Reply>> AdminConnection::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (broken_) return Status::Unavailable(fmt::format("connection to {} is broken", address_));
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& args : commands) {
    argv.clear();
    lens.clear();
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
        REDIS_OK) {
      return Fail(Describe(args));
    }
  }
  std::vector<Reply> out;
  out.reserve(commands.size());
  for (const auto& args : commands) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) return Fail(Describe(args));
    out.push_back(Reply::FromHiredis(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return out;
}

Result<AdminConnection*> AdminPool::Get(const std::string& address) {
  auto it = conns_.find(address);
  if (it != conns_.end() && !it->second->broken()) return it->second.get();
  RS_ASSIGN_OR_RETURN(auto conn, AdminConnection::Connect(address, options_));
  AdminConnection* raw = conn.get();
  conns_[address] = std::move(conn);
  return raw;
}

Result<Reply> AdminPool::Command(const std::string& address, const std::vector<std::string>& args) {
  RS_ASSIGN_OR_RETURN(auto replies, Pipeline(address, {args}));
  return std::move(replies.front());
}

Result<std::vector<Reply>> AdminPool::Pipeline(
    const std::string& address, const std::vector<std::vector<std::string>>& commands) {
  bool cached = conns_.count(address) && !conns_[address]->broken();
  RS_ASSIGN_OR_RETURN(AdminConnection * conn, Get(address));
  auto r = conn->Pipeline(commands);
  if (!r.ok() && cached && conn->broken()) {
    // The cached connection may have died while idle (node restarted): retry once on a new one.
    conns_.erase(address);
    RS_ASSIGN_OR_RETURN(conn, Get(address));
    return conn->Pipeline(commands);
  }
  return r;
}

Result<Reply> ExpectOk(Result<Reply> reply, std::string_view what) {
  if (!reply.ok()) return reply.status().WithContext(what);
  if (reply->is_error()) return Status::Aborted(fmt::format("{}: {}", what, reply->str));
  return reply;
}

}  // namespace rs::executor
