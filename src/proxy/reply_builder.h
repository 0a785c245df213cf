// Replies the proxy builds itself, in the protocol its client chose (RESP2, or RESP3 after
// HELLO 3): the same call writes a map as a map or as a flat array, a null as "_" or "$-1".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/resp_writer.h"

namespace rs::proxy {

// Thread contract: a value type; used by one worker at a time.
class ReplyBuilder {
 public:
  explicit ReplyBuilder(int protocol) : resp3_(protocol == 3) {}

  bool resp3() const { return resp3_; }
  std::string& str() { return out_; }
  std::string Take() { return std::move(out_); }

  ReplyBuilder& Status(std::string_view text) {
    resp::AppendSimpleString(&out_, text);
    return *this;
  }
  ReplyBuilder& Error(std::string_view text) {
    resp::AppendError(&out_, text);
    return *this;
  }
  ReplyBuilder& Integer(int64_t v) {
    resp::AppendInteger(&out_, v);
    return *this;
  }
  ReplyBuilder& Bulk(std::string_view v) {
    resp::AppendBulk(&out_, v);
    return *this;
  }
  ReplyBuilder& NullBulk() {
    if (resp3_) {
      resp::AppendNull(&out_);
    } else {
      resp::AppendNullBulk(&out_);
    }
    return *this;
  }
  ReplyBuilder& NullArray() {
    if (resp3_) {
      resp::AppendNull(&out_);
    } else {
      resp::AppendNullArray(&out_);
    }
    return *this;
  }
  ReplyBuilder& Array(int64_t n) {
    resp::AppendArrayHeader(&out_, n);
    return *this;
  }
  // `pairs` key/value pairs follow.
  ReplyBuilder& Map(int64_t pairs) {
    if (resp3_) {
      resp::AppendMapHeader(&out_, pairs);
    } else {
      resp::AppendArrayHeader(&out_, pairs * 2);
    }
    return *this;
  }
  ReplyBuilder& Set(int64_t n) {
    if (resp3_) {
      resp::AppendSetHeader(&out_, n);
    } else {
      resp::AppendArrayHeader(&out_, n);
    }
    return *this;
  }
  // Out-of-band data (pub/sub messages): a push in RESP3, an array in RESP2.
  ReplyBuilder& Push(int64_t n) {
    if (resp3_) {
      resp::AppendPushHeader(&out_, n);
    } else {
      resp::AppendArrayHeader(&out_, n);
    }
    return *this;
  }
  // INFO-style text: a verbatim string in RESP3 (as Redis sends INFO), a bulk string in RESP2.
  ReplyBuilder& Text(std::string_view text) {
    if (resp3_) {
      resp::AppendVerbatim(&out_, "txt", text);
    } else {
      resp::AppendBulk(&out_, text);
    }
    return *this;
  }
  ReplyBuilder& Raw(std::string_view bytes) {
    out_.append(bytes);
    return *this;
  }

 private:
  bool resp3_;
  std::string out_;
};

}  // namespace rs::proxy
