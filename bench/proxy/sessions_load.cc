// The throughput and latency subcommands of bench_proxy_sessions: multi, blpop, pubsub.
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/resp_parser.h"
#include "common/resp_writer.h"
#include "session_conn.h"
#include "sessions.h"

namespace rs::bench {
namespace {

using resp::ReplyInfo;
using resp::ReplyType;

// A run that stops making progress for this long has failed (a lost reply, a dead server).
constexpr double kStallUs = 10e6;

bool IsSimple(const ReplyInfo& info, std::string_view text) {
  return info.type == ReplyType::kSimpleString && info.line == text;
}

// Fails with the reply, unless it is the proxy refusing the command: then the figures are
// reported as unsupported.
[[noreturn]] void Unexpected(std::initializer_list<std::string_view> names, std::string_view what,
                             std::string_view raw, const ReplyInfo& info) {
  if (IsUnsupported(info)) ReportUnsupported(names, info.line);
  Fail(std::string(what) + ": " + Describe(raw, info));
}

double Percentile(const std::vector<double>& sorted, double q) {
  return sorted[static_cast<size_t>(q * static_cast<double>(sorted.size() - 1))];
}

}  // namespace

void RunMulti(const MultiParams& p) {
  struct Client {
    Conn conn;
    std::string transaction;  // the 4 commands, sent as one write
    int replies = 0;          // of the transaction in flight
    int64_t counter = -1;     // INCR's last result
    bool running = true;
  };
  std::vector<std::unique_ptr<Client>> clients;
  Poller poller;
  for (int i = 0; i < p.clients; ++i) {
    auto c = std::make_unique<Client>();
    const std::string n = std::to_string(i);
    const std::string key = "{" + p.tag + "}k:" + n, counter = "{" + p.tag + "}c:" + n;
    resp::AppendCommand(&c->transaction, {"MULTI"});
    resp::AppendCommand(&c->transaction, {"SET", key, "v"});
    resp::AppendCommand(&c->transaction, {"INCR", counter});
    resp::AppendCommand(&c->transaction, {"EXEC"});
    c->conn.Connect(p.port);
    c->conn.SetNonBlocking();
    c->conn.id = static_cast<size_t>(i);
    poller.Add(&c->conn);
    clients.push_back(std::move(c));
  }

  const std::initializer_list<std::string_view> kNames = {"multi_tps"};
  const double start = NowUs();
  const double deadline = start + p.seconds * 1e6;
  long started = 0, done = 0;
  int running = p.clients;
  double last = start;
  auto send = [&](Client* c) {
    c->conn.AppendRaw(c->transaction);
    c->conn.Flush();
    poller.Update(&c->conn);
    ++started;
  };
  for (auto& c : clients) send(c.get());
  std::vector<Conn*> ready;
  std::vector<ReplyInfo> elements;
  while (running > 0) {
    poller.Wait(100, &ready);
    if (ready.empty() && NowUs() - last > kStallUs) Fail("multi: no reply for 10 s");
    for (Conn* conn : ready) {
      Client* c = clients[conn->id].get();
      if (conn->HasOutput()) {
        conn->Flush();
        poller.Update(conn);
      }
      conn->ReadSome();
      std::string_view raw;
      ReplyInfo info;
      while (conn->NextReply(&raw, &info)) {
        switch (c->replies++) {
          case 0:
            if (!IsSimple(info, "OK")) Unexpected(kNames, "MULTI replied", raw, info);
            continue;
          case 1:
          case 2:
            if (!IsSimple(info, "QUEUED")) {
              Unexpected(kNames, "a queued command replied", raw, info);
            }
            continue;
          default:
            break;
        }
        int64_t value = 0;
        if (!Elements(raw, info, &elements) || elements.size() != 2 ||
            !IsSimple(elements[0], "OK") || elements[1].type != ReplyType::kInteger ||
            !resp::ParseRedisInt(elements[1].line, &value)) {
          Unexpected(kNames, "EXEC did not reply [OK, n]", raw, info);
        }
        if (c->counter >= 0 && value != c->counter + 1) {
          Fail("EXEC: INCR went from " + std::to_string(c->counter) + " to " +
               std::to_string(value));
        }
        c->counter = value;
        c->replies = 0;
        ++done;
        last = NowUs();
        bool more = p.count > 0 ? started < p.count : last < deadline;
        if (more) {
          send(c);
        } else if (c->running) {
          c->running = false;
          --running;
        }
      }
    }
  }
  std::printf("multi_tps: %.0f tx/s\n", static_cast<double>(done) / ((last - start) / 1e6));
  std::printf("multi_transactions: %ld\n", done);
  std::printf("multi_clients: %d\n", p.clients);
}

void RunBlpop(const BlpopParams& p) {
  const std::initializer_list<std::string_view> kNames = {"blpop_wakeup_p50", "blpop_wakeup_p90",
                                                          "blpop_wakeup_p99"};
  const std::string key = "{" + p.tag + "}blpop";
  Conn blocker, pusher, watcher;
  blocker.Connect(p.port);
  pusher.Connect(p.port);
  watcher.Connect(p.watch);
  ReplyInfo info;
  std::string_view raw;
  pusher.Append({"DEL", key});
  pusher.Flush();
  raw = pusher.ReadReply(&info);
  if (info.type != ReplyType::kInteger) Fail("DEL replied " + Describe(raw, info));
  const int64_t base = BlockedClients(&watcher);

  std::vector<double> us;
  std::vector<ReplyInfo> elements;
  for (int round = 0; round < p.warmup + p.rounds; ++round) {
    blocker.Append({"BLPOP", key, "5"});
    blocker.Flush();
    // Wait until Redis itself has the blocker blocked: a fixed delay would push too early whenever
    // the machine is busy (then BLPOP returns at once and the figure is a plain round trip), and
    // the list's length says nothing (it is empty before and after BLPOP arrives).
    const double wait_start = NowUs();
    while (BlockedClients(&watcher) <= base) {
      pollfd early{blocker.fd(), POLLIN, 0};
      if (poll(&early, 1, 0) > 0) {
        raw = blocker.ReadReply(&info);
        Unexpected(kNames, "BLPOP replied before the LPUSH", raw, info);
      }
      if (NowUs() - wait_start > 2e6) {
        Fail("BLPOP not blocked after 2 s on 127.0.0.1:" + std::to_string(p.watch) +
             " (is --watch the master owning " + key + "?)");
      }
    }
    const double t0 = NowUs();
    pusher.Append({"LPUSH", key, "x"});
    pusher.Flush();
    raw = blocker.ReadReply(&info);
    const double t1 = NowUs();
    if (!Elements(raw, info, &elements) || elements.size() != 2 || elements[0].payload != key ||
        elements[1].payload != "x") {
      Unexpected(kNames, "BLPOP did not reply [key, x]", raw, info);
    }
    raw = pusher.ReadReply(&info);
    if (info.type != ReplyType::kInteger) Unexpected(kNames, "LPUSH replied", raw, info);
    if (round >= p.warmup) us.push_back(t1 - t0);
  }
  std::sort(us.begin(), us.end());
  std::printf("blpop_wakeup_p50: %.1f us\n", Percentile(us, 0.50));
  std::printf("blpop_wakeup_p90: %.1f us\n", Percentile(us, 0.90));
  std::printf("blpop_wakeup_p99: %.1f us\n", Percentile(us, 0.99));
  std::printf("blpop_rounds: %zu\n", us.size());
}

void RunPubsub(const PubsubParams& p) {
  const std::initializer_list<std::string_view> kNames = {"publish_msgs_per_s"};
  struct Subscriber {
    Conn conn;
    std::vector<long> next;  // the sequence number expected from each publisher
    long received = 0;
  };
  struct Publisher {
    Conn conn;
    long to_send = 0, sent = 0, acked = 0;
  };
  std::vector<std::unique_ptr<Subscriber>> subs;
  std::vector<std::unique_ptr<Publisher>> pubs;
  Poller poller;
  ReplyInfo info;
  std::string_view raw;
  std::vector<ReplyInfo> elements;
  for (int i = 0; i < p.subscribers; ++i) {
    auto s = std::make_unique<Subscriber>();
    s->next.assign(static_cast<size_t>(p.publishers), 0);
    s->conn.Connect(p.port);
    s->conn.Append({"SUBSCRIBE", p.channel});
    s->conn.Flush();
    raw = s->conn.ReadReply(&info);
    if (!Elements(raw, info, &elements) || elements.size() != 3 ||
        elements[0].payload != "subscribe" || elements[1].payload != p.channel) {
      Unexpected(kNames, "SUBSCRIBE replied", raw, info);
    }
    s->conn.SetNonBlocking();
    s->conn.id = static_cast<size_t>(i);
    poller.Add(&s->conn);
    subs.push_back(std::move(s));
  }
  for (int i = 0; i < p.publishers; ++i) {
    auto pub = std::make_unique<Publisher>();
    pub->to_send = p.messages / p.publishers + (i < p.messages % p.publishers ? 1 : 0);
    pub->conn.Connect(p.port);
    pub->conn.SetNonBlocking();
    pub->conn.id = static_cast<size_t>(p.subscribers + i);
    poller.Add(&pub->conn);
    pubs.push_back(std::move(pub));
  }

  // Payload "<publisher>:<sequence>:" padded to p.size bytes.
  std::string payload;
  auto publish = [&](Publisher* pub, long n) {
    for (; n > 0 && pub->sent < pub->to_send; --n) {
      payload = std::to_string(pub->conn.id - static_cast<size_t>(p.subscribers)) + ":" +
                std::to_string(pub->sent++) + ":";
      if (payload.size() < static_cast<size_t>(p.size)) payload.resize(p.size, 'x');
      pub->conn.Append({"PUBLISH", p.channel, payload});
    }
    pub->conn.Flush();
    poller.Update(&pub->conn);
  };
  const double start = NowUs();
  double last = start;
  for (auto& pub : pubs) publish(pub.get(), p.pipeline);
  int subs_done = 0;
  std::vector<Conn*> ready;
  while (subs_done < p.subscribers) {
    poller.Wait(100, &ready);
    if (ready.empty() && NowUs() - last > kStallUs) break;
    for (Conn* conn : ready) {
      if (conn->HasOutput()) {
        conn->Flush();
        poller.Update(conn);
      }
      conn->ReadSome();
      if (conn->id >= static_cast<size_t>(p.subscribers)) {
        Publisher* pub = pubs[conn->id - static_cast<size_t>(p.subscribers)].get();
        long replies = 0;
        while (conn->NextReply(&raw, &info)) {
          if (info.type != ReplyType::kInteger) Unexpected(kNames, "PUBLISH replied", raw, info);
          ++replies;
        }
        pub->acked += replies;
        publish(pub, replies);
        continue;
      }
      Subscriber* s = subs[conn->id].get();
      while (conn->NextReply(&raw, &info)) {
        long publisher = -1, seq = -1;
        if (Elements(raw, info, &elements) && elements.size() == 3 &&
            elements[0].payload == "message") {
          std::string_view m = elements[2].payload;
          auto [after_publisher, e1] = std::from_chars(m.data(), m.data() + m.size(), publisher);
          if (e1 == std::errc() && after_publisher < m.data() + m.size()) {
            std::from_chars(after_publisher + 1, m.data() + m.size(), seq);
          }
        }
        if (publisher < 0 || publisher >= p.publishers || seq < 0) {
          Unexpected(kNames, "a subscriber got", raw, info);
        }
        long& expected = s->next[static_cast<size_t>(publisher)];
        if (seq != expected) {
          Fail("subscriber " + std::to_string(conn->id) + " got message " + std::to_string(seq) +
               " of publisher " + std::to_string(publisher) + " when it expected " +
               std::to_string(expected));
        }
        ++expected;
        last = NowUs();
        if (++s->received == p.messages) ++subs_done;
      }
    }
  }
  long lost = 0;
  for (auto& s : subs) lost += p.messages - s->received;
  if (lost > 0) {
    std::printf("publish_lost: %ld\n", lost);
    Fail("pubsub: " + std::to_string(lost) + " deliveries missing after 10 s without progress");
  }
  const double seconds = (last - start) / 1e6;
  const double deliveries = static_cast<double>(p.messages) * p.subscribers;
  std::printf("publish_msgs_per_s: %.0f msg/s\n", deliveries / seconds);
  std::printf("publish_published_per_s: %.0f msg/s\n", static_cast<double>(p.messages) / seconds);
  std::printf("publish_deliveries: %.0f\n", deliveries);
  std::printf("publish_lost: 0\n");
}

}  // namespace rs::bench
