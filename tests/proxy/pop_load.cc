#include "pop_load.h"

#include <gtest/gtest.h>

#include <set>
#include <unordered_map>

#include "support/test_status.h"

namespace rs::test {

using namespace std::chrono_literals;

void PopLoad::Drain(std::chrono::milliseconds timeout) {
  auto c = h_.Connect();
  for (auto deadline = Clock::now() + timeout; c.ok() && Clock::now() < deadline;) {
    long long left = 0;
    for (const std::string& list : lists_) {
      auto r = c->Command("LLEN", list);
      left += r.ok() && !r->is_error() ? r->integer : 1;
    }
    if (left == 0) return;
    std::this_thread::sleep_for(50ms);
  }
}

void PopLoad::Join(std::atomic<bool>& flag, std::vector<std::thread>& threads) {
  flag = true;
  for (auto& t : threads) t.join();
  threads.clear();
}

void PopLoad::Consume(Consumer& me) {
  auto conn = h_.Connect(10s);
  if (!conn.ok()) {
    me.tally.transport = conn.status();
    return;
  }
  while (!stop_consumers_) {
    auto r = conn->Command("BLPOP", me.list, "0.5");
    if (!r.ok()) {
      me.tally.transport = r.status();
      return;
    }
    ++me.tally.ops;
    if (r->type == Reply::Type::kArray && r->elements.size() == 2 &&
        r->elements[0].str == me.list) {
      me.received.emplace_back(r->elements[1].str, Clock::now());
    } else if (!r->is_nil()) {
      me.tally.Fail("BLPOP: " + r->ToString());
      std::this_thread::sleep_for(kBackoff);
    }
  }
}

void PopLoad::Produce(size_t i) {
  Producer& me = producers_[i];
  auto conn = h_.Connect(10s);
  if (!conn.ok()) {
    me.tally.transport = conn.status();
    return;
  }
  for (size_t n = 0; !stop_producers_; ++n) {
    std::string id = "p" + std::to_string(i) + "-" + std::to_string(n);
    auto r = conn->Command("RPUSH", lists_[n % lists_.size()], id);
    if (!r.ok()) {
      me.tally.transport = r.status();
      return;
    }
    ++me.tally.ops;
    if (r->type == Reply::Type::kInteger) {
      me.acked.emplace_back(std::move(id), Clock::now());
    } else {
      me.unknown.push_back(std::move(id));
      me.tally.Fail("RPUSH: " + r->ToString());
      std::this_thread::sleep_for(kBackoff);
    }
    std::this_thread::sleep_for(300us);
  }
}

void CheckPops(ProxyHarness& h, const PopLoad& load, const char* what,
               std::optional<Clock::time_point> killed_at) {
  auto in_window = [&](Clock::time_point t) {
    return killed_at && t <= *killed_at && t >= *killed_at - kReplicationWindow;
  };
  struct Seen {
    int received = 0;
    bool listed = false;
    Clock::time_point first{Clock::time_point::max()};
  };
  std::unordered_map<std::string, Seen> seen;
  uint64_t pops = 0, received = 0, consumer_failures = 0;
  for (const Consumer& c : load.consumers()) {
    RS_EXPECT_OK(c.tally.transport);
    for (const auto& [id, when] : c.received) {
      Seen& e = seen[id];
      ++e.received;
      e.first = std::min(e.first, when);
    }
    pops += c.tally.ops, received += c.received.size(), consumer_failures += c.tally.failures;
  }
  RS_ASSERT_OK_AND_ASSIGN(RedisClient conn, h.Connect());
  uint64_t remaining = 0;
  for (const std::string& list : load.lists()) {
    RS_ASSERT_OK_AND_ASSIGN(Reply r, conn.Command("LRANGE", list, "0", "-1"));
    ASSERT_FALSE(r.is_error()) << r.str;
    for (const Reply& e : r.elements) seen[e.str].listed = true;
    remaining += r.elements.size();
  }
  std::set<std::string> pushed;
  uint64_t acked = 0, unknown = 0, lost = 0, lost_to_failover = 0;
  std::string first_lost;
  for (const Producer& p : load.producers()) {
    RS_EXPECT_OK(p.tally.transport);
    for (const auto& [id, when] : p.acked) {
      pushed.insert(id);
      if (seen.count(id) != 0) continue;
      if (in_window(when)) {
        ++lost_to_failover;
      } else if (lost++ == 0) {
        first_lost = id;
      }
    }
    pushed.insert(p.unknown.begin(), p.unknown.end());
    acked += p.acked.size(), unknown += p.unknown.size();
  }
  uint64_t doubled = 0, served_again = 0, phantom = 0;
  std::string first_doubled, first_phantom;
  for (const auto& [id, e] : seen) {
    if (e.received + (e.listed ? 1 : 0) > 1) {
      if (in_window(e.first)) {
        ++served_again;
      } else if (doubled++ == 0) {
        first_doubled = id + " received " + std::to_string(e.received) + " times" +
                        (e.listed ? " and still listed" : "");
      }
    }
    if (pushed.count(id) == 0 && phantom++ == 0) first_phantom = id;
  }
  EXPECT_EQ(doubled, 0u) << "first: " << first_doubled;
  EXPECT_EQ(lost, 0u) << "first acknowledged id neither received nor listed: " << first_lost;
  EXPECT_EQ(phantom, 0u) << "an id nobody pushed, first: " << first_phantom;
  EXPECT_GT(received, 1000u) << "too little load to tell anything";
  std::printf(
      "blocked pops %s: %zu consumers, %zu producers; %llu RPUSH acknowledged, %llu failed "
      "(outcome unknown); %llu BLPOP calls, %llu elements received, %llu BLPOP errors, %llu left "
      "in lists; doubled %llu, lost %llu; undone by the failover (acknowledged up to %lld ms "
      "before the kill): %llu pushes lost, %llu pops served again; first failure: %s / %s\n",
      what, load.consumers().size(), load.producers().size(), (unsigned long long)acked,
      (unsigned long long)unknown, (unsigned long long)pops, (unsigned long long)received,
      (unsigned long long)consumer_failures, (unsigned long long)remaining,
      (unsigned long long)doubled, (unsigned long long)lost,
      (long long)std::chrono::milliseconds(kReplicationWindow).count(),
      (unsigned long long)lost_to_failover, (unsigned long long)served_again,
      FirstFailure(load.producers()).c_str(), FirstFailure(load.consumers()).c_str());
}

}  // namespace rs::test
