// Named crash points: CRASH_POINT("migrate.after_importing") kills the process there when the
// environment variable RS_CRASH_AT names that point (and RS_CRASH_AFTER, if set, counts down
// hits first). Compiled in only with -DRS_CRASH_POINTS=ON; otherwise they cost nothing.
#pragma once

#ifdef RS_CRASH_POINTS
namespace rs::executor {
void CrashPoint(const char* name);
}  // namespace rs::executor
#define CRASH_POINT(name) ::rs::executor::CrashPoint(name)
#else
#define CRASH_POINT(name) \
  do {                    \
  } while (0)
#endif
