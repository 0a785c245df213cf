// Session connections held by a client (client.h says for what and how long): given back to the
// pool once nothing is in flight and no state lives on them, closed when the client goes, and
// forgotten when the node drops them.
//
// What runs on them: worker_transactions.cc (MULTI/EXEC/WATCH), worker_blocking.cc (blocking
// commands, WAIT), fanout.cc and worker_requests.cc (scripts, admin commands held for one
// request).
#include <spdlog/spdlog.h>

#include "proxy/worker.h"

namespace rs::proxy {

void Worker::EndSession(Client* c) {
  if (c->session == nullptr) return;
  c->release_session = true;
  MaybeReleaseSession(c);
}

void Worker::MaybeReleaseSession(Client* c) {
  Backend* s = c->session;
  if (s == nullptr || !c->release_session || s->inflight() > 0) return;
  if (c->tx && (c->tx->in_multi || c->tx->watching || c->tx->exec_sent)) return;
  c->session = nullptr;
  c->release_session = false;
  sessions_.Release(s, true);
}

void Worker::CloseSessions(Client* c) {
  // Closing (not pooling) them ends what they carried: a transaction is discarded, a blocked pop
  // is not served to a client that is gone.
  if (c->session != nullptr) {
    sessions_.Release(c->session, false);
    c->session = nullptr;
  }
  for (Backend* b : c->temp_sessions) sessions_.Release(b, false);
  c->temp_sessions.clear();
  if (c->block) c->block->backend = nullptr;
}

void Worker::OnSessionLost(Backend* b, const std::string& why) {
  if (b->tracker != nullptr) OnTrackingSessionDropped(b);
  Client* c = b->owner;
  sessions_.OnLost(b);
  if (c == nullptr) return;
  spdlog::debug("client {}: session to {} lost: {}", c->id, b->address(), why);
  if (c->session == b) {
    c->session = nullptr;
    c->release_session = false;
    if (c->tx) {
      if (c->tx->watching) c->tx->watch_lost = true;
      if (c->tx->in_multi && c->tx->multi_sent) c->tx->dirty = true;  // what was queued is gone
      c->tx->multi_sent = false;
    }
  }
  c->ForgetTempSession(b);
  if (c->block && c->block->backend == b) c->block->backend = nullptr;
}

}  // namespace rs::proxy
