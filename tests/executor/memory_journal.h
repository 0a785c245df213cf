// A Journal that records events in memory and folds them, as the controller does over RocksDB.
#pragma once

#include <mutex>
#include <vector>

#include "model/cluster_state.h"
#include "executor/executor.h"

namespace rs::executor {

// Thread contract: safe from any thread (the executor runs migrations on helper threads).
class MemoryJournal : public Journal {
 public:
  Result<model::Seq> Record(model::EventPayload payload, model::Seq cause,
                               bool sync) override {
    std::lock_guard lock(mu_);
    model::Event e;
    e.seq = ++seq_;
    e.cause = cause;
    e.payload = std::move(payload);
    events_.push_back(e);
    state_ = model::Apply(std::move(state_), e);
    return e.seq;
  }
  model::ClusterState State() override {
    std::lock_guard lock(mu_);
    return state_;
  }
  std::vector<model::Event> Events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  model::Seq seq_ = 0;
  model::ClusterState state_;
  std::vector<model::Event> events_;
};

}  // namespace rs::executor
