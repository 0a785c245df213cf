#include "proxy/client.h"

#include <netinet/in.h>

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

std::pair<std::string, int> Client::SocketAddress(bool peer) const {
  sockaddr_storage ss{};
  int len = sizeof(ss);
  int rc = peer ? uv_tcp_getpeername(&tcp, reinterpret_cast<sockaddr*>(&ss), &len)
                : uv_tcp_getsockname(&tcp, reinterpret_cast<sockaddr*>(&ss), &len);
  if (rc == 0) {
    char ip[64] = {};
    if (ss.ss_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      uv_ip4_name(a, ip, sizeof(ip));
      return {ip, ntohs(a->sin_port)};
    }
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    uv_ip6_name(a, ip, sizeof(ip));
    return {ip, ntohs(a->sin6_port)};
  }
  return {peer ? "?" : "127.0.0.1", 0};
}

}  // namespace rs::proxy
