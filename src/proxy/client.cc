#include "proxy/client.h"

#include "proxy/monitor.h"
#include "proxy/pubsub.h"
#include "proxy/tracking_client.h"
#include "proxy/worker.h"

namespace rs::proxy {

Client::Client(Worker* w, uint64_t client_id) : worker(w), id(client_id) { tcp.data = this; }

Client::~Client() = default;

bool Client::subscribed() const { return subs && !subs->empty(); }

void Client::Complete(PendingReply* p, std::string_view reply) {
  if (!queue->empty() && &queue->front() == p && !p->suppressed && p->pushed_before == 0) {
    // The common case: the head of the line; straight to the output buffer.
    out.Append(reply);
    queue->pop_front();
    Drain();
  } else {
    if (p->pushed_before > 0) {
      p->data.append(reply);
    } else {
      p->data.assign(reply);
    }
    p->done = true;
    Drain();
  }
  worker->MarkDirty(this);
}

void Client::CompleteOwned(PendingReply* p, std::string&& reply) {
  if (p->pushed_before > 0) {
    p->data.append(reply);
  } else {
    p->data = std::move(reply);
  }
  p->done = true;
  Drain();
  worker->MarkDirty(this);
}

void Client::Drain() {
  while (queue && !queue->empty()) {
    PendingReply& front = queue->front();
    if (front.pushed_before > 0) {
      out.Append(std::string_view(front.data).substr(0, front.pushed_before));
      front.data.erase(0, front.pushed_before);
      front.pushed_before = 0;
    }
    if (!front.done) break;
    if (!front.suppressed) out.Append(front.data);
    queue->pop_front();
  }
}

}  // namespace rs::proxy
