// The subcommands of bench_proxy_sessions: what a client holding a session (a transaction, a
// blocking pop, a subscription) costs, through redis-proxy or straight to Redis. Each prints
// `name: value unit` lines on stdout, or `name: unsupported` when the proxy refuses the command.
#pragma once

#include <string>

namespace rs::bench {

// Transactions per second: `clients` connections each looping MULTI / SET {tag}k:I v /
// INCR {tag}c:I / EXEC, written as one pipelined write per transaction and awaiting its 4 replies,
// for `seconds` (or until `count` transactions when count > 0). Checks every reply, that EXEC
// returns [OK, n] and that each client's counter goes up by exactly one per transaction.
struct MultiParams {
  int port = 0;
  int clients = 50;
  int seconds = 5;
  long count = 0;
  std::string tag = "bench";
};
void RunMulti(const MultiParams& p);

// BLPOP wake-up latency: per round a blocker sends `BLPOP {tag}blpop 5`; once the Redis at `watch`
// (the master owning the key) reports one more blocked client in `INFO clients`, t0 is taken and
// a second connection sends LPUSH; the latency is when the blocker has read its whole reply, minus
// t0. `warmup` rounds are not recorded.
struct BlpopParams {
  int port = 0;
  int watch = 0;
  int rounds = 2000;
  int warmup = 100;
  std::string tag = "bench";
};
void RunBlpop(const BlpopParams& p);

// PUBLISH fan-out: `subscribers` connections SUBSCRIBE to `channel`; `publishers` connections
// send `messages` PUBLISHes in all, each keeping `pipeline` unanswered. Rate: deliveries
// (subscribers x messages) over the time from the first publish until every subscriber has every
// message. Each payload carries its publisher and sequence number; a subscriber checks it gets
// each publisher's messages in order, none twice, and the run fails if any message is lost.
struct PubsubParams {
  int port = 0;
  int subscribers = 100;
  int publishers = 1;
  long messages = 20000;
  int pipeline = 100;
  int size = 16;
  std::string channel = "bench:ch";
};
void RunPubsub(const PubsubParams& p);

// RSS growth of process `pid` while `clients` connections hold a session: each blocked in
// `BLPOP {tag}blk:I 0` (all seen blocked by the Redis at `watch`) or subscribed (to one channel,
// or each to its own). The connections are first opened idle, so the idle share is printed too.
struct RssParams {
  int port = 0;
  int pid = 0;
  int watch = 0;
  int clients = 5000;
  int settle_ms = 1500;
  bool distinct_channels = false;
  std::string tag = "bench";
};
void RunBlockedRss(const RssParams& p);
void RunSubscriberRss(const RssParams& p);

}  // namespace rs::bench
