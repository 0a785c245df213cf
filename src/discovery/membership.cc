#include "discovery/membership.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "common/now.h"

namespace rs::discovery {

Membership::Membership(uv_loop_t* loop, DebounceOptions options, std::string source,
                       ReachableFn reachable, model::EventSink sink, const Clock& clock)
    : loop_(loop),
      debounce_(options, std::move(source)),
      reachable_(std::move(reachable)),
      sink_(std::move(sink)),
      clock_(clock) {
  if (!reachable_) reachable_ = [](std::string_view) { return true; };
}

Membership::~Membership() { assert(closed_); }

Status Membership::Start(int64_t tick_ms) {
  if (started_) return Status::FailedPrecondition("membership already started");
  uv_timer_init(loop_, &tick_);
  tick_.data = this;
  closed_ = false;
  started_ = true;
  uv_timer_start(
      &tick_,
      [](uv_timer_t* t) {
        auto* self = static_cast<Membership*>(t->data);
        self->Emit(self->debounce_.Tick(self->clock_.WallMs(), self->reachable_));
      },
      tick_ms, tick_ms);
  return Status::Ok();
}

void Membership::Stop() {
  if (!started_ || closed_) return;
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_),
           [](uv_handle_t* h) { static_cast<Membership*>(h->data)->closed_ = true; });
}

void Membership::OnSnapshot(std::vector<model::Member> snapshot) {
  size_t n = snapshot.size();
  Emit(debounce_.Offer(std::move(snapshot), clock_.WallMs(), reachable_));
  auto pending = debounce_.PendingRemovals();
  if (!pending.empty()) {
    spdlog::info("discovery: snapshot of {} members; holding back removal of {} member(s)", n,
                 pending.size());
  }
}

void Membership::Emit(std::optional<model::MembershipChanged> change) {
  if (!change) return;
  spdlog::info("discovery: membership is now {} member(s) from {}", change->members.size(),
               change->source);
  sink_(std::move(*change));
}

}  // namespace rs::discovery
