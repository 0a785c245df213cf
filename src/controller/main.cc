// redis-ctl: the controller. Until the executor issue lands it only parses its flags.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "common/logging.h"
#include "common/version.h"

int main(int argc, char** argv) {
  CLI::App app{"redis-ctl: runs a Redis Cluster from what discovery says (event-sourced controller)"};
  app.set_version_flag("--version", rs::kVersion);
  std::string log_level = "info", log_format = "plain";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  app.add_option("--log-format", log_format, "plain or json")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  auto format = rs::ParseLogFormat(log_format);
  if (!format.ok()) {
    std::fprintf(stderr, "redis-ctl: %s\n", format.status().message().c_str());
    return 2;
  }
  if (auto s = rs::SetupLogging(log_level, *format); !s.ok()) {
    std::fprintf(stderr, "redis-ctl: %s\n", s.message().c_str());
    return 2;
  }
  std::fprintf(stderr, "redis-ctl: the controller loop is not built yet; see --help\n");
  return 1;
}
