// Discovery for the controller: the configured source (lainlet, file or static) feeding the
// membership debounce, whose MembershipChanged events go to the event log.
// Thread contract: Start/Stop on the libuv loop thread that runs `loop`.
#pragma once

#include <memory>

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
  // first empty snapshot cannot shrink it.
  static Result<std::unique_ptr<DiscoveryRunner>> Create(uv_loop_t* loop, const Config& config,
                                                         std::vector<eventlog::Member> restored,
                                                         discovery::ReachableFn reachable,
                                                         discovery::EventSink sink);
  ~DiscoveryRunner();

  Status Start();
  void Stop();

 private:
  DiscoveryRunner() = default;

  std::unique_ptr<discovery::Membership> membership_;
  std::unique_ptr<discovery::LainletSource> lainlet_;
  std::unique_ptr<discovery::FileSource> file_;
  std::unique_ptr<discovery::StaticSource> static_;
};

}  // namespace rs::controller
