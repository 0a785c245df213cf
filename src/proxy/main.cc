// redis-proxy: what clients connect to. Until the proxy issue lands it only parses its flags.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "common/version.h"

int main(int argc, char** argv) {
  CLI::App app{"redis-proxy: one Redis endpoint in front of a Redis Cluster"};
  app.set_version_flag("--version", rs::kVersion);
  CLI11_PARSE(app, argc, argv);
  std::fprintf(stderr, "redis-proxy: the proxy is not built yet; see --help\n");
  return 1;
}
