#include "controller/discovery_runner.h"

#include <utility>

#include <fmt/format.h>

#include "common/address.h"
#include "discovery/lainlet_address.h"
#include "discovery/member_file.h"

namespace rs::controller {

Result<std::unique_ptr<DiscoveryRunner>> DiscoveryRunner::Create(
    uv_loop_t* loop, const Config& config, std::vector<model::Member> restored,
    bool restored_reachable, discovery::ReachableFn reachable, model::EventSink sink) {
  std::unique_ptr<DiscoveryRunner> r(new DiscoveryRunner());
  r->sink_ = sink;
  discovery::DebounceOptions debounce{config.removal_grace_ms, config.mass_removal_grace_ms};
  std::string source_name;
  if (config.discovery == "lainlet") {
    RS_ASSIGN_OR_RETURN(Address addr, discovery::ParseLainletAddress(config.lainlet_url));
    discovery::LainletOptions o;
    o.host = addr.host;
    o.port = addr.port;
    o.appname = config.appname;
    o.proc_name = config.redis_proc;
    o.unreachable_after_ms = config.lainlet_unreachable_after_ms;
    o.reachable_at_start = restored_reachable;
    source_name = fmt::format("lainlet:{}", config.lainlet_url);
    r->membership_ = std::make_unique<discovery::Membership>(loop, debounce, source_name,
                                                             reachable, sink);
    auto* runner = r.get();
    r->lainlet_ = std::make_unique<discovery::LainletSource>(
        loop, o, r->membership_->snapshot_fn(), [runner](bool ok, std::string reason) {
          runner->sink_(model::DiscoveryStatusChanged{runner->lainlet_->Describe(), ok,
                                                         std::move(reason)});
        });
  } else {
    RS_ASSIGN_OR_RETURN(discovery::DiscoverySpec spec, discovery::ParseDiscoverySpec(config.discovery));
    source_name = config.discovery;
    r->membership_ = std::make_unique<discovery::Membership>(loop, debounce, source_name,
                                                             reachable, sink);
    if (spec.kind == discovery::DiscoverySpec::Kind::kFile) {
      auto* runner = r.get();
      discovery::FileStatusOptions status;
      status.on_status = [runner, source_name](bool ok, std::string reason) {
        runner->sink_(model::DiscoveryStatusChanged{source_name, ok, std::move(reason)});
      };
      // The file says whether the log's last word (a bad file, or lainlet's outage) still holds.
      status.usable_at_start = restored_reachable;
      // With a membership on record, a bad file at start is reported, not fatal.
      status.tolerate_invalid_at_start = !restored.empty();
      r->file_ = std::make_unique<discovery::FileSource>(
          loop, spec.path, r->membership_->snapshot_fn(), 1000, std::move(status));
    } else if (spec.kind == discovery::DiscoverySpec::Kind::kStatic) {
      r->static_ = std::make_unique<discovery::StaticSource>(spec.members,
                                                             r->membership_->snapshot_fn());
    } else {
      return Status::InvalidArgument(fmt::format("unsupported --discovery '{}'", config.discovery));
    }
    if (!restored_reachable && !r->file_) {
      // The log's last word was an outage of another source; a static list is always usable.
      r->clear_status_ =
          model::DiscoveryStatusChanged{source_name, true, "discovery is now a static list"};
    }
  }
  r->membership_->Restore(std::move(restored));
  return r;
}

DiscoveryRunner::~DiscoveryRunner() = default;

Status DiscoveryRunner::Start() {
  RS_RETURN_IF_ERROR(membership_->Start());
  if (clear_status_) sink_(*std::exchange(clear_status_, std::nullopt));
  if (lainlet_) return lainlet_->Start();
  if (file_) return file_->Start();
  if (static_) static_->Start();
  return Status::Ok();
}

void DiscoveryRunner::Stop() {
  if (lainlet_) lainlet_->Stop();
  if (file_) file_->Stop();
  membership_->Stop();
}

}  // namespace rs::controller
