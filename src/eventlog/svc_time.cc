#include "eventlog/svc_time.h"

#include <charconv>
#include <chrono>
#include <ctime>

#include <fmt/format.h>

namespace rs::svc {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// Events are appended in wall-clock order, so time is monotonic in the sequence (a clock step
// backwards only blurs the answer near the step); binary search by reading single records.
Result<int64_t> TimeOf(const eventlog::EventLog& log, model::Seq seq) {
  RS_ASSIGN_OR_RETURN(eventlog::DecodedEvent d, log.Read(seq));
  return d.event.time_ms;
}

}  // namespace

Result<int64_t> ParseRfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  std::tm tm{};
  int y, mo, d, h, mi, sec;
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not a sequence, an RFC 3339 time (2026-11-24T19:05:52Z) or a relative time "
        "(-1h)",
        s));
  };
  if (!Digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, mo) || s[7] != '-' ||
      !Digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !Digits(s, 11, 2, h) || s[13] != ':' || !Digits(s, 14, 2, mi) || s[16] != ':' ||
      !Digits(s, 17, 2, sec)) {
    return bad();
  }
  size_t pos = 19;
  int64_t frac_ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac_ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, om)) {
      return bad();
    }
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  int64_t epoch = timegm(&tm);
  return (epoch - offset_s) * 1000 + frac_ms;
}

Result<LogPoint> ParseLogPoint(std::string_view text, int64_t now_ms) {
  LogPoint p;
  if (text.empty()) return Status::InvalidArgument("empty sequence or time");
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), p.seq);
    if (ec != std::errc()) return Status::InvalidArgument(fmt::format("bad sequence '{}'", text));
    return p;
  }
  p.is_seq = false;
  if (text[0] == '-') {
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(text.data() + 1, text.data() + text.size(), n);
    std::string_view unit(ptr, text.data() + text.size() - ptr);
    int64_t scale = unit == "s"   ? 1000
                    : unit == "m" ? 60'000
                    : unit == "h" ? 3'600'000
                    : unit == "d" ? 86'400'000
                                  : 0;
    if (ec != std::errc() || scale == 0) {
      return Status::InvalidArgument(
          fmt::format("bad relative time '{}': use -Ns, -Nm, -Nh or -Nd", text));
    }
    p.time_ms = now_ms - n * scale;
    return p;
  }
  RS_ASSIGN_OR_RETURN(p.time_ms, ParseRfc3339(text));
  return p;
}

std::string FormatTime(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

Result<model::Seq> FirstAtOrAfter(const eventlog::EventLog& log, const LogPoint& p) {
  if (p.is_seq) return std::max<model::Seq>(p.seq, log.first_seq());
  model::Seq lo = log.first_seq(), hi = log.last_seq() + 1;  // Answer in [lo, hi].
  if (lo == 0) return hi;
  while (lo < hi) {
    model::Seq mid = lo + (hi - lo) / 2;
    RS_ASSIGN_OR_RETURN(int64_t t, TimeOf(log, mid));
    if (t >= p.time_ms)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

Result<model::Seq> LastAtOrBefore(const eventlog::EventLog& log, const LogPoint& p) {
  if (p.is_seq) return std::min<model::Seq>(p.seq, log.last_seq());
  if (log.first_seq() == 0) return model::Seq{0};
  RS_ASSIGN_OR_RETURN(model::Seq first_after,
                      FirstAtOrAfter(log, LogPoint{false, 0, p.time_ms + 1}));
  return first_after - 1;
}

}  // namespace rs::svc
