#include "history_commands.h"

#include <csignal>
#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/now.h"
#include "eventlog/event_filter.h"
#include "eventlog/event_format.h"
#include "eventlog/event_log.h"
#include "eventlog/event_query.h"
#include "eventlog/state_store.h"
#include "eventlog/svc_time.h"
#include "eventlog/verify.h"
#include "model/plan.h"

namespace rs::svc {
namespace {

using namespace rs::eventlog;
using namespace rs::model;
using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // verify found a problem.
constexpr int kExitError = 2;   // Bad arguments or an unreadable data dir.

int Fail(const Status& s) {
  std::fprintf(stderr, "redis-svc: %s\n", s.message().c_str());
  return kExitError;
}

Result<std::unique_ptr<EventLog>> OpenForReading(const std::string& dir, bool follow = false) {
  EventLogOptions o;
  o.mode = follow ? OpenMode::kSecondary : OpenMode::kReadOnly;
  return EventLog::Open(dir, o);
}

std::string Shorten(std::string s, size_t max) {
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

// One event per line: aligned columns on a terminal, tab-separated when piped, JSON with --json.
class EventPrinter {
 public:
  EventPrinter(bool json, bool terminal) : json_(json), terminal_(terminal) {}
  void Header() {
    if (!json_ && terminal_) {
      std::printf("%-8s %-24s %-20s %-16s %-7s %s\n", "SEQ", "TIME", "KIND", "SOURCE", "CAUSE",
                  "SUMMARY");
    }
  }
  void Print(const DecodedEvent& d, const std::string& summary) {
    if (json_) {
      json j = EventToJson(d);
      j["summary"] = summary;
      std::printf("%s\n", j.dump().c_str());
    } else if (terminal_) {
      std::printf("%-8llu %-24s %-20s %-16s %-7s %s\n",
                  static_cast<unsigned long long>(d.event.seq), FormatTime(d.event.time_ms).c_str(),
                  KindName(d).c_str(), Shorten(d.event.source, 16).c_str(),
                  d.event.cause ? std::to_string(d.event.cause).c_str() : "-", summary.c_str());
    } else {
      std::printf("%llu\t%s\t%s\t%s\t%llu\t%s\n", static_cast<unsigned long long>(d.event.seq),
                  FormatTime(d.event.time_ms).c_str(), KindName(d).c_str(), d.event.source.c_str(),
                  static_cast<unsigned long long>(d.event.cause), summary.c_str());
    }
  }

 private:
  bool json_;
  bool terminal_;
};

volatile std::sig_atomic_t g_stop = 0;

}  // namespace

int RunLog(const LogArgs& args) {
  auto log = OpenForReading(args.data_dir, args.follow);
  if (!log.ok()) return Fail(log.status());
  const int64_t now = NowMs();
  Seq from = 1, to = UINT64_MAX;
  if (args.since) {
    auto p = ParseLogPoint(*args.since, now);
    if (!p.ok()) return Fail(p.status());
    auto s = FirstAtOrAfter(**log, *p);
    if (!s.ok()) return Fail(s.status());
    from = *s;
  }
  if (args.until) {
    auto p = ParseLogPoint(*args.until, now);
    if (!p.ok()) return Fail(p.status());
    auto s = LastAtOrBefore(**log, *p);
    if (!s.ok()) return Fail(s.status());
    to = *s;
  }
  EventFilter filter;
  filter.kinds = args.kinds;
  filter.node = args.node;
  if (args.slot) filter.slot = static_cast<uint16_t>(*args.slot);
  for (const std::string& k : args.kinds) {
    if (k != "compacted" && TagForName(k) == 0xffff) {
      return Fail(Status::InvalidArgument(fmt::format("unknown kind '{}'", k)));
    }
  }
  // Filters and descriptions need what came before (members, topology, the plan in flight):
  // the history index has it; without one, start from the state just before `from` (a
  // snapshot plus a short fold).
  EventMatcher matcher = (*log)->has_index() ? EventMatcher(filter, **log) : EventMatcher(filter);
  if (!matcher.indexed() && from > 1 && (*log)->last_seq() > 0) {
    auto before = StateAt(**log, from - 1);
    if (!before.ok()) return Fail(before.status());
    matcher.Seed(*before);
  }
  EventPrinter printer(args.json, StdoutIsTerminal());
  printer.Header();
  Seq next = from;
  auto print_until = [&](Seq last) -> Status {
    Status s = ForEachMatch(**log, matcher, next, last,
                            [&](const DecodedEvent& d, const EventMatcher& m) {
                              printer.Print(d, m.Describe(d));
                              return true;
                            });
    next = std::max(next, last + 1);
    std::fflush(stdout);
    return s;
  };
  Status s = print_until(std::min(to, (*log)->last_seq()));
  if (!s.ok()) return Fail(s);
  if (!args.follow || to != UINT64_MAX) return kExitOk;
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::duration<double>(args.poll_seconds));
    Status c = (*log)->CatchUp();
    if (!c.ok()) return Fail(c);
    if ((*log)->last_seq() >= next) {
      Status p = print_until((*log)->last_seq());
      if (!p.ok()) return Fail(p);
    }
  }
  return kExitOk;
}

int RunReplay(const ReplayArgs& args) {
  auto log = OpenForReading(args.data_dir);
  if (!log.ok()) return Fail(log.status());
  auto p = ParseLogPoint(args.at, NowMs());
  if (!p.ok()) return Fail(p.status());
  auto at = LastAtOrBefore(**log, *p);
  if (!at.ok()) return Fail(at.status());
  auto state = StateAt(**log, *at);
  if (!state.ok()) return Fail(state.status());
  const ClusterState& s = *state;
  if (args.json) {
    std::printf("%s\n", StateToJson(s).dump().c_str());
    return kExitOk;
  }
  const bool tty = StdoutIsTerminal();
  std::printf("cluster at event %llu (%s): topology epoch %llu, %zu members, %s\n",
              static_cast<unsigned long long>(s.last_seq), FormatTime(s.last_time_ms).c_str(),
              static_cast<unsigned long long>(s.topology.epoch), s.members.size(),
              s.paused ? "automation PAUSED" : "automation running");
  if (!s.discovery_reachable) {
    std::printf("discovery %s since %s: %s\n",
                std::string(DiscoveryStatusWord(s.discovery_source, false)).c_str(),
                FormatTime(s.discovery_since_ms).c_str(), s.discovery_reason.c_str());
  }
  std::printf("\nshards\n");
  Table shards({"MASTER", "SLOTS", "COUNT", "REPLICAS", "HEALTH"});
  for (const Shard& sh : s.topology.shards) {
    std::string reps;
    for (const NodeRef& r : sh.replicas) reps += (reps.empty() ? "" : ",") + r.address;
    auto h = s.health.find(sh.master.address);
    shards.Add({sh.master.address, RangesToString(sh.slots), std::to_string(CountSlots(sh.slots)),
                reps.empty() ? "-" : reps,
                h == s.health.end() ? "unknown" : std::string(HealthName(h->second.health))});
  }
  shards.Print(stdout, tty);
  std::printf("\nnodes\n");
  Table nodes({"ADDRESS", "MEMBER", "HOST", "HEALTH", "REASON", "SINCE", "ROLE", "SLOTS", "KEYS"});
  std::set<std::string> addrs;
  for (const auto& [a, m] : s.members) addrs.insert(a);
  for (const auto& [a, h] : s.health) addrs.insert(a);
  for (const auto& [a, o] : s.observed) addrs.insert(a);
  for (const std::string& a : addrs) {
    auto m = s.members.find(a);
    auto h = s.health.find(a);
    auto o = s.observed.find(a);
    std::string member = m == s.members.end() ? "no" : "#" + std::to_string(m->second.instance);
    if (s.retired.contains(a)) member += " retired";
    nodes.Add({a, member,
               m == s.members.end() ? "-" : m->second.host,
               h == s.health.end() ? "unknown" : std::string(HealthName(h->second.health)),
               h == s.health.end() ? "-" : std::string(ReasonName(h->second.reason)),
               h == s.health.end() ? "-" : FormatTime(h->second.since_ms),
               o == s.observed.end() ? "-" : std::string(RoleName(o->second.role)),
               o == s.observed.end() ? "-" : RangesToString(o->second.slots),
               o == s.observed.end() ? "-" : std::to_string(o->second.keys)});
  }
  nodes.Print(stdout, tty);
  if (s.plan) {
    std::printf("\nplan in flight: %llu: %s (proposed at event %llu)%s\n",
                static_cast<unsigned long long>(s.plan->plan.id), s.plan->plan.reason.c_str(),
                static_cast<unsigned long long>(s.plan->proposed_seq),
                s.plan->abort_requested ? ", abort requested" : "");
    Table steps({"#", "STATUS", "STEP", "SLOTS DONE", "KEYS MOVED"});
    for (size_t i = 0; i < s.plan->plan.steps.size(); ++i) {
      steps.Add({std::to_string(i + 1), std::string(StepStatusName(s.plan->status[i])),
                 StepToString(s.plan->plan.steps[i]), RangesToString(s.plan->slots_done[i]),
                 std::to_string(s.plan->keys_moved[i])});
    }
    steps.Print(stdout, tty);
    if (!s.plan->error.empty()) std::printf("error: %s\n", s.plan->error.c_str());
  } else {
    std::printf("\nno plan in flight\n");
  }
  if (!s.pending_requests.empty()) {
    std::printf("\npending operator requests\n");
    Table reqs({"ID", "WHO", "KIND", "DETAIL"});
    for (const OperatorRequest& r : s.pending_requests) {
      std::string detail;
      if (!r.slots.empty()) detail += "slots " + RangesToString(r.slots) + " ";
      if (!r.from.empty()) detail += "from " + r.from + " ";
      if (!r.to.empty()) detail += "to " + r.to + " ";
      if (!r.node.empty()) detail += "node " + r.node;
      reqs.Add({std::to_string(r.id), r.who, std::string(OperatorKindName(r.kind)),
                detail.empty() ? "-" : detail});
    }
    reqs.Print(stdout, tty);
  }
  return kExitOk;
}

int RunAudit(const AuditArgs& args) {
  auto log = OpenForReading(args.data_dir);
  if (!log.ok()) return Fail(log.status());
  EventFilter filter;
  std::string subject;
  if (args.slot) {
    filter.slot = static_cast<uint16_t>(*args.slot);
    subject = fmt::format("slot {}", *args.slot);
  } else if (args.node) {
    filter.node = *args.node;
    subject = "node " + *args.node;
  } else if (args.plan) {
    filter.plan = *args.plan;
    subject = fmt::format("plan {}", *args.plan);
  }
  // Through the history index when the log has one: only the subject's events are read.
  EventMatcher matcher = (*log)->has_index() ? EventMatcher(filter, **log) : EventMatcher(filter);
  std::map<Seq, DecodedEvent> causes;  // Cache: chains share their roots.
  auto describe_chain = [&](const DecodedEvent& d) {
    std::vector<DecodedEvent> chain;
    Seq c = matcher.CauseOf(d);
    std::set<Seq> seen{d.event.seq};
    while (c != 0 && chain.size() < 12 && seen.insert(c).second) {
      auto it = causes.find(c);
      if (it == causes.end()) {
        auto r = (*log)->Read(c);
        if (!r.ok()) break;
        it = causes.emplace(c, std::move(r).value()).first;
      }
      chain.push_back(it->second);
      c = matcher.CauseOf(it->second);
    }
    return chain;
  };
  const bool tty = StdoutIsTerminal();
  if (!args.json && tty) std::printf("history of %s\n", subject.c_str());
  uint64_t matched = 0;
  Status s = ForEachMatch(**log, matcher, 1, UINT64_MAX, [&](const DecodedEvent& d,
                                                             const EventMatcher&) {
    ++matched;
    std::vector<DecodedEvent> chain = describe_chain(d);
    if (args.json) {
      json j = EventToJson(d);
      json cj = json::array();
      for (const DecodedEvent& c : chain) {
        cj.push_back(
            {{"seq", c.event.seq}, {"kind", KindName(c)}, {"summary", matcher.Describe(c)}});
      }
      j["caused_by"] = cj;
      std::printf("%s\n", j.dump().c_str());
    } else if (tty) {
      std::printf("\n#%llu  %s  %s  %s\n", static_cast<unsigned long long>(d.event.seq),
                  FormatTime(d.event.time_ms).c_str(), KindName(d).c_str(),
                  matcher.Describe(d).c_str());
      for (const DecodedEvent& c : chain) {
        std::printf("      <- #%llu %s: %s\n", static_cast<unsigned long long>(c.event.seq),
                    KindName(c).c_str(), matcher.Describe(c).c_str());
      }
    } else {
      std::string line = fmt::format("{}\t{}\t{}\t{}", d.event.seq, FormatTime(d.event.time_ms),
                                     KindName(d), matcher.Describe(d));
      for (const DecodedEvent& c : chain) {
        line += fmt::format("\t<- #{} {}: {}", c.event.seq, KindName(c), matcher.Describe(c));
      }
      std::printf("%s\n", line.c_str());
    }
    return true;
  });
  if (!s.ok()) return Fail(s);
  if (!args.json && tty) std::printf("\n%llu events\n", static_cast<unsigned long long>(matched));
  return kExitOk;
}

int RunVerify(const VerifyArgs& args) {
  auto log = OpenForReading(args.data_dir);
  if (!log.ok()) return Fail(log.status());
  VerifyReport r = Verify(**log);
  if (args.json) {
    json by_kind = json::object();
    for (const auto& [tag, n] : r.by_tag) by_kind[TagName(tag)] = n;
    std::printf("%s\n", json{{"ok", r.ok()},
                             {"records", r.records},
                             {"events", r.events},
                             {"unknown", r.unknown},
                             {"compacted", r.compacted},
                             {"first", r.first},
                             {"last", r.last},
                             {"snapshots", r.snapshots},
                             {"snapshots_checked", r.snapshots_checked},
                             {"by_kind", by_kind},
                             {"errors", r.errors}}
                            .dump()
                            .c_str());
  } else {
    std::printf(
        "%llu records (events %llu..%llu): %llu decoded, %llu of unknown kinds, "
        "%llu compacted\n",
        static_cast<unsigned long long>(r.records), static_cast<unsigned long long>(r.first),
        static_cast<unsigned long long>(r.last), static_cast<unsigned long long>(r.events),
        static_cast<unsigned long long>(r.unknown), static_cast<unsigned long long>(r.compacted));
    std::printf("%llu snapshots, %llu equal to the fold from event 1\n",
                static_cast<unsigned long long>(r.snapshots),
                static_cast<unsigned long long>(r.snapshots_checked));
    for (const std::string& e : r.errors) std::printf("error: %s\n", e.c_str());
    std::printf("%s\n", r.ok() ? "OK" : "FAILED");
  }
  return r.ok() ? kExitOk : kExitFailed;
}

int RunStats(const StatsArgs& args) {
  auto log = OpenForReading(args.data_dir);
  if (!log.ok()) return Fail(log.status());
  std::map<std::string, uint64_t> by_kind;
  std::map<std::string, uint64_t> bytes_by_kind;
  uint64_t records = 0, bad = 0, bytes = 0;
  int64_t first_ms = 0, last_ms = 0;
  Status s = (*log)->ScanRaw(0, UINT64_MAX, [&](Seq, std::string_view v) {
    ++records;
    bytes += v.size();
    auto d = DecodeEvent(v);
    if (!d.ok()) {
      ++bad;
      return true;
    }
    std::string kind = KindName(*d);
    ++by_kind[kind];
    bytes_by_kind[kind] += v.size();
    if (first_ms == 0) first_ms = d->event.time_ms;
    last_ms = d->event.time_ms;
    return true;
  });
  if (!s.ok()) return Fail(s);
  const uint64_t disk = (*log)->SizeOnDisk();
  const size_t snapshots = (*log)->SnapshotSeqs().size();
  if (args.json) {
    std::printf("%s\n", json{{"records", records},
                             {"undecodable", bad},
                             {"first", (*log)->first_seq()},
                             {"last", (*log)->last_seq()},
                             {"first_time", FormatTime(first_ms)},
                             {"last_time", FormatTime(last_ms)},
                             {"span_ms", last_ms - first_ms},
                             {"size_on_disk", disk},
                             {"value_bytes", bytes},
                             {"snapshots", snapshots},
                             {"by_kind", by_kind}}
                            .dump()
                            .c_str());
    return kExitOk;
  }
  const bool tty = StdoutIsTerminal();
  Table t({"KIND", "COUNT", "BYTES"});
  for (const auto& [k, n] : by_kind) {
    t.Add({k, std::to_string(n), std::to_string(bytes_by_kind[k])});
  }
  t.Print(stdout, tty);
  const double span_h = static_cast<double>(last_ms - first_ms) / 3'600'000.0;
  std::printf("\nevents %llu..%llu (%llu records, %llu undecodable)\n",
              static_cast<unsigned long long>((*log)->first_seq()),
              static_cast<unsigned long long>((*log)->last_seq()),
              static_cast<unsigned long long>(records), static_cast<unsigned long long>(bad));
  std::printf("time span %s .. %s (%.2f h)\n", FormatTime(first_ms).c_str(),
              FormatTime(last_ms).c_str(), span_h);
  std::printf("size on disk %.2f MiB (%.2f MiB of packed events), %zu snapshots\n",
              static_cast<double>(disk) / (1 << 20), static_cast<double>(bytes) / (1 << 20),
              snapshots);
  return kExitOk;
}

}  // namespace rs::svc
