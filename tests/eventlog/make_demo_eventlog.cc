// Writes the demo history (demo_history.h) into a new event log: `make_demo_eventlog DIR`.
#include <cstdio>

#include "demo_history.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_demo_eventlog DIR\n");
    return 2;
  }
  auto last = rs::eventlog::testing::WriteDemoDataDir(argv[1]);
  if (!last.ok()) {
    std::fprintf(stderr, "%s\n", last.status().ToString().c_str());
    return 1;
  }
  std::printf("wrote %llu events to %s\n", static_cast<unsigned long long>(*last), argv[1]);
  return 0;
}
