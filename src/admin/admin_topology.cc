// AdminServer's topology long-poll: GET /v1/topology is read on a worker, and a poll that must
// wait is parked on the HTTP loop (no thread) until the topology follower hands the loop a new
// epoch, its wait ends (304) or the server stops (503).
#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "admin/admin_server.h"
#include "admin/http_reply.h"
#include "admin/http_server.h"
#include "admin/topology_json.h"
#include "admin/topology_poll.h"
#include "admin/worker_pool.h"

namespace rs::admin {
namespace {

using nlohmann::json;

// How long the topology follower waits for an event before it looks whether to stop.
constexpr std::chrono::milliseconds kFollowSlice{200};

uint64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void AdminServer::ServeTopology(RequestId id, const HttpRequest& req) {
  HttpResponse res;
  auto after = UintParam(req, "after", 0);
  auto wait = UintParam(req, "wait", 0);
  if (!after.ok()) ErrorReply(res, 400, after.status().message());
  if (!wait.ok()) ErrorReply(res, 400, wait.status().message());
  if (!after.ok() || !wait.ok()) return server_->Reply(id, std::move(res));
  TopologyPoll poll;
  if (req.has_param("after")) poll.after = *after;
  if (req.has_param("generation")) poll.generation = req.param("generation");
  const model::ClusterState state = view_->State();
  if (TopologyAnswersAtOnce(poll, state.topology.epoch, generation_)) {
    json body = TopologyToJson(state.topology);
    body["generation"] = generation_;
    JsonReply(res, 200, body);
    return server_->Reply(id, std::move(res));
  }
  // A stop does not wait for the polls to run out (a proxy's lasts 30 s): they are answered
  // at once, and the proxy follows the nodes until a controller answers again.
  if (stop_.load()) {
    ErrorReply(res, 503, "controller is stopping");
    return server_->Reply(id, std::move(res));
  }
  const uint64_t wait_ms = std::min<uint64_t>(*wait, options_.max_wait_seconds) * 1000;
  if (wait_ms == 0) {
    res.status = 304;
    return server_->Reply(id, std::move(res));
  }
  // Parked on the loop: no thread waits. The state read here is at `seq`; the loop compares
  // the poll with its own copy of the topology only when that copy is at least as new.
  const model::Seq seq = state.last_seq;
  const uint64_t deadline = SteadyMs() + wait_ms;
  server_->Post([this, id, poll = std::move(poll), seq, deadline] {
    if (stopping_on_loop_) {
      HttpResponse res;
      ErrorReply(res, 503, "controller is stopping");
      return server_->Reply(id, std::move(res));
    }
    if (topology_.valid && topology_.seq >= seq &&
        TopologyAnswersAtOnce(poll, topology_.epoch, generation_)) {
      return server_->Reply(id, HttpResponse::Json(200, topology_.body));
    }
    watchers_[id] = Watcher{poll, deadline};
    deadlines_.emplace(deadline, id);
  });
}

void AdminServer::OnTopology(model::Seq seq, uint64_t epoch, std::string body) {
  topology_ = CachedTopology{true, seq, epoch, std::move(body)};
  // The JSON was serialized once; every watcher whose condition now holds gets the same bytes.
  std::vector<RequestId> answered;
  for (const auto& [id, w] : watchers_) {
    if (TopologyAnswersAtOnce(w.poll, epoch, generation_)) answered.push_back(id);
  }
  for (RequestId id : answered) {
    watchers_.erase(id);
    server_->Reply(id, HttpResponse::Json(200, topology_.body));
  }
}

void AdminServer::OnTick() {
  const uint64_t now = SteadyMs();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    RequestId id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    if (watchers_.erase(id) == 0) continue;  // Answered or gone.
    HttpResponse res;
    res.status = 304;
    server_->Reply(id, std::move(res));
  }
}

void AdminServer::OnStopping() {
  stopping_on_loop_ = true;
  for (const auto& [id, w] : watchers_) {
    HttpResponse res;
    ErrorReply(res, 503, "controller is stopping");
    server_->Reply(id, std::move(res));
  }
  watchers_.clear();
  deadlines_.clear();
}

void AdminServer::FollowTopology() {
  // Reads the state once per folded batch and hands the loop a new topology only when the epoch
  // moved: the loop then answers every watcher from one serialization.
  model::Seq seen = 0;
  std::optional<uint64_t> posted;
  while (!stop_.load()) {
    model::Seq last = view_->WaitForEvent(seen, kFollowSlice);
    if (posted && last <= seen) continue;
    model::ClusterState state = view_->State();
    seen = state.last_seq;
    if (posted && *posted == state.topology.epoch) continue;
    posted = state.topology.epoch;
    json body = TopologyToJson(state.topology);
    body["generation"] = generation_;
    server_->Post([this, seq = state.last_seq, epoch = state.topology.epoch,
                   text = body.dump()]() mutable { OnTopology(seq, epoch, std::move(text)); });
  }
}

}  // namespace rs::admin
