// The memory subcommands of bench_proxy_sessions: blocked-rss and subscriber-rss.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "session_conn.h"
#include "sessions.h"

namespace rs::bench {
namespace {

using resp::ReplyInfo;
using resp::ReplyType;

// Connections opened per batch, each answering a PING before the next batch: keeps the listen
// backlog from overflowing (a dropped SYN is retried only after a second).
constexpr int kConnectBatch = 256;

std::vector<std::unique_ptr<Conn>> ConnectIdle(int port, int n) {
  std::vector<std::unique_ptr<Conn>> conns;
  ReplyInfo info;
  for (int first = 0; first < n; first += kConnectBatch) {
    const int end = std::min(n, first + kConnectBatch);
    for (int i = first; i < end; ++i) {
      auto c = std::make_unique<Conn>();
      c->Connect(port);
      c->id = static_cast<size_t>(i);
      c->Append({"PING"});
      c->Flush();
      conns.push_back(std::move(c));
    }
    for (int i = first; i < end; ++i) {
      std::string_view raw = conns[static_cast<size_t>(i)]->ReadReply(&info);
      if (info.type != ReplyType::kSimpleString || info.line != "PONG") {
        Fail("PING replied " + Describe(raw, info));
      }
    }
  }
  for (auto& c : conns) c->SetNonBlocking();
  return conns;
}

void Settle(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// What the sessions cost: from before the connections were opened (rss0), with them idle
// (rss_idle), and holding their sessions (rss1).
void PrintRss(const char* per_session_name, int n, int64_t rss0, int64_t rss_idle, int64_t rss1) {
  std::printf("rss_before: %lld bytes\n", static_cast<long long>(rss0));
  std::printf("rss_growth: %lld bytes\n", static_cast<long long>(rss1 - rss0));
  std::printf("rss_idle_per_client: %lld bytes\n", static_cast<long long>((rss_idle - rss0) / n));
  std::printf("%s: %lld bytes\n", per_session_name, static_cast<long long>((rss1 - rss0) / n));
}

}  // namespace

void RunBlockedRss(const RssParams& p) {
  const std::initializer_list<std::string_view> kNames = {"rss_per_blocked_client"};
  Conn watcher;
  watcher.Connect(p.watch);  // before rss0: when watch is the measured Redis, it is no client here
  const int64_t rss0 = RssBytes(p.pid);
  auto conns = ConnectIdle(p.port, p.clients);
  Settle(p.settle_ms);
  const int64_t rss_idle = RssBytes(p.pid);

  const int64_t base = BlockedClients(&watcher);
  Poller poller;
  for (auto& c : conns) {
    c->Append({"BLPOP", "{" + p.tag + "}blk:" + std::to_string(c->id), "0"});
    c->Flush();
    poller.Add(c.get());
  }
  // Every client must be blocked in Redis itself, and none may have had a reply (a refusal, an
  // error): either would make the figure the cost of something else.
  std::vector<Conn*> ready;
  auto no_replies = [&](int timeout_ms) {
    poller.Wait(timeout_ms, &ready);
    for (Conn* conn : ready) {
      if (conn->HasOutput()) {
        conn->Flush();
        poller.Update(conn);
      }
      conn->ReadSome();
      std::string_view raw;
      ReplyInfo info;
      if (conn->NextReply(&raw, &info)) {
        if (IsUnsupported(info)) ReportUnsupported(kNames, info.line);
        Fail("BLPOP replied while it should block: " + Describe(raw, info));
      }
    }
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int64_t blocked = 0;
  while ((blocked = BlockedClients(&watcher) - base) < p.clients) {
    if (std::chrono::steady_clock::now() > deadline) {
      Fail(std::to_string(blocked) + " of " + std::to_string(p.clients) +
           " clients blocked after 60 s on 127.0.0.1:" + std::to_string(p.watch) +
           " (is --watch the master owning {" + p.tag + "}?)");
    }
    no_replies(10);
  }
  Settle(p.settle_ms);
  const int64_t rss1 = RssBytes(p.pid);
  no_replies(0);
  std::printf("blocked_clients: %d\n", p.clients);
  PrintRss("rss_per_blocked_client", p.clients, rss0, rss_idle, rss1);
}

void RunSubscriberRss(const RssParams& p) {
  const std::initializer_list<std::string_view> kNames = {"rss_per_subscriber"};
  const int64_t rss0 = RssBytes(p.pid);
  auto conns = ConnectIdle(p.port, p.clients);
  Settle(p.settle_ms);
  const int64_t rss_idle = RssBytes(p.pid);

  Poller poller;
  auto channel = [&](const Conn& c) {
    return p.distinct_channels ? "bench:ch:" + std::to_string(c.id) : std::string("bench:ch");
  };
  for (auto& c : conns) {
    c->Append({"SUBSCRIBE", channel(*c)});
    c->Flush();
    poller.Add(c.get());
  }
  int confirmed = 0;
  std::vector<Conn*> ready;
  std::vector<ReplyInfo> elements;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (confirmed < p.clients) {
    if (std::chrono::steady_clock::now() > deadline) {
      Fail(std::to_string(confirmed) + " of " + std::to_string(p.clients) +
           " SUBSCRIBEs confirmed after 60 s");
    }
    poller.Wait(100, &ready);
    for (Conn* conn : ready) {
      if (conn->HasOutput()) {
        conn->Flush();
        poller.Update(conn);
      }
      conn->ReadSome();
      std::string_view raw;
      ReplyInfo info;
      while (conn->NextReply(&raw, &info)) {
        if (IsUnsupported(info)) ReportUnsupported(kNames, info.line);
        if (!Elements(raw, info, &elements) || elements.size() != 3 ||
            elements[0].payload != "subscribe" || elements[1].payload != channel(*conn)) {
          Fail("SUBSCRIBE replied " + Describe(raw, info));
        }
        ++confirmed;
      }
    }
  }
  Settle(p.settle_ms);
  const int64_t rss1 = RssBytes(p.pid);
  std::printf("subscribers: %d\n", p.clients);
  std::printf("channels: %s\n", p.distinct_channels ? "distinct" : "same");
  PrintRss("rss_per_subscriber", p.clients, rss0, rss_idle, rss1);
}

}  // namespace rs::bench
