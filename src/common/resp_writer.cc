#include "common/resp_writer.h"

#include <charconv>

namespace rs::resp {
namespace {

void AppendLine(std::string* out, char type, int64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  out->push_back(type);
  out->append(digits, end);
  out->append("\r\n", 2);
}

}  // namespace

void AppendSimpleString(std::string* out, std::string_view text) {
  out->push_back('+');
  out->append(text);
  out->append("\r\n", 2);
}

void AppendError(std::string* out, std::string_view message) {
  out->push_back('-');
  const size_t start = out->size();
  out->append(message);
  for (size_t i = start; i < out->size(); ++i) {
    if ((*out)[i] == '\r' || (*out)[i] == '\n') (*out)[i] = ' ';
  }
  out->append("\r\n", 2);
}

void AppendInteger(std::string* out, int64_t value) { AppendLine(out, ':', value); }

void AppendBulk(std::string* out, std::string_view value) {
  AppendLine(out, '$', static_cast<int64_t>(value.size()));
  out->append(value);
  out->append("\r\n", 2);
}

void AppendNullBulk(std::string* out) { out->append("$-1\r\n", 5); }

void AppendArrayHeader(std::string* out, int64_t count) { AppendLine(out, '*', count); }

void AppendNullArray(std::string* out) { out->append("*-1\r\n", 5); }

void AppendNull(std::string* out) { out->append("_\r\n", 3); }

void AppendMapHeader(std::string* out, int64_t pairs) { AppendLine(out, '%', pairs); }

void AppendSetHeader(std::string* out, int64_t count) { AppendLine(out, '~', count); }

void AppendPushHeader(std::string* out, int64_t count) { AppendLine(out, '>', count); }

void AppendVerbatim(std::string* out, std::string_view format, std::string_view text) {
  AppendLine(out, '=', static_cast<int64_t>(format.size() + 1 + text.size()));
  out->append(format);
  out->push_back(':');
  out->append(text);
  out->append("\r\n", 2);
}

void AppendCommand(std::string* out, std::span<const std::string_view> args) {
  AppendArrayHeader(out, static_cast<int64_t>(args.size()));
  for (std::string_view arg : args) AppendBulk(out, arg);
}

void AppendCommand(std::string* out, std::initializer_list<std::string_view> args) {
  AppendCommand(out, std::span<const std::string_view>(args.begin(), args.size()));
}

}  // namespace rs::resp
