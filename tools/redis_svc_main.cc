// redis-svc: the operator's tool for the controller's history and operations.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "common/version.h"

int main(int argc, char** argv) {
  CLI::App app{"redis-svc: read, replay and audit redis-ctl's event log"};
  app.set_version_flag("--version", rs::kVersion);
  app.require_subcommand(0);
  CLI11_PARSE(app, argc, argv);
  std::printf("%s", app.help().c_str());
  return 0;
}
