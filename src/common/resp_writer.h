// Appends RESP2 replies and commands to a std::string output buffer.
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

// A whole command as a multibulk request: "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".
void AppendCommand(std::string* out, std::span<const std::string_view> args);
void AppendCommand(std::string* out, std::initializer_list<std::string_view> args);

}  // namespace rs::resp
