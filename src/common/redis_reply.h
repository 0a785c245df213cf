// A Redis reply copied out of hiredis: plain data, safe to keep after the hiredis reply is freed.
// Error replies are replies, not failures ("MOVED 3999 127.0.0.1:6381", "BUSYKEY ...").
// Shared by the executor's admin connections and the tests' RedisClient (library rs_hiredis).
#pragma once

#include <string>
#include <string_view>
#include <vector>

struct redisReply;

namespace rs {

struct RedisReply {
  enum class Type { kString, kStatus, kError, kInteger, kNil, kArray };

  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError.
  long long integer = 0;
  std::vector<RedisReply> elements;

  // A deep copy of a hiredis reply (RESP2 types; anything else reads as nil).
  static RedisReply FromHiredis(const redisReply* r);

  bool is_error() const { return type == Type::kError; }
  bool is_nil() const { return type == Type::kNil; }
  // True for an error reply starting with `prefix` ("BUSYKEY", "ERR I'm already the owner").
  bool ErrorStartsWith(std::string_view prefix) const;
  // A readable rendering for messages: "OK", "(error) ERR ...", "[1, "a"]".
  std::string ToString() const;
};

}  // namespace rs
