// Discovery for the controller: the configured source (lainlet, file or static) feeding the
// membership debounce, whose MembershipChanged events go to the event log, and lainlet's
// reachability as DiscoveryStatusChanged events to the same sink.
// Thread contract: Start/Stop on the libuv loop thread that runs `loop`.
#pragma once

#include <memory>
#include <optional>

#include <uv.h>

#include "common/status.h"
#include "controller/config.h"
#include "discovery/debounce.h"
#include "discovery/file_source.h"
#include "discovery/lainlet_source.h"
#include "discovery/membership.h"
#include "discovery/source.h"

namespace rs::controller {

class DiscoveryRunner {
 public:
  // `restored` is the member set already in the log, so a restart announces nothing new and a
  // first empty snapshot cannot shrink it (and, with a members file, so a file that is invalid at
  // start is reported and tolerated rather than fatal); `restored_reachable` is the log's last
  // word on the source, so an outage recorded before a restart is ended by the next contact.
  static Result<std::unique_ptr<DiscoveryRunner>> Create(uv_loop_t* loop, const Config& config,
                                                         std::vector<model::Member> restored,
                                                         bool restored_reachable,
                                                         discovery::ReachableFn reachable,
                                                         model::EventSink sink);
  ~DiscoveryRunner();

  Status Start();
  void Stop();

 private:
  DiscoveryRunner() = default;

  std::unique_ptr<discovery::Membership> membership_;
  std::unique_ptr<discovery::LainletSource> lainlet_;
  std::unique_ptr<discovery::FileSource> file_;
  std::unique_ptr<discovery::StaticSource> static_;
  // Set when the log says unreachable but the source no longer is lainlet: Start clears it.
  std::optional<model::DiscoveryStatusChanged> clear_status_;
  model::EventSink sink_;
};

}  // namespace rs::controller
