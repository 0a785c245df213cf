#include "discovery/lainlet_source.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "discovery/http_request.h"

namespace rs::discovery {
namespace {

bool SamePods(std::vector<Pod> a, std::vector<Pod> b) {
  // Pod groups come in Go map order (4.10): compare as sets.
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

std::string Shorten(std::string_view s) {
  std::string out(s.substr(0, 200));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

LainletSource::LainletSource(uv_loop_t* loop, LainletOptions options, SnapshotFn on_snapshot,
                             ReachabilityFn on_reachability)
    : loop_(loop),
      options_(std::move(options)),
      on_snapshot_(std::move(on_snapshot)),
      on_reachability_(std::move(on_reachability)),
      rng_(std::random_device{}()),
      reachable_(options_.reachable_at_start) {
  if (options_.heartbeat_s > 0 && options_.unreachable_after_ms > 0) {
    // Heartbeats are contact too: at least three per threshold, whole seconds (lainlet's unit).
    int64_t per_threshold = options_.unreachable_after_ms / 3000;
    options_.heartbeat_s = static_cast<int>(
        std::max<int64_t>(1, std::min<int64_t>(options_.heartbeat_s, per_threshold)));
  }
  if (options_.dead_after_ms <= 0) options_.dead_after_ms = 3000LL * options_.heartbeat_s;
}

LainletSource::~LainletSource() { assert(!started_ || open_handles_ == 0); }

std::string LainletSource::Describe() const {
  return fmt::format("lainlet:http://{}:{}/v2/procwatcher?appname={}", options_.host, options_.port,
                     options_.appname);
}

Status LainletSource::Start() {
  if (started_) return Status::FailedPrecondition("lainlet source already started");
  if (options_.appname.empty()) return Status::InvalidArgument("lainlet needs an appname");
  if (options_.heartbeat_s <= 0) return Status::InvalidArgument("lainlet heartbeat must be > 0");
  if (options_.unreachable_after_ms <= 0) {
    return Status::InvalidArgument("lainlet unreachable_after_ms must be > 0");
  }
  for (uv_timer_t* t : {&reconnect_timer_, &dead_timer_, &resync_timer_, &unreachable_timer_}) {
    uv_timer_init(loop_, t);
    t->data = this;
    ++open_handles_;
  }
  started_ = true;
  // No contact at all from the start counts as well.
  uv_timer_start(
      &unreachable_timer_,
      [](uv_timer_t* t) { static_cast<LainletSource*>(t->data)->OnUnreachable(); },
      options_.unreachable_after_ms, 0);
  ConnectWatch();
  uv_timer_start(
      &resync_timer_, [](uv_timer_t* t) { static_cast<LainletSource*>(t->data)->Resync(); },
      options_.resync_interval_ms, options_.resync_interval_ms);
  if (options_.coreinfo) FetchCoreinfo();
  return Status::Ok();
}

void LainletSource::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  for (HttpRequest** r : {&watch_, &resync_, &coreinfo_req_}) {
    if (*r) (*r)->Cancel();
    *r = nullptr;
  }
  for (uv_timer_t* t : {&reconnect_timer_, &dead_timer_, &resync_timer_, &unreachable_timer_}) {
    uv_close(reinterpret_cast<uv_handle_t*>(t),
             [](uv_handle_t* h) { --static_cast<LainletSource*>(h->data)->open_handles_; });
  }
}

void LainletSource::ConnectWatch() {
  if (stopped_) return;
  ++watch_attempts_;
  watch_ok_ = false;
  watch_status_ = 0;
  watch_error_body_.clear();
  last_error_event_.clear();
  sse_.Reset();
  std::string target = fmt::format("/v2/procwatcher?appname={}&watch=1&heartbeat={}",
                                   options_.appname, options_.heartbeat_s);
  HttpCallbacks cb;
  cb.on_headers = [this](int status, const auto&) { OnWatchHeaders(status); };
  cb.on_body = [this](std::string_view b) { OnWatchBody(b); };
  cb.on_done = [this](Status s) { OnWatchDone(std::move(s)); };
  watch_ = HttpRequest::Start(loop_, options_.host, options_.port, target, false, std::move(cb));
  ArmDeadTimer();  // Also bounds resolve + connect.
}

void LainletSource::ArmDeadTimer() {
  uv_timer_start(
      &dead_timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<LainletSource*>(t->data);
        self->DropWatch(
            fmt::format("no bytes for {} ms (3 heartbeats)", self->options_.dead_after_ms));
      },
      options_.dead_after_ms, 0);
}

void LainletSource::OnWatchHeaders(int status) {
  watch_status_ = status;
  ArmDeadTimer();
}

void LainletSource::OnWatchBody(std::string_view bytes) {
  ArmDeadTimer();
  if (watch_status_ != 200) {
    watch_error_body_.append(bytes.substr(0, 1024));
    return;
  }
  std::vector<SseEvent> events;
  Status s = sse_.Feed(bytes, &events);
  for (const SseEvent& e : events) {
    if (e.event == "heartbeat") {
      GoodContact("heartbeat on the watch");
      if (watch_ == nullptr) return;  // The callback stopped us.
      continue;
    }
    if (e.event == "error") {
      // Auth failures, missing appname, lainlet's own errors; lainlet closes the stream next.
      last_error_event_ = e.data;
      spdlog::error("lainlet {}: error event: {}", Describe(), Shorten(e.data));
      Failure("error event: " + Shorten(e.data));
      continue;
    }
    if (e.event != "init" && e.event != "update" && e.event != "delete") continue;
    auto pods = ParseProcwatcher(e.data);
    if (!pods.ok()) {
      DropWatch(fmt::format("bad {} event (id {}): {}", e.event, e.id, pods.status().ToString()));
      return;
    }
    // init, update and delete all carry the full state: replace everything.
    if (e.event == "init") {
      watch_ok_ = true;
      attempt_ = 0;
    }
    GoodContact(e.event + " on the watch");
    if (watch_ == nullptr) return;  // The callback stopped us.
    pods_ = std::move(*pods);
    have_pods_ = true;
    Deliver();
    if (watch_ == nullptr) return;  // The callback stopped us.
  }
  if (!s.ok()) DropWatch(s.ToString());
}

void LainletSource::OnWatchDone(Status status) {
  watch_ = nullptr;
  watch_ok_ = false;
  uv_timer_stop(&dead_timer_);
  if (stopped_) return;
  if (watch_status_ != 0 && watch_status_ != 200) {
    spdlog::error("lainlet {}: watch refused: {} {}", Describe(), watch_status_,
                  Shorten(watch_error_body_));
    Failure(fmt::format("HTTP {} {}", watch_status_, Shorten(watch_error_body_)));
  } else if (!last_error_event_.empty()) {
    spdlog::error("lainlet {}: watch closed after error event: {}", Describe(),
                  Shorten(last_error_event_));
  } else if (!status.ok()) {
    spdlog::warn("lainlet {}: watch failed: {}", Describe(), status.ToString());
    Failure(status.message());
  } else {
    // Normal for lainlet's daily restart (4.2).
    spdlog::warn("lainlet {}: watch closed by lainlet", Describe());
    Failure("watch closed by lainlet");
  }
  ScheduleReconnect();
}

void LainletSource::DropWatch(const std::string& why) {
  if (watch_ == nullptr) return;
  spdlog::warn("lainlet {}: dropping watch: {}", Describe(), why);
  Failure(why);
  watch_->Cancel();
  watch_ = nullptr;
  watch_ok_ = false;
  uv_timer_stop(&dead_timer_);
  ScheduleReconnect();
}

int64_t LainletSource::NextBackoff() {
  // Capped exponential with "equal jitter": half fixed, half random, so restarts of many
  // controllers do not hit lainlet in lockstep.
  int64_t cap = options_.backoff_min_ms;
  for (int i = 0; i < attempt_ && cap < options_.backoff_max_ms; ++i) cap *= 2;
  cap = std::min(cap, options_.backoff_max_ms);
  ++attempt_;
  std::uniform_int_distribution<int64_t> jitter(0, cap / 2);
  return cap / 2 + jitter(rng_);
}

void LainletSource::ScheduleReconnect() {
  if (stopped_) return;
  int64_t delay = NextBackoff();
  spdlog::info("lainlet {}: reconnecting in {} ms", Describe(), delay);
  uv_timer_start(
      &reconnect_timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<LainletSource*>(t->data);
        if (self->watch_ == nullptr) self->ConnectWatch();
      },
      delay, 0);
}

void LainletSource::Resync() {
  if (stopped_) return;
  auto now = static_cast<int64_t>(uv_now(loop_));
  // A GET to a hung lainlet must not block every later resync.
  if (resync_ != nullptr && now - resync_started_ > options_.request_timeout_ms) {
    spdlog::warn("lainlet {}: periodic GET timed out", Describe());
    Failure(fmt::format("periodic GET: no answer in {} ms", options_.request_timeout_ms));
    resync_->Cancel();
    resync_ = nullptr;
  }
  if (coreinfo_req_ != nullptr && now - coreinfo_started_ > options_.request_timeout_ms) {
    coreinfo_req_->Cancel();
    coreinfo_req_ = nullptr;
  }
  if (resync_ != nullptr) return;
  resync_started_ = now;
  if (options_.coreinfo) FetchCoreinfo();
  resync_body_.clear();
  resync_status_ = 0;
  HttpCallbacks cb;
  cb.on_headers = [this](int status, const auto&) { resync_status_ = status; };
  cb.on_body = [this](std::string_view b) { resync_body_.append(b); };
  cb.on_done = [this](Status s) {
    resync_ = nullptr;
    if (!s.ok()) {
      spdlog::warn("lainlet {}: periodic GET failed: {}", Describe(), s.ToString());
      Failure("periodic GET: " + s.message());
      return;
    }
    if (resync_status_ != 200) {
      spdlog::error("lainlet {}: periodic GET answered {} {}", Describe(), resync_status_,
                    Shorten(resync_body_));
      Failure(fmt::format("periodic GET: HTTP {} {}", resync_status_, Shorten(resync_body_)));
      return;
    }
    auto pods = ParseProcwatcher(resync_body_);
    if (!pods.ok()) {
      spdlog::error("lainlet {}: periodic GET: {}", Describe(), pods.status().ToString());
      Failure("periodic GET: " + pods.status().message());
      return;
    }
    GoodContact("periodic GET answered 200");
    if (stopped_) return;  // The callback stopped us.
    if (have_pods_ && SamePods(*pods, pods_)) return;
    // The watch missed an event, or went silent with heartbeats still flowing (4.8).
    spdlog::warn("lainlet {}: periodic GET differs from the watch; reconnecting the watch",
                 Describe());
    pods_ = std::move(*pods);
    have_pods_ = true;
    Deliver();
    if (watch_ != nullptr) {
      watch_->Cancel();
      watch_ = nullptr;
      uv_timer_stop(&dead_timer_);
      attempt_ = 0;
      ConnectWatch();
    }
  };
  resync_ = HttpRequest::Start(loop_, options_.host, options_.port,
                               fmt::format("/v2/procwatcher?appname={}", options_.appname), true,
                               std::move(cb));
}

void LainletSource::FetchCoreinfo() {
  if (stopped_ || coreinfo_req_ != nullptr) return;
  coreinfo_started_ = uv_now(loop_);
  coreinfo_body_.clear();
  coreinfo_status_ = 0;
  HttpCallbacks cb;
  cb.on_headers = [this](int status, const auto&) { coreinfo_status_ = status; };
  cb.on_body = [this](std::string_view b) { coreinfo_body_.append(b); };
  cb.on_done = [this](Status s) {
    coreinfo_req_ = nullptr;
    if (!s.ok() || coreinfo_status_ != 200) {
      spdlog::warn("lainlet {}: coreinfowatcher GET failed: {} {}", Describe(),
                   s.ok() ? std::to_string(coreinfo_status_) : s.ToString(),
                   Shorten(coreinfo_body_));
      return;
    }
    auto hosts = ParseCoreinfo(coreinfo_body_, options_.proc_name);
    if (!hosts.ok()) {
      spdlog::error("lainlet {}: {}", Describe(), hosts.status().ToString());
      return;
    }
    if (*hosts == hosts_) return;
    hosts_ = std::move(*hosts);
    if (have_pods_) Deliver();
  };
  coreinfo_req_ = HttpRequest::Start(
      loop_, options_.host, options_.port,
      fmt::format("/v2/coreinfowatcher?appname={}", options_.appname), true, std::move(cb));
}

void LainletSource::GoodContact(std::string_view what) {
  if (stopped_) return;
  last_failure_.clear();
  uv_timer_start(
      &unreachable_timer_,
      [](uv_timer_t* t) { static_cast<LainletSource*>(t->data)->OnUnreachable(); },
      options_.unreachable_after_ms, 0);
  if (reachable_) return;
  reachable_ = true;
  spdlog::warn("lainlet {}: reachable again ({})", Describe(), what);
  if (on_reachability_) on_reachability_(true, std::string(what));
}

void LainletSource::Failure(std::string what) { last_failure_ = std::move(what); }

void LainletSource::OnUnreachable() {
  if (stopped_ || !reachable_) return;
  reachable_ = false;
  std::string reason = last_failure_.empty()
                           ? fmt::format("no answer for {} ms", options_.unreachable_after_ms)
                           : last_failure_;
  spdlog::error("lainlet {}: unreachable: no good contact for {} ms; last failure: {}", Describe(),
                options_.unreachable_after_ms, reason);
  if (on_reachability_) on_reachability_(false, std::move(reason));
}

void LainletSource::Deliver() {
  Selection sel = SelectMembers(pods_, options_.proc_name, hosts_);
  for (const auto& why : sel.skipped) spdlog::debug("lainlet {}: skipped: {}", Describe(), why);
  if (options_.coreinfo) {
    // A new instance we have no host for yet: ask coreinfo now rather than at the next resync.
    for (const auto& m : sel.members) {
      if (!hosts_.count(m.instance)) {
        FetchCoreinfo();
        break;
      }
    }
  }
  ++snapshots_;
  on_snapshot_(std::move(sel.members));
}

}  // namespace rs::discovery
