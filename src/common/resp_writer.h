// Appends RESP2 and RESP3 replies and commands to a std::string output buffer.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace rs::resp {

// "+OK\r\n". `text` must not contain CR or LF (Redis would send a bulk string instead).
void AppendSimpleString(std::string* out, std::string_view text);
// "-ERR message\r\n". `message` is the text after '-', e.g. a constant from redis_errors.h.
// CR and LF become spaces, as Redis's addReplyErrorLength callers do, so the reply stays one line.
void AppendError(std::string* out, std::string_view message);
void AppendInteger(std::string* out, int64_t value);
void AppendBulk(std::string* out, std::string_view value);
void AppendNullBulk(std::string* out);  // "$-1\r\n"
void AppendArrayHeader(std::string* out, int64_t count);
void AppendNullArray(std::string* out);  // "*-1\r\n"

// RESP3 types (a client that sent HELLO 3). Nulls of every kind are one "_\r\n" in RESP3.
void AppendNull(std::string* out);
void AppendMapHeader(std::string* out, int64_t pairs);   // "%N": N key/value pairs follow
void AppendSetHeader(std::string* out, int64_t count);   // "~N"
void AppendPushHeader(std::string* out, int64_t count);  // ">N": out-of-band data (pub/sub)
// "=N\r\ntxt:..." with a three-letter `format` ("txt" for INFO-style text).
void AppendVerbatim(std::string* out, std::string_view format, std::string_view text);

// A whole command as a multibulk request: "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".
void AppendCommand(std::string* out, std::span<const std::string_view> args);
void AppendCommand(std::string* out, std::initializer_list<std::string_view> args);

}  // namespace rs::resp
