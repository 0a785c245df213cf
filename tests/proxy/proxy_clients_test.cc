// A real client library against sessions through the proxy: Debian's python3-redis (4.3) in
// front of a real 3-master + 3-replica cluster, the way applications use it: transaction
// pipelines, r.lock(), WATCH with the transaction() helper, blocking pops and stream reads, many
// clients blocked at once. Each test writes its script to a temp dir and runs it; the script's
// asserts carry the expected values and it ends by printing "python ok".
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "proxy_fixture.h"
#include "support/test_status.h"

namespace rs::test {
namespace {

using namespace std::chrono_literals;

// What every script starts with: `r` is a client of the proxy, `other()` a new one (another
// connection, as another process would have), `background(fn)` runs fn in a thread after a pause.
constexpr std::string_view kPreamble = R"(import sys, threading, time, redis
PORT = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=PORT)
def other():
    return redis.Redis(host="127.0.0.1", port=PORT)
def background(fn, delay=0.3):
    def run():
        time.sleep(delay)
        fn()
    t = threading.Thread(target=run)
    t.start()
    return t
def expect_error(fn, text):
    try:
        fn()
    except redis.ResponseError as e:
        assert text in str(e), str(e)
        return
    raise AssertionError("no error containing " + text)
)";

class ProxyClientsTest : public ::testing::Test {
 protected:
  void SetUp() override { RS_ASSERT_OK(h_.Start(3, 2000)); }

  // Runs kPreamble + `body` (ExpectPythonScriptPasses): passes when it exits 0 having printed
  // "python ok".
  void RunPython(std::string_view body, std::chrono::seconds timeout = 60s) {
    std::string script(kPreamble);
    script.append(body).append("\nprint(\"python ok\")\n");
    ExpectPythonScriptPasses(script, h_.port(), "python ok", timeout);
  }

  ProxyHarness h_;
};

TEST_F(ProxyClientsTest, TransactionPipelineOfManyCommandsOnOneHashTag) {
  RunPython(R"(
p = r.pipeline()  # transaction=True: MULTI ... EXEC
for i in range(300):
    p.set("{tp}k%d" % i, i)
    p.incr("{tp}n")
    p.rpush("{tp}list", i)
p.hset("{tp}h", mapping={"a": 1, "b": 2})
p.hgetall("{tp}h")
p.lrange("{tp}list", 0, 2)
res = p.execute()
assert len(res) == 903, len(res)
for i in range(300):
    assert res[3 * i] is True, (i, res[3 * i])
    assert res[3 * i + 1] == i + 1, (i, res[3 * i + 1])
    assert res[3 * i + 2] == i + 1, (i, res[3 * i + 2])
assert res[900] == 2 and res[901] == {b"a": b"1", b"b": b"2"}, res[900:902]
assert res[902] == [b"0", b"1", b"2"], res[902]
assert r.get("{tp}n") == b"300"
assert r.mget(["{tp}k0", "{tp}k299"]) == [b"0", b"299"]
# A command that fails when run does not undo the others, as on one Redis.
r.set("{tp}text", "abc")
p = r.pipeline()
p.incr("{tp}n").incr("{tp}text").incr("{tp}n")
expect_error(p.execute, "not an integer")
assert r.get("{tp}n") == b"302"
# A key of another slot is refused while queuing and nothing runs (EXECABORT).
p = r.pipeline()
p.incr("{tp}n").set("elsewhere", 1).incr("{tp}n")
expect_error(p.execute, "CROSSSLOT")
assert r.get("{tp}n") == b"302" and r.get("elsewhere") is None
)");
}

TEST_F(ProxyClientsTest, LockIsExclusiveWaitsForReleaseAndExpires) {
  RunPython(R"(
lock = r.lock("{lk}res", timeout=10)
assert lock.acquire(blocking=False)
assert r.get("{lk}res") == lock.local.token
assert not other().lock("{lk}res").acquire(blocking=False)
# A second holder blocks until the first releases.
got = []
def second():
    l = other().lock("{lk}res", timeout=10, sleep=0.02)
    ok = l.acquire(blocking=True, blocking_timeout=5)
    got.append((ok, time.monotonic()))
    l.release()
t = threading.Thread(target=second)
t.start()
time.sleep(0.5)
assert got == [], got
released = time.monotonic()
lock.release()  # EVALSHA of redis-py's script (SCRIPT LOAD first, on every master)
t.join(5)
assert len(got) == 1 and got[0][0] and got[0][1] >= released, got
assert r.get("{lk}res") is None
# A lock's timeout frees it for the next holder; the old holder no longer owns it.
short = r.lock("{lk}short", timeout=0.5)
assert short.acquire()
t0 = time.monotonic()
l2 = other().lock("{lk}short", timeout=10, sleep=0.02)
assert l2.acquire(blocking_timeout=3)
waited = time.monotonic() - t0
assert 0.3 < waited < 2.5, waited
try:
    short.release()
    raise AssertionError("released a lock it no longer owns")
except redis.exceptions.LockNotOwnedError:
    pass
assert l2.owned() and not short.owned()
# blocking_timeout: gives up after that long.
t0 = time.monotonic()
assert not other().lock("{lk}short", sleep=0.02).acquire(blocking_timeout=0.3)
assert 0.25 < time.monotonic() - t0 < 2, time.monotonic() - t0
assert l2.extend(5) and 13000 < r.pttl("{lk}short") <= 15000, r.pttl("{lk}short")
l2.release()
assert r.exists("{lk}short") == 0
)");
}

TEST_F(ProxyClientsTest, WatchAbortsOnAnotherClientsWriteAndTheTransactionHelperRetries) {
  RunPython(R"(
r.set("{w}bal", 100)
p = r.pipeline()
p.watch("{w}bal")
v = int(p.get("{w}bal"))
other().set("{w}bal", 500)  # another connection writes the watched key
p.multi()
p.set("{w}bal", v - 10)
try:
    p.execute()
    raise AssertionError("EXEC ran although the watched key changed")
except redis.WatchError:
    pass
assert r.get("{w}bal") == b"500"
p.reset()
# transaction(): WATCH, read, MULTI, write, EXEC, and again on WatchError.
writer = other()
attempts = []
def debit(pipe):
    attempts.append(1)
    v = int(pipe.get("{w}bal"))
    if len(attempts) <= 2:
        writer.incr("{w}bal")  # interfere twice
    pipe.multi()
    pipe.set("{w}bal", v - 10)
assert r.transaction(debit, "{w}bal") == [True]
assert len(attempts) == 3, len(attempts)
assert r.get("{w}bal") == b"492"
# Eight clients add 1 fifty times each with read-modify-write under WATCH: none is lost.
r.set("{w}count", 0)
def adder():
    c = other()
    for _ in range(50):
        def add(pipe):
            n = int(pipe.get("{w}count"))
            pipe.multi()
            pipe.set("{w}count", n + 1)
        c.transaction(add, "{w}count")
threads = [threading.Thread(target=adder) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join(30)
assert r.get("{w}count") == b"400", r.get("{w}count")
expect_error(lambda: r.pipeline().watch("{w}bal", "{x}other"), "CROSSSLOT")
)");
}

TEST_F(ProxyClientsTest, BlpopTimesOutWithNoneAndReturnsAnElementPushedMeanwhile) {
  RunPython(R"(
t0 = time.monotonic()
assert r.blpop("{bp}q", timeout=1) is None
took = time.monotonic() - t0
assert 0.9 < took < 3, took
t = background(lambda: other().rpush("{bp}q", "hello"))
t0 = time.monotonic()
assert r.blpop("{bp}q", timeout=0) == (b"{bp}q", b"hello")
assert time.monotonic() - t0 >= 0.25
t.join()
t = background(lambda: other().rpush("{bp}q", "in-time"))
assert r.blpop("{bp}q", timeout=5) == (b"{bp}q", b"in-time")
t.join()
# Several keys of one slot: the first non-empty one, in the order given.
r.rpush("{bp}b", "x")
r.rpush("{bp}c", "y")
assert r.blpop(["{bp}a", "{bp}b", "{bp}c"], timeout=1) == (b"{bp}b", b"x")
r.rpush("{bp}q", "1", "2", "3")
assert r.brpop("{bp}q", timeout=1) == (b"{bp}q", b"3")
assert r.lrange("{bp}q", 0, -1) == [b"1", b"2"]
expect_error(lambda: r.blpop(["{bp}q", "{zz}q"], timeout=1), "CROSSSLOT")
)");
}

TEST_F(ProxyClientsTest, TwoHundredClientsBlockedAtOnceEachGetExactlyOneElement) {
  RunPython(R"(
N = 200
def wait_blocked(n):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if r.info("clients")["blocked_clients"] >= n:
            return
        time.sleep(0.05)
    raise AssertionError("blocked_clients stays at %d" % r.info("clients")["blocked_clients"])

# Each on its own key (the keys spread over the three masters).
results = [None] * N
def pop_own(i):
    results[i] = other().blpop("many:%d" % i, timeout=30)
threads = [threading.Thread(target=pop_own, args=(i,)) for i in range(N)]
for t in threads: t.start()
wait_blocked(N)
pusher = other()
for i in range(N):
    assert pusher.rpush("many:%d" % i, "item-%d" % i) == 1
for t in threads: t.join(30)
for i in range(N):
    assert results[i] == (b"many:%d" % i, b"item-%d" % i), (i, results[i])
assert sum(r.exists("many:%d" % i) for i in range(N)) == 0

# All on one key, fed by one RPUSH of N elements: each client gets one, no element twice.
got = [None] * N
def pop_shared(i):
    got[i] = other().blpop("{shared}q", timeout=30)
threads = [threading.Thread(target=pop_shared, args=(i,)) for i in range(N)]
for t in threads: t.start()
wait_blocked(N)
assert pusher.rpush("{shared}q", *["e%d" % i for i in range(N)]) == N
for t in threads: t.join(30)
assert all(g is not None and g[0] == b"{shared}q" for g in got), got
assert sorted(g[1] for g in got) == sorted(b"e%d" % i for i in range(N))
assert r.llen("{shared}q") == 0
assert r.info("clients")["blocked_clients"] == 0
)",
            120s);
}

TEST_F(ProxyClientsTest, XreadAndXreadgroupBlockUntilAnEntryArrives) {
  RunPython(R"(
t = background(lambda: other().xadd("{xs}s", {"f": "v1"}, id="1-1"))
t0 = time.monotonic()
res = r.xread({"{xs}s": "$"}, block=5000)
assert time.monotonic() - t0 >= 0.25
t.join()
assert res == [[b"{xs}s", [(b"1-1", {b"f": b"v1"})]]], res
t0 = time.monotonic()
assert r.xread({"{xs}s": "$"}, block=300) == []
assert 0.25 < time.monotonic() - t0 < 3
# A consumer group: the new entry is delivered to one consumer, once.
r.xgroup_create("{xs}s", "g", id="$")
t = background(lambda: other().xadd("{xs}s", {"f": "v2"}, id="2-1"))
res = r.xreadgroup("g", "c1", {"{xs}s": ">"}, block=5000)
t.join()
assert res == [[b"{xs}s", [(b"2-1", {b"f": b"v2"})]]], res
assert other().xreadgroup("g", "c2", {"{xs}s": ">"}, block=300) == []
assert r.xpending("{xs}s", "g")["pending"] == 1
assert r.xack("{xs}s", "g", "2-1") == 1
assert r.xpending("{xs}s", "g")["pending"] == 0
)");
}

TEST_F(ProxyClientsTest, BrpoplpushAndBlmoveMoveAnElementPushedMeanwhile) {
  RunPython(R"(
t = background(lambda: other().rpush("{mv}src", "a"))
assert r.brpoplpush("{mv}src", "{mv}dst", timeout=5) == b"a"
t.join()
assert r.lrange("{mv}dst", 0, -1) == [b"a"] and r.llen("{mv}src") == 0
t0 = time.monotonic()
assert r.brpoplpush("{mv}src", "{mv}dst", timeout=1) is None
assert 0.9 < time.monotonic() - t0 < 3
t = background(lambda: other().rpush("{mv}src", "b", "c"))
assert r.blmove("{mv}src", "{mv}dst", 5, "LEFT", "LEFT") == b"b"
t.join()
assert r.lrange("{mv}dst", 0, -1) == [b"b", b"a"]
assert r.lrange("{mv}src", 0, -1) == [b"c"]
assert r.blmove("{mv}dst", "{mv}src", 1, "RIGHT", "LEFT") == b"a"
assert r.lrange("{mv}src", 0, -1) == [b"a", b"c"]
assert r.blmove("{mv}empty", "{mv}src", 0.2, "LEFT", "LEFT") is None
expect_error(lambda: r.brpoplpush("{mv}src", "{zz}dst", timeout=1), "CROSSSLOT")
)");
}

TEST_F(ProxyClientsTest, BzpopminAndBzpopmaxReturnTheExtremeMembersWithScores) {
  RunPython(R"(
t = background(lambda: other().zadd("{z}s", {"m3": 3, "m1": 1.5, "m2": 2}))
assert r.bzpopmin("{z}s", timeout=5) == (b"{z}s", b"m1", 1.5)
t.join()
assert r.bzpopmin("{z}s", timeout=5) == (b"{z}s", b"m2", 2.0)
assert r.bzpopmax(["{z}empty", "{z}s"], timeout=5) == (b"{z}s", b"m3", 3.0)
t0 = time.monotonic()
assert r.bzpopmin("{z}s", timeout=0.3) is None
assert 0.25 < time.monotonic() - t0 < 3
assert r.exists("{z}s") == 0
)");
}

}  // namespace
}  // namespace rs::test
