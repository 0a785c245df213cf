// A Journal that records events in memory and folds them, as the controller does over RocksDB.
#pragma once

#include <mutex>
#include <vector>

#include "eventlog/cluster_state.h"
#include "executor/executor.h"

namespace rs::executor {

// Thread contract: safe from any thread (the executor runs migrations on helper threads).
class MemoryJournal : public Journal {
 public:
  Result<eventlog::Seq> Record(eventlog::EventPayload payload, eventlog::Seq cause,
                               bool sync) override {
    std::lock_guard lock(mu_);
    eventlog::Event e;
    e.seq = ++seq_;
    e.cause = cause;
    e.payload = std::move(payload);
    events_.push_back(e);
    state_ = eventlog::Apply(std::move(state_), e);
    return e.seq;
  }
  eventlog::ClusterState State() override {
    std::lock_guard lock(mu_);
    return state_;
  }
  std::vector<eventlog::Event> Events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  eventlog::Seq seq_ = 0;
  eventlog::ClusterState state_;
  std::vector<eventlog::Event> events_;
};

}  // namespace rs::executor
