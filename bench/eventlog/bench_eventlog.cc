// Event log benchmarks, printed as `name: value unit` lines for bench/run.sh:
// append rate (sync per event, group commit, batched), fold rate, replay-from-disk rate and
// open-to-ready time with 1,000,000 events of history, with and without snapshots.
// Usage: bench_eventlog [--events N] [--dir D]   (N defaults to 1,000,000; D to $TMPDIR)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "event_gen.h"
#include "eventlog/event_log.h"
#include "eventlog/state_store.h"

namespace {

using namespace rs::eventlog;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

[[noreturn]] void Die(const rs::Status& s, const char* what) {
  std::fprintf(stderr, "bench_eventlog: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

std::unique_ptr<EventLog> Create(const std::string& dir) {
  EventLogOptions o;
  o.create_if_missing = true;
  auto log = EventLog::Open(dir, o);
  if (!log.ok()) Die(log.status(), "open");
  return std::move(log).value();
}

// Appends single events for about `budget` seconds (at most `max`); returns events/s.
double AppendRate(const std::string& dir, Durability d, double budget, int max, bool health) {
  auto log = Create(dir);
  testing::EventGen gen(1);
  int n = 0;
  auto start = Clock::now();
  while (n < max && (n % 64 != 0 || Seconds(start) < budget)) {
    auto r = log->Append(health ? gen.NextHealth() : gen.Next(), d);
    if (!r.ok()) Die(r.status(), "append");
    ++n;
  }
  if (d == Durability::kGroup) {
    rs::Status s = log->Sync();  // The rate includes making it all durable.
    if (!s.ok()) Die(s, "sync");
  }
  return n / Seconds(start);
}

double BatchedRate(const std::string& dir, int total, int batch) {
  auto log = Create(dir);
  testing::EventGen gen(2);
  auto start = Clock::now();
  for (int i = 0; i < total; i += batch) {
    auto r = log->AppendBatch(gen.Take(batch), Durability::kSync);
    if (!r.ok()) Die(r.status(), "append batch");
  }
  return total / Seconds(start);
}

double FoldRate(int n) {
  std::vector<Event> events = testing::EventGen(3).Take(n);
  ClusterState s;
  auto start = Clock::now();
  for (const Event& e : events) s = Apply(std::move(s), e);
  double secs = Seconds(start);
  if (s.last_seq != static_cast<Seq>(n)) std::fprintf(stderr, "fold lost events\n");
  return n / secs;
}

}  // namespace

int main(int argc, char** argv) {
  int history = 1'000'000;
  std::string base = std::filesystem::temp_directory_path().string();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--events") == 0) history = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--dir") == 0) base = argv[i + 1];
  }
  std::string tmpl = base + "/rs-bench-eventlog-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string root = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{root};

  std::printf("eventlog_append_sync: %.0f events/s\n",
              AppendRate(root + "/sync", Durability::kSync, 3.0, 20'000, false));
  std::printf("eventlog_append_group: %.0f events/s\n",
              AppendRate(root + "/group", Durability::kGroup, 3.0, 300'000, true));
  std::printf("eventlog_append_group_target: 50000 events/s\n");
  std::printf("eventlog_append_batched: %.0f events/s\n",
              BatchedRate(root + "/batched", 200'000, 1000));
  std::printf("eventlog_fold_rate: %.0f events/s\n", FoldRate(300'000));
  std::printf("eventlog_fold_rate_target: 1000000 events/s\n");
  std::fflush(stdout);

  // History of `history` events, snapshots every 100,000 and none at the end, so start-up folds
  // a worst-case tail of 100,000 events after the newest snapshot.
  constexpr Seq kSnapshotEvery = 100'000;
  const std::string hist = root + "/history";
  {
    auto log = Create(hist);
    testing::EventGen gen(4);
    ClusterState s;
    auto start = Clock::now();
    for (int i = 0; i < history; i += 1000) {
      std::vector<Event> batch = gen.Take(std::min(1000, history - i));
      auto r = log->AppendBatch(batch, Durability::kGroup);
      if (!r.ok()) Die(r.status(), "writing history");
      for (const Event& e : batch) s = Apply(std::move(s), e);
      if (s.last_seq % kSnapshotEvery == 0 && s.last_seq < static_cast<Seq>(history)) {
        rs::Status st = log->SaveSnapshot(s);
        if (!st.ok()) Die(st, "snapshot");
      }
    }
    std::printf("eventlog_history_write: %.0f events/s (%d events, batches of 1000)\n",
                history / Seconds(start), history);
  }
  {
    uint64_t bytes = 0;
    std::error_code ec;
    for (const auto& f : std::filesystem::recursive_directory_iterator(hist, ec)) {
      if (f.is_regular_file(ec)) bytes += f.file_size(ec);
    }
    std::printf("eventlog_history_size: %.1f MiB (after a clean close)\n",
                static_cast<double>(bytes) / (1 << 20));
  }
  const int millions = history / 1'000'000;
  const std::string suffix =
      millions >= 1 ? std::to_string(millions) + "m" : std::to_string(history);
  {
    auto start = Clock::now();
    StateStoreOptions o;
    auto store = StateStore::Open(hist, o);
    if (!store.ok()) Die(store.status(), "open with snapshots");
    double ms = Seconds(start) * 1000;
    std::printf("eventlog_open_ready_snapshot_%s: %.0f ms (tail of %llu events)\n", suffix.c_str(),
                ms,
                static_cast<unsigned long long>((*store)->State().last_seq -
                                                (*store)->log().SnapshotSeqs().back()));
    std::printf("eventlog_open_ready_snapshot_%s_target: 1000 ms\n", suffix.c_str());
  }
  {
    auto start = Clock::now();
    EventLogOptions o;
    o.mode = OpenMode::kReadOnly;
    auto log = EventLog::Open(hist, o);
    if (!log.ok()) Die(log.status(), "open without snapshots");
    auto state = StateAt(**log, (*log)->last_seq(), /*use_snapshots=*/false);
    if (!state.ok()) Die(state.status(), "fold without snapshots");
    double secs = Seconds(start);
    std::printf("eventlog_open_ready_nosnapshot_%s: %.0f ms\n", suffix.c_str(), secs * 1000);
    std::printf("eventlog_replay_rate: %.0f events/s (read, decode and fold from RocksDB)\n",
                history / secs);
  }
  return 0;
}
