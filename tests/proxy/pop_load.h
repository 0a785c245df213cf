// Blocked pops of many clients at once, for fault tests: consumers loop on BLPOP while producers
// RPUSH unique ids, and every id acknowledged, received and left over is kept, so a test can tell
// whether an element was ever lost or served twice.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "load_tally.h"
#include "proxy_fixture.h"

namespace rs::test {

// One BLPOP client on one list: the ids it received.
struct Consumer {
  std::string list;
  Tally tally;
  std::vector<std::pair<std::string, Clock::time_point>> received;  // id, when
};

// One RPUSH client: the ids it pushed.
struct Producer {
  Tally tally;
  // RPUSH answered with the list's length: id, when.
  std::vector<std::pair<std::string, Clock::time_point>> acked;
  std::vector<std::string> unknown;  // RPUSH answered an error: it may or may not have run
};

// `consumers_per_list` clients loop on BLPOP <list> 0.5 for each list; `producers` clients RPUSH
// unique ids ("p<producer>-<n>") round-robin over the lists, about one every 0.3 ms each, so
// the consumers are mostly blocked. Each client on its own proxy connection.
// Thread contract: Start/Stop* from the test's thread; the tallies only after StopConsumers().
class PopLoad {
 public:
  PopLoad(ProxyHarness& h, const std::vector<std::string>& tags, int consumers_per_list,
          int producers)
      : h_(h), producers_(static_cast<size_t>(producers)) {
    for (const std::string& tag : tags) lists_.push_back(tag + "q");
    for (int k = 0; k < consumers_per_list; ++k) {
      for (const std::string& list : lists_) consumers_.push_back(Consumer{list, {}, {}});
    }
  }
  ~PopLoad() {
    StopProducers();
    StopConsumers();
  }
  void Start() {
    for (size_t i = 0; i < consumers_.size(); ++i)
      consumer_threads_.emplace_back([this, i] { Consume(consumers_[i]); });
    for (size_t i = 0; i < producers_.size(); ++i)
      producer_threads_.emplace_back([this, i] { Produce(i); });
  }
  void StopProducers() { Join(stop_producers_, producer_threads_); }
  void StopConsumers() { Join(stop_consumers_, consumer_threads_); }
  // Until the consumers have emptied the lists, or `timeout`.
  void Drain(std::chrono::milliseconds timeout);
  const std::vector<std::string>& lists() const { return lists_; }
  const std::vector<Consumer>& consumers() const { return consumers_; }
  const std::vector<Producer>& producers() const { return producers_; }

 private:
  static void Join(std::atomic<bool>& flag, std::vector<std::thread>& threads);
  void Consume(Consumer& me);
  void Produce(size_t i);

  ProxyHarness& h_;
  std::vector<std::string> lists_;
  std::vector<Consumer> consumers_;
  std::vector<Producer> producers_;
  std::vector<std::thread> consumer_threads_, producer_threads_;
  std::atomic<bool> stop_producers_{false}, stop_consumers_{false};
};

// Redis replicates asynchronously: a master killed with kill -9 may take with it what it
// acknowledged just before (measured here in microseconds, allowed this much on a loaded machine).
inline constexpr std::chrono::milliseconds kReplicationWindow{500};

// No id was received twice or is both received and still listed; every acknowledged id was
// received or is still in a list; nothing appeared that was not pushed. With `killed_at` (the
// moment the old master was dead), an acknowledgement the old master gave within
// kReplicationWindow before may be undone by the failover: an RPUSH (the id is gone) or a pop (the
// promoted replica serves the id again). Those are counted apart and reported, not failed.
// gtest expectations; `what` names the run in the figures it prints.
void CheckPops(ProxyHarness& h, const PopLoad& load, const char* what,
               std::optional<Clock::time_point> killed_at = std::nullopt);

}  // namespace rs::test
