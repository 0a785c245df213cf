#include "proxy/client.h"

#include "proxy/monitor.h"
#include "proxy/pubsub.h"
#include "proxy/worker.h"

namespace rs::proxy {

Client::Client(Worker* w, uint64_t client_id) : worker(w), id(client_id) { tcp.data = this; }

Client::~Client() = default;

bool Client::subscribed() const { return subs && !subs->empty(); }

void Client::Complete(PendingReply* p, std::string_view reply) {
  if (!queue->empty() && &queue->front() == p && !p->suppressed) {
    // The common case: the head of the line; straight to the output buffer.
    out.Append(reply);
    queue->pop_front();
    Drain();
  } else {
    p->data.assign(reply);
    p->done = true;
    Drain();
  }
  worker->MarkDirty(this);
}

void Client::CompleteOwned(PendingReply* p, std::string&& reply) {
  p->data = std::move(reply);
  p->done = true;
  Drain();
  worker->MarkDirty(this);
}

void Client::Drain() {
  while (queue && !queue->empty() && queue->front().done) {
    if (!queue->front().suppressed) out.Append(queue->front().data);
    queue->pop_front();
  }
}

}  // namespace rs::proxy
