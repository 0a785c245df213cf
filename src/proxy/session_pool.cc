#include "proxy/session_pool.h"

#include <algorithm>

#include "proxy/worker.h"

namespace rs::proxy {

SessionPool::~SessionPool() { Clear(); }

Backend* SessionPool::Acquire(const std::string& address, uint8_t resp, bool readonly,
                              Client* owner) {
  Key key{address, resp, readonly};
  auto it = idle_.find(key);
  Backend* b = nullptr;
  if (it != idle_.end() && !it->second.empty()) {
    b = it->second.back();
    it->second.pop_back();
  } else {
    if (in_use_ >= static_cast<size_t>(max_sessions_)) return nullptr;
    BackendOptions options;
    options.kind = BackendKind::kSession;
    options.resp = resp;
    options.readonly = readonly;
    auto fresh = std::make_unique<Backend>(worker_, address, options);
    b = fresh.get();
    all_.emplace(b, std::move(fresh));
    ++created_total_;
  }
  b->owner = owner;
  ++in_use_;
  ++acquired_total_;
  return b;
}

void SessionPool::Release(Backend* b, bool clean) {
  if (b->owner == nullptr) return;  // already released
  if (b->tracker != nullptr) {
    if (clean) return;  // still its tracking client's connection to the node
    worker_->OnTrackingSessionDropped(b);
  }
  b->owner = nullptr;
  --in_use_;
  Key key{b->address(), b->options().resp, b->options().readonly};
  std::vector<Backend*>& list = idle_[key];
  // Only the proxy's own commands may still be in flight (CLIENT TRACKING off): their replies
  // are dropped, whoever holds the connection next.
  if (clean && b->connected() && !b->retiring() && !b->HasClientOps() &&
      list.size() < max_idle_per_node_) {
    b->idle_since_ms = worker_->now_ms();
    list.push_back(b);
    return;
  }
  Retire(b);
}

void SessionPool::OnLost(Backend* b) {
  if (b->owner != nullptr) {
    b->owner = nullptr;
    --in_use_;
  }
  Retire(b);
}

void SessionPool::Retire(Backend* b) {
  auto it = all_.find(b);
  if (it == all_.end()) return;  // retired already
  Key key{b->address(), b->options().resp, b->options().readonly};
  if (auto li = idle_.find(key); li != idle_.end()) {
    auto& list = li->second;
    list.erase(std::remove(list.begin(), list.end(), b), list.end());
  }
  b->Retire();
  retired_.push_back(std::move(it->second));
  all_.erase(it);
  worker_->MarkRetired();
}

void SessionPool::Sweep(uint64_t now_ms) {
  std::vector<Backend*> old;
  for (auto& [key, list] : idle_) {
    for (Backend* b : list) {
      if (now_ms - b->idle_since_ms >= idle_ms_) old.push_back(b);
    }
  }
  for (Backend* b : old) Retire(b);
}

void SessionPool::CheckTimeouts(uint64_t now_ms, bool loop_stalled) {
  std::vector<Backend*> busy;
  for (auto& [b, owned] : all_) {
    if (b->inflight() > 0) busy.push_back(b);
  }
  // Fail() may retire a backend (changing all_), so not while iterating it.
  for (Backend* b : busy) b->CheckTimeouts(now_ms, loop_stalled);
}

void SessionPool::CollectRetired() {
  while (!retired_.empty()) {
    std::vector<std::unique_ptr<Backend>> batch;
    batch.swap(retired_);
    for (auto& b : batch) b->Close();
  }
}

size_t SessionPool::idle() const {
  size_t n = 0;
  for (const auto& [key, list] : idle_) n += list.size();
  return n;
}

void SessionPool::Clear() {
  idle_.clear();
  std::vector<std::unique_ptr<Backend>> all;
  for (auto& [b, owned] : all_) all.push_back(std::move(owned));
  all_.clear();
  for (auto& b : all) b->Close();
  CollectRetired();
  in_use_ = 0;
}

}  // namespace rs::proxy
