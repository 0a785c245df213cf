// redis-ctl: the controller daemon. See --help.
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/logging.h"
#include "controller/config.h"
#include "controller/controller.h"

int main(int argc, char** argv) {
  rs::controller::Config config;
  if (int code = rs::controller::ParseConfig(argc, argv, &config); code >= 0) return code;
  if (auto s = rs::controller::Validate(config); !s.ok()) {
    std::fprintf(stderr, "redis-ctl: %s\n", s.message().c_str());
    return 2;
  }
  auto format = rs::ParseLogFormat(config.log_format);
  if (!format.ok()) {
    std::fprintf(stderr, "redis-ctl: %s\n", format.status().message().c_str());
    return 2;
  }
  if (auto s = rs::SetupLogging(config.log_level, *format); !s.ok()) {
    std::fprintf(stderr, "redis-ctl: %s\n", s.message().c_str());
    return 2;
  }

  // SIGTERM/SIGINT are taken by a dedicated thread with sigwait, so no handler runs inside the
  // loops; every other thread inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Every admin connection (a proxy's long-poll is one) is a descriptor: the soft limit goes up
  // to the hard one so thousands fit.
  if (rlimit nofile{}; getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    const rlim_t soft = nofile.rlim_cur;
    if (soft < nofile.rlim_max) {
      nofile.rlim_cur = nofile.rlim_max;
      if (setrlimit(RLIMIT_NOFILE, &nofile) == 0) {
        spdlog::info("open files limit raised from {} to {}", soft, nofile.rlim_cur);
      } else {
        spdlog::warn("open files limit stays {} (cannot raise it to {})", soft, nofile.rlim_max);
      }
    } else {
      spdlog::info("open files limit {}", soft);
    }
  }

  auto controller = rs::controller::Controller::Open(config);
  if (!controller.ok()) {
    spdlog::error("{}", controller.status().message());
    return 1;
  }
  std::atomic<bool> stop{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("signal {}: finishing the current batch, then stopping", sig);
    stop = true;
  });
  waiter.detach();
  rs::Status s = (*controller)->Run(stop);
  if (!s.ok()) {
    spdlog::error("redis-ctl stopped: {}", s.ToString());
    return 1;
  }
  spdlog::info("redis-ctl stopped cleanly");
  return 0;
}
