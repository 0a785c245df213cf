// Writes the demo history (demo_history.h) into a new event log: `make_demo_eventlog DIR`.
#include <cstdio>

#include "demo_history.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_demo_eventlog DIR\n");
    return 2;
  }
  rs::eventlog::StateStoreOptions o;
  o.log.create_if_missing = true;
  o.snapshot_every = 25;
  auto store = rs::eventlog::StateStore::Open(argv[1], o);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  rs::Status s = rs::eventlog::testing::WriteDemoHistory(**store);
  if (s.ok()) s = (*store)->Close();
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("wrote %llu events to %s\n",
              static_cast<unsigned long long>((*store)->State().last_seq), argv[1]);
  return 0;
}
