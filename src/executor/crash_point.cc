#include "executor/crash_point.h"

#ifdef RS_CRASH_POINTS
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace rs::executor {

void CrashPoint(const char* name) {
  static const char* target = std::getenv("RS_CRASH_AT");
  if (target == nullptr || std::strcmp(target, name) != 0) return;
  static std::atomic<long> remaining = [] {
    const char* after = std::getenv("RS_CRASH_AFTER");
    return after ? std::atol(after) : 0L;
  }();
  if (remaining.fetch_sub(1) > 0) return;
  // Like kill -9: no destructors, no flush, no atexit handlers.
  static const char kMsg[] = "crash point reached, killing self\n";
  (void)!write(2, kMsg, sizeof(kMsg) - 1);
  raise(SIGKILL);
}

}  // namespace rs::executor
#endif
