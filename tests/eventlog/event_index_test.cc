// The history index against a full scan: on random logs (every kind, stale commits, alerts naming
// several nodes, causes pointing ahead, tombstones) every filter gives the same events, summaries,
// causes and cause chains through the index as by reading from event 1, page by page; and a log
// written without an index gets one at a writer's Open equal to the one written with the events.
#include "eventlog/event_index.h"

#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "event_gen.h"
#include "eventlog/event_filter.h"
#include "eventlog/event_format.h"
#include "eventlog/event_log.h"
#include "eventlog/event_query.h"
#include "raw_db.h"
#include "temp_dir.h"

namespace rs::eventlog {
namespace {

using svc::EventFilter;
using svc::EventMatcher;
using testing::EventGen;
using testing::TempDir;

std::unique_ptr<EventLog> MustOpen(const std::string& dir, OpenMode mode, bool create = false) {
  EventLogOptions o;
  o.mode = mode;
  o.create_if_missing = create;
  auto log = EventLog::Open(dir, o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(log).value() : nullptr;
}

// What a reader shows of a matched event: the event, its summary, its cause and its cause chain
// (as `redis-svc audit` follows it).
std::string Row(const EventLog& log, const DecodedEvent& d, const EventMatcher& m) {
  std::string row = fmt::format("#{} {} {} | {} | cause {}", d.event.seq, svc::KindName(d),
                                svc::EventToJson(d).dump(), m.Describe(d), m.CauseOf(d));
  std::set<model::Seq> seen{d.event.seq};
  for (model::Seq c = m.CauseOf(d); c != 0 && seen.size() < 12 && seen.insert(c).second;) {
    auto r = log.Read(c);
    if (!r.ok()) break;
    row += fmt::format(" <- #{} {}", c, m.Describe(*r));
    c = m.CauseOf(*r);
  }
  return row;
}

std::vector<std::string> Rows(const EventLog& log, EventMatcher& m, model::Seq from = 1,
                              model::Seq to = UINT64_MAX) {
  std::vector<std::string> out;
  Status s = svc::ForEachMatch(log, m, from, to, [&](const DecodedEvent& d, const EventMatcher& x) {
    out.push_back(Row(log, d, x));
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::vector<model::Seq> PageSeqs(const EventLog& log, const EventFilter& f, model::Seq after, size_t limit,
                          bool newest) {
  auto page = svc::EventPage(log, f, after, limit, newest);
  EXPECT_TRUE(page.ok()) << page.status().ToString();
  std::vector<model::Seq> out;
  if (page.ok()) {
    for (const auto& e : *page) out.push_back(e.event.event.seq);
  }
  return out;
}

// What EventPage must return, from the full scan's matches.
std::vector<model::Seq> ExpectedPage(const std::vector<model::Seq>& all, model::Seq after, size_t limit, bool newest) {
  std::vector<model::Seq> out;
  if (newest) {
    for (auto it = all.rbegin(); it != all.rend() && out.size() < limit; ++it) {
      if (*it > after) out.push_back(*it);
    }
  } else {
    for (model::Seq s : all) {
      if (s > after && out.size() < limit) out.push_back(s);
    }
  }
  return out;
}

// A random log: EventGen's kinds plus what it never makes (alerts naming several nodes, stale
// topology commits, causes pointing ahead), in random batches.
void WriteRandomLog(EventLog& log, uint64_t seed, int n) {
  EventGen gen(seed);
  std::mt19937_64 rng(seed * 7 + 1);
  auto chance = [&](int pct) { return static_cast<int>(rng() % 100) < pct; };
  int written = 0;
  while (written < n) {
    int batch = 1 + static_cast<int>(rng() % 40);
    std::vector<model::Event> events = gen.Take(batch);
    for (model::Event& e : events) {
      if (chance(2)) {
        e.payload = model::AlertRaised{fmt::format("nodes {},{}", gen.Address(rng() % 12),
                                            gen.Address(rng() % 12)),
                                "conflict", "both claim slot 7", false};
      } else if (chance(2)) {
        model::Topology t;
        t.epoch = 1 + rng() % 3;  // Stale once commits are past it.
        model::Shard s;
        s.master = model::NodeRef{gen.Address(rng() % 12), ""};
        uint16_t first = static_cast<uint16_t>(rng() % model::kSlotCount);
        s.slots = {model::SlotRange{first, static_cast<uint16_t>(std::min<int>(model::kSlotCount - 1,
                                                                         first + rng() % 3000))}};
        t.shards.push_back(s);
        e.payload = model::TopologyCommitted{t};
      } else if (chance(2)) {
        e.cause = log.last_seq() + 1 + rng() % 50;  // Ahead of the event itself.
      }
    }
    written += batch;
    auto r = log.AppendBatch(std::move(events), Durability::kGroup);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
}

// Rewrites a random third of the health and observation events as retention's tombstones.
void CompactSome(EventLog& log, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::pair<model::Seq, std::string>> rewrites;
  Status s = log.Scan(1, UINT64_MAX, [&](const DecodedEvent& d) {
    bool health = std::holds_alternative<model::NodeHealthChanged>(d.event.payload) ||
                  std::holds_alternative<model::NodeObserved>(d.event.payload);
    if (d.kind == RecordKind::kEvent && health && rng() % 3 == 0) {
      rewrites.emplace_back(d.event.seq, EncodeCompacted(d.event));
    }
    return true;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(log.PutRawBatch(rewrites).ok());
}

EventFilter RandomFilter(std::mt19937_64& rng, const EventGen& gen, uint64_t plans) {
  EventFilter f;
  switch (rng() % 5) {
    case 0:
      f.node = gen.Address(static_cast<int>(rng() % 12));
      break;
    case 1:
      f.slot = static_cast<uint16_t>(rng() % model::kSlotCount);
      break;
    case 2:
      f.plan = rng() % (plans + 2);  // model::Plan 0 and one past the last too.
      break;
    case 3:
      f.node = rng() % 2 ? "127.0.0.1:700" : "10.9.9.9:6379";  // A prefix; a stranger.
      f.slot = static_cast<uint16_t>(rng() % model::kSlotCount);
      break;
    default:
      if (rng() % 2) f.plan = 1 + rng() % (plans + 1);
      if (rng() % 2) f.node = gen.Address(static_cast<int>(rng() % 12));
      if (rng() % 2) f.slot = static_cast<uint16_t>(rng() % model::kSlotCount);
  }
  static const std::vector<std::set<std::string>> kKinds = {
      {}, {}, {}, {"node-health"}, {"topology-committed", "plan-proposed"},
      {"compacted"}, {"compacted(node-observed)"}, {"step-progress", "alert"}};
  f.kinds = kKinds[rng() % kKinds.size()];
  return f;
}

std::string Describe(const EventFilter& f) {
  return fmt::format("node={} slot={} plan={} kinds={}", f.node.value_or("-"),
                     f.slot ? std::to_string(*f.slot) : "-",
                     f.plan ? std::to_string(*f.plan) : "-", fmt::join(f.kinds, ","));
}

void CheckAgainstScan(const EventLog& log, uint64_t seed, int filters) {
  ASSERT_TRUE(log.has_index());
  std::mt19937_64 rng(seed);
  EventGen names(0);
  uint64_t plans = 0;
  Status s = log.Scan(1, UINT64_MAX, [&](const DecodedEvent& d) {
    if (auto* p = std::get_if<model::PlanProposed>(&d.event.payload)) plans = std::max(plans, p->plan.id);
    return true;
  });
  ASSERT_TRUE(s.ok());
  for (int i = 0; i < filters; ++i) {
    EventFilter f = RandomFilter(rng, names, plans);
    SCOPED_TRACE(Describe(f));
    EventMatcher scan(f);
    std::vector<std::string> want = Rows(log, scan);
    EventMatcher indexed(f, log);
    ASSERT_EQ(Rows(log, indexed), want);
    // A range in the middle, read through the index (a scan-mode matcher cannot start there).
    const model::Seq from = 1 + rng() % log.last_seq(), to = from + rng() % 400;
    std::vector<std::string> part;
    for (const std::string& r : want) {
      model::Seq seq = std::stoull(r.substr(1));
      if (seq >= from && seq <= to) part.push_back(r);
    }
    EventMatcher ranged(f, log);
    EXPECT_EQ(Rows(log, ranged, from, to), part) << from << ".." << to;

    std::vector<model::Seq> all;
    for (const std::string& r : want) all.push_back(std::stoull(r.substr(1)));
    const size_t limit = 1 + rng() % 30;
    const model::Seq after = all.empty() ? 0 : all[rng() % all.size()];
    EXPECT_EQ(PageSeqs(log, f, 0, limit, true), ExpectedPage(all, 0, limit, true));
    EXPECT_EQ(PageSeqs(log, f, after, limit, false), ExpectedPage(all, after, limit, false));
    EXPECT_EQ(PageSeqs(log, f, after, limit, true), ExpectedPage(all, after, limit, true));
  }
  // /v1/operations/ID: the last proposal or rejection answering the request.
  for (uint64_t id = 0; id <= 6; ++id) {
    std::optional<model::Seq> want;
    s = log.Scan(1, UINT64_MAX, [&](const DecodedEvent& d) {
      if (auto* r = std::get_if<model::OperatorRejected>(&d.event.payload); r && r->request_id == id)
        want = d.event.seq;
      if (auto* p = std::get_if<model::PlanProposed>(&d.event.payload); p && p->request_id == id)
        want = d.event.seq;
      return true;
    });
    ASSERT_TRUE(s.ok());
    auto got = svc::LastAnswerTo(log, id);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got ? std::optional<model::Seq>((*got)->event.seq) : std::nullopt, want) << id;
  }
}

TEST(EventIndexTest, FilteredReadsThroughTheIndexEqualTheFullScan) {
  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE(seed);
    TempDir tmp;
    auto log = MustOpen(tmp.path(), OpenMode::kReadWrite, true);
    WriteRandomLog(*log, seed, 4000);
    CheckAgainstScan(*log, seed, 60);
  }
}

TEST(EventIndexTest, TombstonesLeaveTheIndexConsistent) {
  TempDir tmp;
  {
    auto log = MustOpen(tmp.path(), OpenMode::kReadWrite, true);
    WriteRandomLog(*log, 9, 4000);
    CompactSome(*log, 9);
    CheckAgainstScan(*log, 9, 60);
  }
  auto reader = MustOpen(tmp.path(), OpenMode::kReadOnly);
  CheckAgainstScan(*reader, 10, 30);
}

TEST(EventIndexTest, AlertsMatchTheNodesTheirSubjectNamesExactly) {
  EXPECT_EQ(AlertNodes("node 127.0.0.1:7000"), std::vector<std::string>{"127.0.0.1:7000"});
  EXPECT_EQ(AlertNodes("nodes a:1,b:2"), (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_TRUE(AlertNodes("lainlet").empty());
  EXPECT_TRUE(AlertNodes("plan 12").empty());
}

// The index column family, key by key.
std::vector<std::pair<std::string, std::string>> DumpIndex(const std::string& dir) {
  testing::RawDb raw(dir, /*read_only=*/true);
  EXPECT_TRUE(raw.ok());
  std::vector<std::pair<std::string, std::string>> out;
  if (!raw.ok() || raw.cf("index") == nullptr) return out;
  std::unique_ptr<rocksdb::Iterator> it(
      raw.db()->NewIterator(rocksdb::ReadOptions(), raw.cf("index")));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  return out;
}

// Makes `dir` look as a log written before the index: no index column family, no marker. With
// interrupted, a build that stopped half way instead: entries (one of them junk) and no marker.
void MakeOld(const std::string& dir, bool interrupted) {
  testing::RawDb raw(dir, /*read_only=*/false);
  ASSERT_TRUE(raw.ok());
  rocksdb::DB* db = raw.db();
  ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), raw.cf("meta"), std::string(kIndexKey)).ok());
  if (interrupted) {
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), raw.cf("index"),
                        NodeIndexPrefix("x:1") + SeqKey(3), "junk")
                    .ok());
  } else {
    ASSERT_TRUE(db->DropColumnFamily(raw.cf("index")).ok());
  }
}

TEST(EventIndexTest, AnOldLogGetsTheSameIndexAtAWritersOpen) {
  for (bool interrupted : {false, true}) {
    SCOPED_TRACE(interrupted ? "interrupted build" : "no index");
    TempDir tmp;
    {
      auto log = MustOpen(tmp.path(), OpenMode::kReadWrite, true);
      WriteRandomLog(*log, 5, 3000);
    }
    const auto written = DumpIndex(tmp.path());
    ASSERT_GT(written.size(), 3000u);
    MakeOld(tmp.path(), interrupted);
    {
      // A reader scans, with the same answers.
      auto reader = MustOpen(tmp.path(), OpenMode::kReadOnly);
      ASSERT_FALSE(reader->has_index());
      std::mt19937_64 rng(5);
      EventGen names(0);
      for (int i = 0; i < 20; ++i) {
        EventFilter f = RandomFilter(rng, names, 50);
        SCOPED_TRACE(Describe(f));
        EventMatcher scan(f);
        std::vector<model::Seq> all;
        for (const std::string& r : Rows(*reader, scan)) all.push_back(std::stoull(r.substr(1)));
        EXPECT_EQ(PageSeqs(*reader, f, 0, 10, true), ExpectedPage(all, 0, 10, true));
        EXPECT_EQ(PageSeqs(*reader, f, 5, 10, false), ExpectedPage(all, 5, 10, false));
      }
    }
    {
      auto log = MustOpen(tmp.path(), OpenMode::kReadWrite);
      EXPECT_TRUE(log->has_index());
    }
    EXPECT_EQ(DumpIndex(tmp.path()), written);
    auto reader = MustOpen(tmp.path(), OpenMode::kReadOnly);
    CheckAgainstScan(*reader, 6, 20);
  }
}

}  // namespace
}  // namespace rs::eventlog
