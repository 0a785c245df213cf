// bench_proxy_sessions: benchmarks of client sessions (MULTI/EXEC, BLPOP, pub/sub), run by
// bench/proxy/run.sh through redis-proxy and straight to Redis. See sessions.h for what each
// subcommand measures and checks.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "session_conn.h"
#include "sessions.h"

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  bench_proxy_sessions multi PORT [--clients 50] [--seconds 5 | --count N]\n"
    "  bench_proxy_sessions blpop PORT [--rounds 2000] [--warmup 100] [--watch PORT]\n"
    "  bench_proxy_sessions pubsub PORT [--subscribers 100] [--publishers 1] [--messages 20000]\n"
    "                       [--pipeline 100] [--size 16] [--channel bench:ch]\n"
    "  bench_proxy_sessions blocked-rss PORT PID [--clients 5000] [--watch PORT]\n"
    "  bench_proxy_sessions subscriber-rss PORT PID [--clients 5000] [--channels same|distinct]\n"
    "multi, blpop, blocked-rss: [--tag bench], the hash tag of every key; *-rss: [--settle-ms\n"
    "1500], the wait before reading the RSS. --watch: the Redis whose INFO clients counts the\n"
    "blocked clients (the master owning the tag); default PORT, i.e. when PORT is that master.\n";

[[noreturn]] void Usage(const std::string& problem) {
  if (!problem.empty()) std::fprintf(stderr, "bench_proxy_sessions: %s\n", problem.c_str());
  std::fputs(kUsage, stderr);
  std::exit(2);
}

// `--name value` options after the positional arguments, checked against the subcommand's names.
class Options {
 public:
  Options(int argc, char** argv, int first, std::initializer_list<std::string_view> known) {
    for (int i = first; i < argc; i += 2) {
      std::string_view name = argv[i];
      if (!name.starts_with("--") || i + 1 >= argc) Usage("bad option '" + std::string(name) + "'");
      name.remove_prefix(2);
      bool ok = false;
      for (std::string_view k : known) ok = ok || k == name;
      if (!ok) Usage("unknown option --" + std::string(name));
      values_[std::string(name)] = argv[i + 1];
    }
  }

  long Int(const std::string& name, long fallback, long min) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    char* end = nullptr;
    long v = std::strtol(it->second.c_str(), &end, 10);
    if (*end != '\0' || v < min) {
      Usage("--" + name + " must be an integer >= " + std::to_string(min));
    }
    return v;
  }

  std::string Str(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }

 private:
  std::map<std::string, std::string> values_;
};

int Number(const char* text, const char* what, long max) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (*end != '\0' || v <= 0 || v > max) Usage(std::string("bad ") + what + " '" + text + "'");
  return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rs::bench;
  if (argc < 3) Usage("");
  std::signal(SIGPIPE, SIG_IGN);
  RaiseFileLimit();
  const std::string_view command = argv[1];
  const int port = Number(argv[2], "PORT", 65535);
  const bool takes_pid = command == "blocked-rss" || command == "subscriber-rss";
  if (takes_pid && argc < 4) Usage(std::string(command) + " needs PORT and PID");
  const int first_option = takes_pid ? 4 : 3;

  if (command == "multi") {
    Options o(argc, argv, first_option, {"clients", "seconds", "count", "tag"});
    MultiParams p;
    p.port = port;
    p.clients = static_cast<int>(o.Int("clients", p.clients, 1));
    p.seconds = static_cast<int>(o.Int("seconds", p.seconds, 1));
    p.count = o.Int("count", 0, 1);
    p.tag = o.Str("tag", p.tag);
    RunMulti(p);
  } else if (command == "blpop") {
    Options o(argc, argv, first_option, {"rounds", "warmup", "watch", "tag"});
    BlpopParams p;
    p.port = port;
    p.watch = static_cast<int>(o.Int("watch", port, 1));
    p.rounds = static_cast<int>(o.Int("rounds", p.rounds, 100));
    p.warmup = static_cast<int>(o.Int("warmup", p.warmup, 0));
    p.tag = o.Str("tag", p.tag);
    RunBlpop(p);
  } else if (command == "pubsub") {
    Options o(argc, argv, first_option,
              {"subscribers", "publishers", "messages", "pipeline", "size", "channel"});
    PubsubParams p;
    p.port = port;
    p.subscribers = static_cast<int>(o.Int("subscribers", p.subscribers, 1));
    p.publishers = static_cast<int>(o.Int("publishers", p.publishers, 1));
    p.messages = o.Int("messages", p.messages, 1);
    p.pipeline = static_cast<int>(o.Int("pipeline", p.pipeline, 1));
    p.size = static_cast<int>(o.Int("size", p.size, 16));
    p.channel = o.Str("channel", p.channel);
    if (p.messages < p.publishers) Usage("--messages must be at least --publishers");
    RunPubsub(p);
  } else if (takes_pid) {
    Options o(argc, argv, first_option, {"clients", "watch", "settle-ms", "tag", "channels"});
    RssParams p;
    p.port = port;
    p.pid = Number(argv[3], "PID", 1L << 30);
    p.watch = static_cast<int>(o.Int("watch", port, 1));
    p.clients = static_cast<int>(o.Int("clients", p.clients, 1));
    p.settle_ms = static_cast<int>(o.Int("settle-ms", p.settle_ms, 0));
    p.tag = o.Str("tag", p.tag);
    std::string channels = o.Str("channels", "same");
    if (channels != "same" && channels != "distinct") Usage("--channels is same or distinct");
    p.distinct_channels = channels == "distinct";
    if (command == "blocked-rss") {
      RunBlockedRss(p);
    } else {
      RunSubscriberRss(p);
    }
  } else {
    Usage("unknown subcommand '" + std::string(command) + "'");
  }
  return 0;
}
