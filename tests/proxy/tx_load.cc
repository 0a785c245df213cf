#include "tx_load.h"

#include <gtest/gtest.h>

#include "support/test_status.h"

namespace rs::test {

using namespace std::chrono_literals;

void TxLoad::Run(size_t i) {
  TxClient& me = clients_[i];
  auto conn = h_.Connect(10s);
  if (!conn.ok()) {
    me.tally.transport = conn.status();
    return;
  }
  const std::vector<std::vector<std::string>> tx = {
      {"MULTI"}, {"INCR", me.tag + "a"}, {"INCR", me.tag + "b"}, {"EXEC"}};
  std::vector<Reply> replies(tx.size());
  while (!stop_) {
    const bool before_fault = Clock::now().time_since_epoch().count() < fault_at_;
    if (i % 2 == 0) {
      for (const auto& cmd : tx) conn->Append(cmd);
    }
    for (size_t j = 0; j < tx.size(); ++j) {
      auto r = i % 2 == 0 ? conn->GetReply() : conn->Command(tx[j]);
      if (!r.ok()) {
        me.tally.transport = r.status();
        return;
      }
      replies[j] = std::move(*r);
    }
    ++me.tally.ops;
    if (!Classify(me, replies, before_fault)) std::this_thread::sleep_for(kBackoff);
  }
}

bool TxLoad::Classify(TxClient& me, const std::vector<Reply>& replies, bool before_fault) {
  const Reply& exec = replies.back();
  const auto& e = exec.elements;
  if (exec.type == Reply::Type::kArray && e.size() == 2 && e[0].type == Reply::Type::kInteger &&
      e[1].type == Reply::Type::kInteger) {
    if (e[0].integer != e[1].integer) {
      ++me.torn;
      me.tally.Fail("torn EXEC: " + exec.ToString());
      return false;
    }
    if (e[0].integer != me.last + 1) ++me.gaps;
    me.last = e[0].integer;
    ++me.applied;
    return true;
  }
  std::string what;
  for (const Reply& r : replies) what += r.ToString() + " ";
  if (exec.is_nil()) {
    ++me.nil;
  } else if (exec.is_error() && exec.str.find("may or may not have run") != std::string::npos) {
    ++me.unknown;
    me.unknown_before_fault += before_fault;
  } else if (!exec.is_error()) {
    ++me.torn;
  }
  me.tally.Fail(what);
  return false;
}

namespace {

// An integer key through the proxy, waiting (up to 20 s) for its slot to be served.
Result<long long> GetCounter(RedisClient& c, const std::string& key) {
  auto deadline = Clock::now() + 20s;
  while (true) {
    RS_ASSIGN_OR_RETURN(Reply r, c.Command("GET", key));
    if (r.is_nil()) return 0;
    if (!r.is_error()) return std::stoll(r.str);
    if (Clock::now() > deadline) return Status::Unavailable("GET " + key + ": " + r.str);
    std::this_thread::sleep_for(50ms);
  }
}

}  // namespace

void CheckTransactions(ProxyHarness& h, const TxLoad& load, bool exact, const char* what) {
  RS_ASSERT_OK_AND_ASSIGN(RedisClient c, h.Connect());
  uint64_t ops = 0, applied = 0, nil = 0, unknown = 0, failures = 0, gaps = 0, lost = 0;
  uint64_t unknown_before = 0;
  for (const TxClient& t : load.clients()) {
    RS_EXPECT_OK(t.tally.transport);
    EXPECT_EQ(t.torn, 0u) << t.tag << ": " << t.tally.first_failure;
    RS_ASSERT_OK_AND_ASSIGN(long long a, GetCounter(c, t.tag + "a"));
    RS_ASSERT_OK_AND_ASSIGN(long long b, GetCounter(c, t.tag + "b"));
    EXPECT_EQ(a, b) << t.tag << ": a transaction was half-applied";
    if (exact) {
      EXPECT_EQ(a, static_cast<long long>(t.applied)) << t.tag;
      EXPECT_EQ(t.gaps, 0u) << t.tag;
    } else {
      EXPECT_LE(a, static_cast<long long>(t.applied + t.unknown_before_fault))
          << t.tag << ": a failed EXEC ran";
      if (a < static_cast<long long>(t.applied)) lost += t.applied - static_cast<uint64_t>(a);
    }
    ops += t.tally.ops, applied += t.applied, nil += t.nil, unknown += t.unknown;
    failures += t.tally.failures, gaps += t.gaps, unknown_before += t.unknown_before_fault;
  }
  EXPECT_GT(applied, 100u * load.clients().size()) << "too little load to tell anything";
  std::printf(
      "transactions %s: %zu clients, %llu EXECs: %llu applied, %llu nil, %llu outcome unknown "
      "(%llu sent before the fault), %llu failed in all; %llu counter gaps, %llu acknowledged but "
      "lost; first failure: %s\n",
      what, load.clients().size(), (unsigned long long)ops, (unsigned long long)applied,
      (unsigned long long)nil, (unsigned long long)unknown, (unsigned long long)unknown_before,
      (unsigned long long)failures, (unsigned long long)gaps, (unsigned long long)lost,
      FirstFailure(load.clients()).c_str());
}

}  // namespace rs::test
