// Event log benchmarks, printed as `name: value unit` lines for bench/run.sh:
// append rate (sync per event, group commit, batched), fold rate, replay-from-disk rate and
// open-to-ready time with 1,000,000 events of history, with and without snapshots; and filtered
// pages of history through the index at 10,000,000 events (write rate with the index, the
// index's build time for a log without one, page latency p50/p99, and the full scan beside it).
// Usage: bench_eventlog [--events N] [--query-events M] [--dir D] [--only-queries]
//   N defaults to 1,000,000; M to 10,000,000 (0 skips the filtered pages); D to $TMPDIR.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "event_gen.h"
#include "eventlog/event_filter.h"
#include "eventlog/event_log.h"
#include "eventlog/event_query.h"
#include "eventlog/state_store.h"

namespace {

using namespace rs::eventlog;
using namespace rs::model;
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

// Drops the index and its marker, as a log written before the index has neither.
void DropIndex(const std::string& dir) {
  std::vector<std::string> names;
  auto s = rocksdb::DB::ListColumnFamilies(rocksdb::Options(), dir, &names);
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const std::string& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> h;
  rocksdb::DB* db = nullptr;
  if (s.ok()) s = rocksdb::DB::Open(rocksdb::Options(), dir, descs, &h, &db);
  if (!s.ok()) Die(rs::Status::IoError(s.ToString()), "dropping the index");
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "meta") s = db->Delete(rocksdb::WriteOptions(), h[i], std::string(kIndexKey));
    if (s.ok() && names[i] == "index") s = db->DropColumnFamily(h[i]);
    if (!s.ok()) Die(rs::Status::IoError(s.ToString()), "dropping the index");
  }
  for (auto* x : h) db->DestroyColumnFamilyHandle(x);
  delete db;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// The filters an operator pages through: a node, a slot, a plan, a node's health events.
rs::svc::EventFilter QueryFilter(std::mt19937_64& rng, uint64_t plans) {
  testing::EventGen names(0);
  rs::svc::EventFilter f;
  switch (rng() % 4) {
    case 0:
      f.node = names.Address(static_cast<int>(rng() % 12));
      break;
    case 1:
      f.slot = static_cast<uint16_t>(rng() % kSlotCount);
      break;
    case 2:
      f.plan = 1 + rng() % std::max<uint64_t>(plans, 1);
      break;
    default:
      f.node = names.Address(static_cast<int>(rng() % 12));
      f.kinds = {"node-health"};
  }
  return f;
}

// Filtered pages of 100 at `events` events of history.
void FilteredPages(const std::string& root, int events) {
  const std::string dir = root + "/filtered";
  const int millions = events / 1'000'000;
  const std::string suffix =
      millions >= 1 ? std::to_string(millions) + "m" : std::to_string(events);
  uint64_t plans = 0;
  {
    auto log = Create(dir);
    testing::EventGen gen(5);
    constexpr int kBatch = 10'000;
    auto start = Clock::now();
    for (int i = 0; i < events; i += kBatch) {
      std::vector<Event> batch = gen.Take(std::min(kBatch, events - i));
      for (const Event& e : batch) {
        if (auto* p = std::get_if<PlanProposed>(&e.payload)) plans = p->plan.id;
      }
      auto r = log->AppendBatch(std::move(batch), Durability::kGroup);
      if (!r.ok()) Die(r.status(), "writing history");
    }
    rs::Status st = log->Sync();
    if (!st.ok()) Die(st, "sync");
    const double secs = Seconds(start);
    std::printf("eventlog_index_history_write_%s: %.0f events/s (%d events with the index, "
                "batches of %d, %.0f s)\n",
                suffix.c_str(), events / secs, events, kBatch, secs);
    std::fflush(stdout);
  }
  {
    DropIndex(dir);
    auto start = Clock::now();
    auto log = Create(dir);  // A writer's Open builds the missing index.
    std::printf("eventlog_index_build_%s: %.1f s (one pass over a log without an index)\n",
                suffix.c_str(), Seconds(start));
    std::fflush(stdout);
  }
  EventLogOptions ro;
  ro.mode = OpenMode::kReadOnly;
  auto opened = EventLog::Open(dir, ro);
  if (!opened.ok()) Die(opened.status(), "open for reading");
  const EventLog& log = **opened;
  if (!log.has_index()) Die(rs::Status::Internal("no index after the build"), "open");

  std::mt19937_64 rng(11);
  std::vector<double> newest_ms, after_ms;
  size_t shown = 0;
  for (int i = 0; i < 400; ++i) {
    rs::svc::EventFilter f = QueryFilter(rng, plans);
    const bool newest = i % 2 == 0;
    // Ascending pages start somewhere in the history (an operator paging on).
    const Seq after = newest ? 0 : rng() % log.last_seq();
    auto start = Clock::now();
    auto page = rs::svc::EventPage(log, f, after, 100, newest);
    const double ms = Seconds(start) * 1000;
    if (!page.ok()) Die(page.status(), "page");
    shown += page->size();
    (newest ? newest_ms : after_ms).push_back(ms);
  }
  std::vector<double> all = newest_ms;
  all.insert(all.end(), after_ms.begin(), after_ms.end());
  std::printf("eventlog_filtered_page_p50_%s: %.2f ms (400 pages of up to 100, node/slot/plan/"
              "node+kind filters, %.0f events a page on average)\n",
              suffix.c_str(), Percentile(all, 0.5), static_cast<double>(shown) / 400);
  std::printf("eventlog_filtered_page_p99_%s: %.2f ms\n", suffix.c_str(), Percentile(all, 0.99));
  std::printf("eventlog_filtered_page_p99_%s_target: 50 ms\n", suffix.c_str());
  std::printf("eventlog_filtered_page_newest_p99_%s: %.2f ms\n", suffix.c_str(),
              Percentile(newest_ms, 0.99));
  std::printf("eventlog_filtered_page_after_p99_%s: %.2f ms\n", suffix.c_str(),
              Percentile(after_ms, 0.99));
  std::fflush(stdout);

  // The baseline: what a page cost before the index, a scan from event 1 (EventPage without an
  // index). A few pages only: each reads the whole log.
  std::vector<double> scan_ms;
  for (int i = 0; i < 3; ++i) {
    rs::svc::EventFilter f = QueryFilter(rng, plans);
    rs::svc::EventMatcher m(f);
    std::vector<Seq> last;
    auto start = Clock::now();
    rs::Status st = rs::svc::ForEachMatch(
        log, m, 1, UINT64_MAX, [&](const DecodedEvent& d, const rs::svc::EventMatcher& x) {
          (void)x.Describe(d);
          last.push_back(d.event.seq);
          return true;
        });
    if (!st.ok()) Die(st, "full scan");
    scan_ms.push_back(Seconds(start) * 1000);
  }
  const double scan = Percentile(scan_ms, 0.5);
  std::printf("eventlog_filtered_page_fullscan_%s: %.0f ms (baseline: the same page by a scan "
              "from event 1, median of 3)\n",
              suffix.c_str(), scan);
  std::printf("eventlog_filtered_page_speedup_%s: %.0f x (full scan / indexed p99)\n",
              suffix.c_str(), scan / std::max(Percentile(all, 0.99), 0.001));
  uint64_t bytes = log.SizeOnDisk();
  std::printf("eventlog_index_history_size_%s: %.1f MiB (events and index)\n", suffix.c_str(),
              static_cast<double>(bytes) / (1 << 20));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int history = 1'000'000;
  int query_events = 10'000'000;
  bool only_queries = false;
  std::string base = std::filesystem::temp_directory_path().string();
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--only-queries") == 0) only_queries = true;
    if (i + 1 >= argc) continue;
    if (std::strcmp(argv[i], "--events") == 0) history = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--query-events") == 0) query_events = std::atoi(argv[i + 1]);
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
  if (only_queries) {
    if (query_events > 0) FilteredPages(root, query_events);
    return 0;
  }

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
  if (query_events > 0) FilteredPages(root, query_events);
  return 0;
}
