// Transactions of many clients at once, for fault tests: each client runs MULTI; INCR {tag}a;
// INCR {tag}b; EXEC on its own hash tag, and what every EXEC answered is tallied, so a test can
// tell whether a transaction was ever half-applied, or applied although it failed.
#pragma once

#include <atomic>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "load_tally.h"
#include "proxy_fixture.h"

namespace rs::test {

// One client's transactions, as its EXECs answered.
struct TxClient {
  std::string tag;
  Tally tally;
  uint64_t applied = 0;  // EXEC answered [n, n]
  uint64_t nil = 0;      // EXEC answered nil: aborted
  uint64_t unknown = 0;  // "may or may not have run": the node was lost after EXEC was sent
  uint64_t unknown_before_fault = 0;  // of those, sent before the fault: they may have run
  uint64_t torn = 0;  // EXEC answered two different counters, or an array of another shape
  uint64_t gaps = 0;  // an applied EXEC's counter is not the previous one's plus one
  long long last = 0;
};

// One client per tag, each on its own proxy connection, running MULTI; INCR {tag}a;
// INCR {tag}b; EXEC until Stop(); every other client pipelines the four commands.
// Thread contract: Start/Stop from the test's thread; clients() only after Stop().
class TxLoad {
 public:
  TxLoad(ProxyHarness& h, const std::vector<std::string>& tags) : h_(h), clients_(tags.size()) {
    for (size_t i = 0; i < tags.size(); ++i) clients_[i].tag = tags[i];
  }
  ~TxLoad() { Stop(); }
  void Start() {
    for (size_t i = 0; i < clients_.size(); ++i) threads_.emplace_back([this, i] { Run(i); });
  }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  // Called once the killed node is dead: an EXEC sent from now on whose outcome is unknown (its
  // connection was lost) went to the dead node, so it cannot have run.
  void MarkFault() { fault_at_ = Clock::now().time_since_epoch().count(); }
  const std::vector<TxClient>& clients() const { return clients_; }

 private:
  void Run(size_t i);
  // False when the EXEC did not apply.
  static bool Classify(TxClient& me, const std::vector<Reply>& replies, bool before_fault);

  ProxyHarness& h_;
  std::vector<TxClient> clients_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<Clock::rep> fault_at_{std::numeric_limits<Clock::rep>::max()};
};

// Every client's counters agree (never half-applied). `exact`: and equal its applied EXECs, so
// no EXEC that failed ran; otherwise at most applied + unknown_before_fault (acknowledged writes
// the failover lost, which Redis's asynchronous replication allows, are reported, not failed).
// gtest expectations; `what` names the run in the figures it prints.
void CheckTransactions(ProxyHarness& h, const TxLoad& load, bool exact, const char* what);

}  // namespace rs::test
