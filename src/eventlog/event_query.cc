#include "eventlog/event_query.h"

#include <deque>
#include <map>

#include <fmt/format.h>

#include "eventlog/event_index.h"

namespace rs::svc {
namespace {

using namespace rs::eventlog;
using MatchFn = std::function<bool(const DecodedEvent&, const EventMatcher&)>;

// Whether an index entry of an event with `tag` can pass the filter's kinds (a tombstone has
// its original tag, and passes as "compacted" or "compacted(KIND)").
class KindCheck {
 public:
  explicit KindCheck(const std::set<std::string>& kinds) : kinds_(kinds) {}
  bool MayMatch(uint16_t tag) {
    if (kinds_.empty() || kinds_.count("compacted")) return true;
    auto it = known_.find(tag);
    if (it != known_.end()) return it->second;
    const std::string name = TagName(tag);
    return known_[tag] = kinds_.count(name) > 0 || kinds_.count("compacted(" + name + ")") > 0;
  }

 private:
  const std::set<std::string>& kinds_;
  std::map<uint16_t, bool> known_;
};

Result<DecodedEvent> Decode(const EventLog& log, model::Seq seq, std::string_view bytes) {
  auto d = DecodeEvent(bytes);
  if (!d.ok()) return d.status().WithContext(fmt::format("{}: event {}", log.dir(), seq));
  if (d->event.seq != seq) {
    return Status::Corruption(
        fmt::format("{}: event {} carries sequence {}", log.dir(), seq, d->event.seq));
  }
  return d;
}

// Indexed matchers: the candidates the index names for the filter, or every event.
Status Candidates(const EventLog& log, EventMatcher& matcher, model::Seq from, model::Seq to, bool descending,
                  const MatchFn& fn) {
  const EventFilter& f = matcher.filter();
  Status error;
  auto visit = [&](const DecodedEvent& d) {
    bool match = matcher.Matches(d);
    if (!matcher.lookup_error().ok()) {
      error = matcher.lookup_error();
      return false;
    }
    return !match || fn(d, matcher);
  };
  if (!f.plan && !f.node && !f.slot) {
    auto raw = [&](model::Seq seq, std::string_view bytes) {
      auto d = Decode(log, seq, bytes);
      if (!d.ok()) {
        error = d.status();
        return false;
      }
      return visit(*d);
    };
    RS_RETURN_IF_ERROR(descending ? log.ScanRawDescending(from, to, raw)
                                  : log.ScanRaw(from, to, raw));
    return error;
  }
  // The narrowest dimension first; the matcher checks the others.
  const std::string prefix = f.plan   ? PlanIndexPrefix(*f.plan)
                             : f.node ? NodeIndexPrefix(*f.node)
                                      : SlotIndexPrefix(*f.slot);
  const bool by_slot = !f.plan && !f.node;
  KindCheck kinds(f.kinds);
  RS_RETURN_IF_ERROR(log.ScanIndex(prefix, from, to, descending, [&](model::Seq seq,
                                                                     std::string_view value) {
    if (!kinds.MayMatch(IndexedTag(value))) return true;
    if (by_slot && !IndexedSlotsContain(value, *f.slot)) return true;
    auto d = log.Read(seq);
    if (!d.ok()) {
      error = d.status().WithContext("an event the history index names");
      return false;
    }
    return visit(*d);
  }));
  return error;
}

}  // namespace

Status ForEachMatch(const EventLog& log, EventMatcher& matcher, model::Seq from, model::Seq to,
                    const MatchFn& fn) {
  if (matcher.indexed()) return Candidates(log, matcher, from, to, false, fn);
  return log.Scan(from, to, [&](const DecodedEvent& d) {
    return !matcher.Matches(d) || fn(d, matcher);
  });
}

Status ForEachMatchDescending(const EventLog& log, EventMatcher& matcher, model::Seq from, model::Seq to,
                              const MatchFn& fn) {
  if (!matcher.indexed()) {
    return Status::FailedPrecondition("reading newest first needs the history index");
  }
  return Candidates(log, matcher, from, to, true, fn);
}

Result<std::vector<EventPageEntry>> EventPage(const EventLog& log, const EventFilter& filter,
                                              model::Seq after, size_t limit, bool newest_first) {
  std::deque<EventPageEntry> out;
  auto take = [&](const DecodedEvent& d, const EventMatcher& m) {
    out.push_back({d, m.Describe(d), m.CauseOf(d)});
    return out.size() < limit;
  };
  if (log.has_index()) {
    EventMatcher matcher(filter, log);
    RS_RETURN_IF_ERROR(newest_first
                           ? ForEachMatchDescending(log, matcher, after + 1, UINT64_MAX, take)
                           : ForEachMatch(log, matcher, after + 1, UINT64_MAX, take));
    return std::vector<EventPageEntry>(std::make_move_iterator(out.begin()),
                                       std::make_move_iterator(out.end()));
  }
  // The matcher learns plans and topology from earlier events, so it reads from the start.
  EventMatcher matcher(filter);
  RS_RETURN_IF_ERROR(ForEachMatch(log, matcher, 1, UINT64_MAX,
                                  [&](const DecodedEvent& d, const EventMatcher& m) {
                                    if (d.event.seq <= after) return true;
                                    if (!newest_first) return take(d, m);
                                    out.push_back({d, m.Describe(d), m.CauseOf(d)});
                                    if (out.size() > limit) out.pop_front();
                                    return true;
                                  }));
  std::vector<EventPageEntry> page;
  if (newest_first) {
    for (auto it = out.rbegin(); it != out.rend(); ++it) page.push_back(std::move(*it));
  } else {
    for (auto& e : out) page.push_back(std::move(e));
  }
  return page;
}

Result<std::optional<DecodedEvent>> LastAnswerTo(const EventLog& log, uint64_t request_id) {
  auto answers = [&](const DecodedEvent& d) {
    if (const auto* r = std::get_if<model::OperatorRejected>(&d.event.payload)) {
      return r->request_id == request_id;
    }
    if (const auto* p = std::get_if<model::PlanProposed>(&d.event.payload)) {
      return p->request_id == request_id;
    }
    return false;
  };
  std::optional<DecodedEvent> answer;
  if (log.has_index()) {
    RS_ASSIGN_OR_RETURN(model::Seq seq, log.LastIndexed(RequestIndexPrefix(request_id), UINT64_MAX));
    if (seq == 0) return answer;
    RS_ASSIGN_OR_RETURN(DecodedEvent d, log.Read(seq));
    if (answers(d)) answer = std::move(d);
    return answer;
  }
  RS_RETURN_IF_ERROR(log.Scan(1, UINT64_MAX, [&](const DecodedEvent& d) {
    if (answers(d)) answer = d;
    return true;
  }));
  return answer;
}

}  // namespace rs::svc
