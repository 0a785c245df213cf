// Builds a record as a newer binary would write it: a valid Event whose payload union tag is one
// this binary does not know. Uses capnp's raw struct API to set the discriminant.
#pragma once

#include <string>

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize-packed.h>
#include <kj/io.h>

#include "model/event.h"
#include "eventlog/events.capnp.h"

namespace rs::eventlog::testing {

using model::Event;

inline std::string EncodeFutureKind(const Event& header, uint16_t tag) {
  capnp::MallocMessageBuilder msg;
  auto root = msg.initRoot<capnp_schema::Event>();
  root.setSeq(header.seq);
  root.setTimeMs(header.time_ms);
  root.setCause(header.cause);
  root.setSource(header.source);
  root.getPayload().initAlertRaised().setSubject("from the future");
  auto offset = capnp::Schema::from<capnp_schema::Event::Payload>()
                    .getProto()
                    .getStruct()
                    .getDiscriminantOffset();  // In 16-bit units of the data section.
  capnp::AnyStruct::Builder any = capnp_schema::Event::Builder(root);
  auto data = any.getDataSection();
  data[offset * 2] = static_cast<kj::byte>(tag & 0xff);
  data[offset * 2 + 1] = static_cast<kj::byte>(tag >> 8);
  kj::VectorOutputStream out;
  capnp::writePackedMessage(out, msg);
  auto arr = out.getArray();
  return std::string(reinterpret_cast<const char*>(arr.begin()), arr.size());
}

}  // namespace rs::eventlog::testing
