#include "support/redis_client.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <utility>

namespace rs::test {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

void RedisClient::ContextDeleter::operator()(redisContext* c) const { redisFree(c); }

RedisClient::RedisClient(std::unique_ptr<redisContext, ContextDeleter> ctx, std::string endpoint)
    : ctx_(std::move(ctx)), endpoint_(std::move(endpoint)) {}
RedisClient::RedisClient(RedisClient&&) noexcept = default;
RedisClient& RedisClient::operator=(RedisClient&&) noexcept = default;
RedisClient::~RedisClient() = default;

Result<RedisClient> RedisClient::Connect(const std::string& host, uint16_t port,
                                         std::chrono::milliseconds timeout,
                                         const std::string& password) {
  std::string endpoint = host + ":" + std::to_string(port);
  std::unique_ptr<redisContext, ContextDeleter> ctx(
      redisConnectWithTimeout(host.c_str(), port, ToTimeval(timeout)));
  if (!ctx) return Status::IoError("connect " + endpoint + ": out of memory");
  if (ctx->err) return Status::Unavailable("connect " + endpoint + ": " + ctx->errstr);
  if (redisSetTimeout(ctx.get(), ToTimeval(timeout)) != REDIS_OK) {
    return Status::IoError("set timeout on " + endpoint + ": " + ctx->errstr);
  }
  RedisClient client(std::move(ctx), endpoint);
  if (!password.empty()) {
    RS_ASSIGN_OR_RETURN(std::string ok, client.CommandString("AUTH", password));
    (void)ok;
  }
  return client;
}

Status RedisClient::TransportError(std::string_view what) const {
  return Status::Unavailable(std::string(what) + " " + endpoint_ + ": " +
                             (ctx_->err ? ctx_->errstr : "no reply"));
}

Result<Reply> RedisClient::Command(const std::vector<std::string>& args) {
  Append(args);
  return GetReply();
}

void RedisClient::Append(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(ctx_.get(), static_cast<int>(args.size()), argv.data(), lens.data());
}

Status RedisClient::Flush() {
  int done = 0;
  while (!done) {
    if (redisBufferWrite(ctx_.get(), &done) != REDIS_OK) return TransportError("command to");
  }
  return Status::Ok();
}

Result<Reply> RedisClient::GetReply() {
  if (ctx_->err) return TransportError("command to");
  void* raw = nullptr;
  if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) {
    return TransportError("reply from");
  }
  Reply reply = Reply::FromHiredis(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return reply;
}

Result<std::string> RedisClient::CommandString(const std::vector<std::string>& args) {
  RS_ASSIGN_OR_RETURN(Reply reply, Command(args));
  switch (reply.type) {
    case Reply::Type::kString:
    case Reply::Type::kStatus:
      return std::move(reply.str);
    case Reply::Type::kInteger:
      return std::to_string(reply.integer);
    default:
      return Status::FailedPrecondition(endpoint_ + " " + (args.empty() ? "" : args[0]) + ": " +
                                        reply.ToString());
  }
}

std::string InfoField(std::string_view info, std::string_view field) {
  size_t pos = 0;
  while (pos < info.size()) {
    size_t end = info.find('\n', pos);
    if (end == std::string_view::npos) end = info.size();
    std::string_view line = info.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > field.size() && line.substr(0, field.size()) == field &&
        line[field.size()] == ':') {
      return std::string(line.substr(field.size() + 1));
    }
    pos = end + 1;
  }
  return "";
}

}  // namespace rs::test
