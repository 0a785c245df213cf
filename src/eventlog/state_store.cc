#include "eventlog/state_store.h"

#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace rs::eventlog {

using model::Apply;

Status FoldInto(const EventLog& log, Seq to, ClusterState& state) {
  if (to <= state.last_seq) return Status::Ok();
  return log.Scan(state.last_seq + 1, to, [&](const DecodedEvent& d) {
    if (d.kind == RecordKind::kEvent) {
      state = Apply(std::move(state), d.event);
    } else {
      if (d.kind == RecordKind::kUnknown) {
        spdlog::warn("event {}: unknown kind {} (written by a newer version), skipped", d.event.seq,
                     d.tag);
      }
      // The record still moves the state's position; it changes nothing else.
      state.last_seq = d.event.seq;
      state.last_time_ms = d.event.time_ms;
    }
    return true;
  });
}

Result<ClusterState> StateAt(const EventLog& log, Seq at, bool use_snapshots) {
  at = std::min(at, log.last_seq());
  ClusterState state;
  if (use_snapshots) {
    std::vector<Seq> seqs = log.SnapshotSeqs();
    for (auto it = seqs.rbegin(); it != seqs.rend(); ++it) {
      if (*it > at) continue;
      auto snap = log.ReadSnapshot(*it);
      if (snap.ok()) {
        state = std::move(snap).value();
        break;
      }
      // A snapshot is only an optimisation: fall back to an older one or the first event.
      spdlog::warn("{}: {}; using an older snapshot", log.dir(), snap.status().ToString());
    }
  }
  if (state.last_seq == 0 && log.first_seq() > 1) {
    return Status::FailedPrecondition(
        fmt::format("{}: the log starts at event {} and no snapshot covers the events before it",
                    log.dir(), log.first_seq()));
  }
  RS_RETURN_IF_ERROR(FoldInto(log, at, state));
  return state;
}

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& dir,
                                                     const StateStoreOptions& options) {
  std::unique_ptr<StateStore> store(new StateStore());
  store->options_ = options;
  RS_ASSIGN_OR_RETURN(store->log_, EventLog::Open(dir, options.log));
  RS_ASSIGN_OR_RETURN(store->state_, StateAt(*store->log_, store->log_->last_seq()));
  std::vector<Seq> seqs = store->log_->SnapshotSeqs();
  store->last_snapshot_seq_ = seqs.empty() ? 0 : seqs.back();
  store->opened_ = true;
  return store;
}

StateStore::~StateStore() {
  // A store whose Open failed half-way has no log, or a partial state: never snapshot that.
  if (opened_ && !closed_ && options_.log.mode == OpenMode::kReadWrite) {
    Status s = Close();
    if (!s.ok()) spdlog::error("closing the state store: {}", s.ToString());
  }
}

Result<Seq> StateStore::Append(Event event, Durability durability) {
  std::vector<Event> one;
  one.push_back(std::move(event));
  return AppendEvents(std::move(one), durability);
}

Result<Seq> StateStore::AppendBatch(std::vector<Event> events, Durability durability) {
  if (events.empty()) return State().last_seq;
  return AppendEvents(std::move(events), durability);
}

Result<Seq> StateStore::AppendEvents(std::vector<Event> events, Durability durability) {
  uint64_t ticket = 0;
  Seq seq = 0;
  std::optional<ClusterState> snapshot;
  {
    std::lock_guard lock(mu_);
    RS_ASSIGN_OR_RETURN(EventLog::Written written, log_->Write(std::move(events), durability));
    for (const Event& e : written.events) state_ = Apply(std::move(state_), e);
    ticket = written.ticket;
    seq = state_.last_seq;
    if (options_.snapshot_every > 0 && !snapshot_due_taken_ &&
        seq - last_snapshot_seq_.load() >= options_.snapshot_every) {
      snapshot_due_taken_ = true;
      snapshot = state_;
    }
  }
  folded_.notify_all();
  if (durability == Durability::kSync) RS_RETURN_IF_ERROR(log_->SyncThrough(ticket));
  if (snapshot) {
    Status s = SaveSnapshot(*snapshot);
    {
      std::lock_guard lock(mu_);
      snapshot_due_taken_ = false;
    }
    RS_RETURN_IF_ERROR(s);
  }
  return seq;
}

ClusterState StateStore::State() const {
  std::lock_guard lock(mu_);
  return state_;
}

Seq StateStore::WaitForState(Seq after, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  folded_.wait_for(lock, timeout, [&] { return state_.last_seq > after; });
  return state_.last_seq;
}

Status StateStore::Snapshot() { return SaveSnapshot(State()); }

Status StateStore::SaveSnapshot(const ClusterState& state) {
  std::lock_guard lock(snapshot_mu_);
  // An older copy than the newest snapshot (two threads raced here) adds nothing.
  if (state.last_seq == 0 || state.last_seq <= last_snapshot_seq_.load()) return Status::Ok();
  RS_RETURN_IF_ERROR(log_->SaveSnapshot(state));
  last_snapshot_seq_ = state.last_seq;
  return Status::Ok();
}

Result<RetentionReport> StateStore::CompactHistory(int64_t now_ms) {
  if (options_.retain_health_ms <= 0) return RetentionReport{};
  return CompactHealthHistory(*log_, now_ms - options_.retain_health_ms);
}

Status StateStore::Close() {
  if (closed_.exchange(true)) return Status::Ok();
  if (options_.log.mode != OpenMode::kReadWrite) return Status::Ok();
  RS_RETURN_IF_ERROR(Snapshot());
  return log_->Sync();
}

}  // namespace rs::eventlog
