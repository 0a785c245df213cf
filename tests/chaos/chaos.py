#!/usr/bin/python3
"""The chaos suite: faults under load against redis-service (docs/chaos.md).

Each scenario starts a fresh Redis Cluster of redis-server nodes over 127.0.0.1/2/3 with
redis-ctl and redis-proxy following it, runs a verifying write load through the proxy, injects
its fault, heals it, waits until the controller says the cluster converged, and reads every
acknowledged write back through the proxy and straight from the nodes. One line per scenario:

  chaos: scenario=S acked=N lost=L wrong=W errors=E max_slot_outage_ms=M converge_ms=C

Run it through scripts/chaos.sh. Every process it starts is stopped by pid, also on failure and
on Ctrl-C; everything lives in a temp dir (kept, with the logs, when a scenario fails).
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

import redis
import redis.cluster
from redis.crc import key_slot

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODES_LIB = os.path.join(ROOT, "scripts", "lib", "redis_nodes.sh")
HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.1", "127.0.0.2", "127.0.0.3",
         "127.0.0.2", "127.0.0.3"]
MEMBERS = 6
TOKEN = "chaos-%d" % random.randrange(1 << 30)


class ChaosFailure(Exception):
    pass


def now_ms():
    return time.monotonic() * 1000.0


LOAD_CLOCK = [None]  # the running Load, so log lines say when they happened in its time


def log(msg):
    at = " load+%.2fs" % LOAD_CLOCK[0].elapsed_s() if LOAD_CLOCK[0] else ""
    print("  [%s%s] %s" % (time.strftime("%H:%M:%S"), at, msg), flush=True)


# ---------------------------------------------------------------------------------------------
# Processes: every child recorded by pid, stopped by pid.

class Procs:
    def __init__(self):
        self.children = {}  # name -> Popen

    def start(self, name, argv, logfile, env=None, stdin=None, stdout=None):
        out = open(logfile, "ab")
        p = subprocess.Popen(argv, stdout=stdout if stdout is not None else out, stderr=out,
                             stdin=stdin if stdin is not None else subprocess.DEVNULL, env=env,
                             start_new_session=True)
        out.close()
        self.children[name] = p
        return p

    def pid(self, name):
        return self.children[name].pid

    def alive(self, name):
        p = self.children.get(name)
        return p is not None and p.poll() is None

    def signal(self, name, sig):
        p = self.children[name]
        if p.poll() is None:
            os.kill(p.pid, sig)

    def kill9(self, name):
        p = self.children[name]
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
        p.wait()

    def stop(self, name, timeout=5.0):
        p = self.children.get(name)
        if p is None:
            return
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGCONT)
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        if p.stdin:
            try:
                p.stdin.close()
            except OSError:
                pass

    def stop_all(self):
        for name in list(self.children):
            self.stop(name)
        self.children.clear()


def free_port(host):
    """A port free on host whose cluster bus port (+10000) is free too (rs_free_port)."""
    for _ in range(1000):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        port = s.getsockname()[1]
        try:
            if port + 10000 <= 65535:
                b = socket.socket()
                b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    b.bind((host, port + 10000))
                    return port
                except OSError:
                    pass
                finally:
                    b.close()
        finally:
            s.close()
    raise ChaosFailure("no free port on " + host)


def http_json(url, method="GET", body=None, token=None, timeout=5.0):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"null")


# ---------------------------------------------------------------------------------------------
# The cluster: redis-servers, redis-ctl, redis-proxy (as scripts/demo.sh starts them).

class Cluster:
    def __init__(self, opts, workdir, procs, lainlet=False, ctl_env=None):
        self.opts = opts
        self.dir = workdir
        self.procs = procs
        self.addrs = []
        self.node_dirs = []
        self.lainlet = lainlet
        self.lainlet_port = None
        self.ctl_env = ctl_env or {}
        self.members = list(range(MEMBERS))
        for i, host in enumerate(HOSTS):
            port = free_port(host)
            self.addrs.append("%s:%d" % (host, port))
            d = os.path.join(self.dir, "node-%d" % i)
            self.node_dirs.append(d)
            subprocess.run(["bash", "-c", 'source "$0"; rs_write_node_conf "$@"', NODES_LIB, d,
                            host, str(port), str(opts.node_timeout)], check=True)
            with open(os.path.join(d, "redis.conf"), "a") as f:
                f.write("repl-diskless-sync-delay 0\n")
        self.admin = "127.0.0.1:%d" % free_port("127.0.0.1")
        self.proxy = "127.0.0.1:%d" % free_port("127.0.0.1")

    # -- nodes
    def start_node(self, i):
        self.procs.start("node-%d" % i, ["redis-server", os.path.join(self.node_dirs[i],
                                                                      "redis.conf")],
                         os.path.join(self.node_dirs[i], "redis.log"))
        host, port = self.addrs[i].split(":")
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis(host, int(port), socket_timeout=1).ping():
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise ChaosFailure("redis %s did not answer PING" % self.addrs[i])
            time.sleep(0.05)

    def node_cluster_state(self, i):
        host, port = self.addrs[i].split(":")
        try:
            text = redis.Redis(host, int(port), socket_timeout=1,
                               decode_responses=True).execute_command("CLUSTER INFO")
        except redis.RedisError:
            return None
        if isinstance(text, dict):
            return text.get("cluster_state")
        m = re.search(r"cluster_state:(\w+)", text)
        return m.group(1) if m else None

    def node_index(self, addr):
        return self.addrs.index(addr)

    # -- discovery
    def write_members(self, members):
        self.members = list(members)
        if self.lainlet:
            self.lainlet_cmd("procs " + self.procs_json(members))
            return
        tmp = os.path.join(self.dir, "members.txt.tmp")
        with open(tmp, "w") as f:
            for i in members:
                f.write("%s host-%s\n" % (self.addrs[i], HOSTS[i]))
        os.replace(tmp, os.path.join(self.dir, "members.txt"))

    def procs_json(self, members):
        pods = []
        for i in members:
            host, port = self.addrs[i].split(":")
            pods.append({"InstanceNo": i + 1, "IP": host, "Port": int(port), "ProcName": "redis"})
        return json.dumps([{"proc": pods}, {"proc": [
            {"InstanceNo": 1, "IP": "127.0.0.1", "Port": 0, "ProcName": "redis-ctl"}]}])

    def start_lainlet(self):
        p = self.procs.start("lainlet", [os.path.join(self.opts.tests_dir, "fake-lainlet")],
                             os.path.join(self.dir, "fake-lainlet.log"), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
        line = p.stdout.readline().decode().split()
        if len(line) != 2 or line[0] != "port":
            raise ChaosFailure("fake-lainlet did not say its port (%r)" % line)
        self.lainlet_port = int(line[1])

    def lainlet_cmd(self, cmd):
        p = self.procs.children["lainlet"]
        p.stdin.write((cmd + "\n").encode())
        p.stdin.flush()
        reply = p.stdout.readline().decode().strip()
        if not reply.startswith(("ok", "watches=")):
            raise ChaosFailure("fake-lainlet %r: %s" % (cmd.split()[0], reply))
        return reply

    # -- controller and proxy
    def start_ctl(self):
        argv = [os.path.join(self.opts.bin_dir, "redis-ctl"),
                "--data-dir", os.path.join(self.dir, "eventlog"),
                "--listen", self.admin, "--probe-interval-ms", "250",
                "--removal-grace-ms", "5000", "--admin-token", "chaos:" + TOKEN]
        if self.lainlet:
            argv += ["--discovery", "lainlet:127.0.0.1:%d" % self.lainlet_port,
                     "--appname", "chaos", "--lainlet-unreachable-after-ms", "3000"]
        else:
            argv += ["--discovery", "file:" + os.path.join(self.dir, "members.txt")]
        env = dict(os.environ)
        env.update(self.ctl_env)
        self.procs.start("ctl", argv, os.path.join(self.dir, "redis-ctl.log"), env=env)

    def start_proxy(self):
        self.procs.start("proxy", [os.path.join(self.opts.bin_dir, "redis-proxy"),
                                   "--listen", self.proxy, "--controller", "http://" + self.admin,
                                   "--seeds", ",".join(self.addrs[:MEMBERS])],
                         os.path.join(self.dir, "redis-proxy.log"))
        host, port = self.proxy.split(":")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(host, int(port), socket_timeout=1).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise ChaosFailure("redis-proxy %s did not answer PING" % self.proxy)

    def start(self, members=MEMBERS):
        for i in range(len(HOSTS)):
            self.start_node(i)
        if self.lainlet:
            self.start_lainlet()
        self.write_members(range(members))
        self.start_ctl()
        self.wait_converged(60, masters=members // 2, what="forming")
        # The controller says ok once its view is; a node may say cluster_state:fail (CLUSTERDOWN)
        # a moment longer. The load starts once every member agrees, so errors are the fault's.
        for i in range(members):
            wait_until(30, "%s says cluster_state:ok" % self.addrs[i],
                       lambda: self.node_cluster_state(i) == "ok")
        self.start_proxy()

    # -- the controller's view
    def cluster_info(self):
        try:
            return http_json("http://%s/v1/cluster" % self.admin, timeout=2)
        except (OSError, ValueError, urllib.error.URLError):
            return None

    def nodes(self):
        try:
            return http_json("http://%s/v1/nodes" % self.admin, timeout=2)["nodes"]
        except (OSError, ValueError, urllib.error.URLError):
            return None

    def masters(self):
        """Addresses of masters holding slots, as the controller sees them."""
        out = []
        for n in (self.nodes() or []):
            if n.get("role") == "master" and n.get("slot_count", 0) > 0:
                out.append(n["address"])
        return sorted(out)

    def replica_of(self, master):
        for n in (self.nodes() or []):
            if n.get("role") in ("replica", "slave") and n.get("master") == master:
                return n["address"]
        return None

    def role_of(self, addr):
        for n in (self.nodes() or []):
            if n.get("address") == addr:
                return n.get("role")
        return None

    def converged(self, masters=None):
        c = self.cluster_info()
        if not c or c.get("state") != "ok" or c.get("slots_covered") != 16384:
            return False
        if c.get("plan"):
            return False
        if masters is not None and c.get("masters") != masters:
            return False
        return True

    def wait_converged(self, seconds, masters=None, what="converging"):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.converged(masters):
                return True
            if not self.procs.alive("ctl"):
                raise ChaosFailure("redis-ctl exited while %s" % what)
            time.sleep(0.1)
        raise ChaosFailure("not converged after %d s while %s (last /v1/cluster: %s)" %
                           (seconds, what, json.dumps(self.cluster_info())))

    def direct_client(self):
        nodes = [redis.cluster.ClusterNode(a.split(":")[0], int(a.split(":")[1]))
                 for a in self.addrs]
        return redis.cluster.RedisCluster(startup_nodes=nodes, socket_timeout=5,
                                          decode_responses=True)


# ---------------------------------------------------------------------------------------------
# The load: pipelined SETs of increasing values, every acknowledged write recorded.

def slot_keys(count):
    """`count` keys whose slots are spread evenly over all 16384."""
    step = 16384 // count
    want = {s * step for s in range(count)}
    keys = {}
    i = 0
    while len(keys) < count:
        k = "chaos:%d" % i
        s = key_slot(k.encode())
        if s in want and s not in keys:
            keys[s] = k
        i += 1
    return [(s, keys[s]) for s in sorted(keys)]


def error_kind(e):
    text = str(e)
    if isinstance(e, (redis.ConnectionError, redis.TimeoutError, OSError)):
        return "connection"
    first = text.split(" ", 1)[0] if text else type(e).__name__
    if first in ("ERR",) or first.islower():
        text = re.sub(r"\d+\.\d+\.\d+\.\d+:\d+", "ADDR", text)
        text = re.sub(r"\d+", "N", text)
        return text[:100]
    return first


class Load:
    def __init__(self, proxy, keys, batch, wait_mode):
        self.host, port = proxy.split(":")
        self.port = int(port)
        self.keys = keys
        self.batch = batch
        self.wait_mode = wait_mode
        # Value n goes to key (n - 1) % len(keys): batches take the keys round-robin and never
        # skip one, so a value read back is one that was sent to that key iff it fits.
        self.seq = 0
        self.index = {k: i for i, (_, k) in enumerate(keys)}
        self.acked = {}      # key -> last acknowledged value
        self.confirmed = {}  # key -> last value WAIT confirmed (--wait)
        self.errors = {}     # kind -> count
        self.wait_zero = 0   # WAIT replies of 0 (writes acknowledged, not confirmed)
        self.start_ms = now_ms()
        # A slot's window starts at its first successful write (connections are set up during the
        # first sweep); a slot never written counts from the start.
        self.last_ok = {s: None for s, _ in keys}
        self.error_times = {}  # kind -> [first, last] seconds since the load started
        self.max_gap = 0.0
        self.max_gap_slot = None
        self.max_gap_end = None
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.lock = threading.Lock()
        self.acked_count = 0

    def start(self):
        self.thread.start()

    def stop(self):
        self.stop_flag.set()
        self.thread.join()
        end = now_ms()
        for s, last in self.last_ok.items():  # a slot that never came back counts to the end.
            last = self.start_ms if last is None else last
            if end - last > self.max_gap:
                self.max_gap, self.max_gap_slot = end - last, s

    def elapsed_s(self):
        return (now_ms() - self.start_ms) / 1000.0

    def count_error(self, kind, n=1):
        self.errors[kind] = self.errors.get(kind, 0) + n
        t = round(self.elapsed_s(), 2)
        self.error_times.setdefault(kind, [t, t])[1] = t

    def run(self):
        client = None
        pos = 0
        while not self.stop_flag.is_set():
            if client is None:
                client = redis.Redis(self.host, self.port, socket_timeout=5,
                                     socket_connect_timeout=1, decode_responses=True)
            chunk = [self.keys[(pos + j) % len(self.keys)] for j in range(self.batch)]
            pos = (pos + self.batch) % len(self.keys)
            values = []
            pipe = client.pipeline(transaction=False)
            for _, k in chunk:
                self.seq += 1
                v = str(self.seq)
                values.append(v)
                pipe.set(k, v)
            if self.wait_mode:
                pipe.execute_command("WAIT", 1, 100)
            try:
                replies = pipe.execute(raise_on_error=False)
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                self.count_error("connection", len(chunk))
                try:
                    client.close()
                except Exception:
                    pass
                client = None
                time.sleep(0.05)
                continue
            t = now_ms()
            ok_keys = []
            for (s, k), v, r in zip(chunk, values, replies):
                if isinstance(r, Exception):
                    self.count_error(error_kind(r))
                    continue
                self.acked[k] = v
                ok_keys.append((k, v))
                if self.last_ok[s] is not None and t - self.last_ok[s] > self.max_gap:
                    self.max_gap, self.max_gap_slot = t - self.last_ok[s], s
                    self.max_gap_end = round(self.elapsed_s(), 2)
                self.last_ok[s] = t
            self.acked_count += len(ok_keys)
            if self.wait_mode:
                w = replies[-1]
                if isinstance(w, Exception):
                    self.count_error("WAIT " + error_kind(w))
                elif int(w) >= 1:
                    for k, v in ok_keys:
                        self.confirmed[k] = v
                else:
                    self.wait_zero += 1
            if len(ok_keys) < len(chunk):
                time.sleep(0.01)  # errors: do not spin

    def was_sent(self, key, value):
        if not value.isdigit():
            return False
        n = int(value)
        return 1 <= n <= self.seq and (n - 1) % len(self.keys) == self.index[key]

    def verify(self, cluster):
        """Reads back every acknowledged key through the proxy and from the nodes.
        Returns (lost, wrong, detail)."""
        expect = self.confirmed if self.wait_mode else self.acked
        keys = sorted(self.acked)
        proxy = redis.Redis(self.host, self.port, socket_timeout=10, decode_responses=True)
        via_proxy = read_all(lambda: proxy.pipeline(transaction=False), keys)
        direct = cluster.direct_client()
        try:
            via_nodes = read_all(lambda: direct.pipeline(), keys)
        finally:
            direct.close()
        lost, wrong, unread = set(), set(), set()
        acked_lost = set()
        mismatch = 0
        for path in (via_proxy, via_nodes):
            for k in keys:
                got = path.get(k, KeyError)
                if got is KeyError:
                    unread.add(k)
                    continue
                if got is not None and not self.was_sent(k, got):
                    wrong.add(k)
                    continue
                if got is None or int(got) < int(self.acked[k]):
                    acked_lost.add(k)
                if k in expect and (got is None or int(got) < int(expect[k])):
                    lost.add(k)
        for k in keys:
            if via_proxy.get(k, KeyError) != via_nodes.get(k, KeyError):
                mismatch += 1
        detail = {"acked_lost": len(acked_lost), "unreadable": len(unread),
                  "proxy_vs_nodes_mismatch": mismatch,
                  "examples_lost": sorted(lost)[:3], "examples_wrong": sorted(wrong)[:3]}
        if self.wait_mode:
            detail["confirmed"] = len(self.confirmed)
            detail["wait_replies_0"] = self.wait_zero
        return len(lost), len(wrong), len(unread), detail


def read_all(make_pipe, keys, chunk=500):
    out = {}
    for i in range(0, len(keys), chunk):
        part = keys[i:i + chunk]
        for attempt in range(5):
            try:
                pipe = make_pipe()
                for k in part:
                    pipe.get(k)
                replies = pipe.execute(raise_on_error=False)
                for k, r in zip(part, replies):
                    if not isinstance(r, Exception):
                        out[k] = r
                if all(k in out for k in part):
                    break
            except redis.RedisError:
                pass
            time.sleep(0.5)
    return out


# ---------------------------------------------------------------------------------------------
# Scenarios. Each gets a started cluster and a running load; it injects its fault, heals it and
# returns the time of the heal (ms, for converge_ms) and the masters it expects in the end.

def pick_master(c):
    masters = c.masters()
    if not masters:
        raise ChaosFailure("the controller lists no master")
    return random.choice(masters)


def wait_until(seconds, what, cond, step=0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    raise ChaosFailure("%s: not within %d s" % (what, seconds))


def sc_master_kill(c, opts, st, down_s=None):
    m = pick_master(c)
    rep = c.replica_of(m)
    i = c.node_index(m)
    log("kill -9 master %s (replica %s)" % (m, rep))
    c.procs.kill9("node-%d" % i)
    wait_until(30, "replica %s promoted" % rep, lambda: c.role_of(rep) == "master")
    log("replica %s promoted" % rep)
    time.sleep(opts.fault_s if down_s is None else down_s)
    log("restarting %s" % m)
    heal = now_ms()
    c.start_node(i)
    st["expect_replica"] = m
    return heal, 3


def sc_replica_kill(c, opts, st):
    m = pick_master(c)
    rep = c.replica_of(m)
    if rep is None:
        raise ChaosFailure("master %s has no replica in the controller's view" % m)
    before = c.masters()
    log("kill -9 replica %s of %s" % (rep, m))
    c.procs.kill9("node-%d" % c.node_index(rep))
    time.sleep(opts.fault_s + 2)
    heal = now_ms()
    log("restarting %s" % rep)
    c.start_node(c.node_index(rep))
    st["expect_masters"] = before
    st["expect_replica"] = rep
    return heal, 3


def stop_master(c, opts, st, seconds, expect_failover):
    m = pick_master(c)
    rep = c.replica_of(m)
    before = c.masters()
    log("SIGSTOP master %s for %.1f s (node-timeout %d ms)" % (m, seconds, opts.node_timeout))
    c.procs.signal("node-%d" % c.node_index(m), signal.SIGSTOP)
    time.sleep(seconds)
    heal = now_ms()
    c.procs.signal("node-%d" % c.node_index(m), signal.SIGCONT)
    log("SIGCONT %s" % m)
    if expect_failover:
        st["expect_replica"] = m
        st["expect_master"] = rep
    else:
        st["expect_masters"] = before
    return heal, 3


def sc_master_stop_short(c, opts, st):
    return stop_master(c, opts, st, opts.node_timeout / 1000.0 * 0.6, False)


def sc_master_stop_long(c, opts, st):
    return stop_master(c, opts, st, opts.node_timeout / 1000.0 * 2, True)


def kill_ctl_during_plan(c, opts, what):
    wait_until(30, "a plan for the %s" % what, lambda: (c.cluster_info() or {}).get("plan"),
               step=0.05)
    delay = random.uniform(0, opts.ctl_kill_window_s)
    time.sleep(delay)
    plan = (c.cluster_info() or {}).get("plan")
    log("kill -9 redis-ctl %.2f s into the %s (plan in flight: %s)" %
        (delay, what, "yes" if plan else "no, it ended"))
    c.procs.kill9("ctl")
    time.sleep(1)
    heal = now_ms()
    log("restarting redis-ctl")
    c.start_ctl()
    return heal


def sc_ctl_kill_scaleout(c, opts, st):
    log("scale-out: members 6 -> 8")
    c.write_members(range(8))
    return kill_ctl_during_plan(c, opts, "scale-out"), 4


def sc_ctl_kill_drain(c, opts, st):
    log("scale-out first: members 6 -> 8")
    c.write_members(range(8))
    c.wait_converged(120, masters=4, what="scaling out before the drain")
    m = pick_master(c)
    keep = [i for i in range(8) if c.addrs[i] != m]
    log("drain: %s leaves the members (removal grace 5 s)" % m)
    c.write_members(keep)
    st["expect_gone"] = m
    return kill_ctl_during_plan(c, opts, "drain of %s" % m), 3


def migrate(c, src, dst, count):
    """A migration through the admin API, waited for until the cluster converged again."""
    r = http_json("http://%s/v1/operations" % c.admin, "POST",
                  {"kind": "migrate", "from": src, "to": dst, "count": count}, token=TOKEN)
    rid = r["id"]

    def planned():
        r = http_json("http://%s/v1/operations/%s" % (c.admin, rid))
        if r.get("state") == "rejected":
            raise ChaosFailure("migration rejected: %s" % r.get("reason"))
        return r.get("state") in ("planned", "done")
    wait_until(60, "a plan for migration request %s" % rid, planned)
    c.wait_converged(60, masters=3, what="the migration")


def sc_ctl_dataloss(c, opts, st):
    # Topology epochs first, so the proxy has seen more of them than a controller starting over.
    masters = c.masters()
    for n in range(4):
        migrate(c, masters[n % 2], masters[(n + 1) % 2], 10)
    epoch = (c.cluster_info() or {}).get("epoch")
    log("stopping redis-ctl at epoch %s, deleting its data dir, restarting it (same proxy)" % epoch)
    c.procs.stop("ctl")
    shutil.rmtree(os.path.join(c.dir, "eventlog"))
    c.start_ctl()
    c.wait_converged(60, masters=3, what="adopting the cluster after the data loss")
    log("adopted, epoch now %s" % (c.cluster_info() or {}).get("epoch"))
    masters = c.masters()
    log("migration of 100 slots %s -> %s through the admin API" % (masters[0], masters[1]))
    migrate(c, masters[0], masters[1], 100)
    log("migration done, epoch %s" % (c.cluster_info() or {}).get("epoch"))
    # The dead master stays down long enough that "writable again only when it came back" shows.
    return sc_master_kill(c, opts, st, down_s=opts.fault_s + 10)


def sc_proxy_kill(c, opts, st):
    log("kill -9 redis-proxy")
    c.procs.kill9("proxy")
    time.sleep(0.5)
    heal = now_ms()
    log("restarting redis-proxy")
    c.start_proxy()
    return heal, 3


def sc_lainlet_faults(c, opts, st):
    members = list(c.members)
    st["expect_masters"] = c.masters()
    watch = LainletWatch(c)
    watch.start()
    try:
        log("lainlet: empty list for 3 s")
        c.lainlet_cmd("procs []")
        time.sleep(3)
        c.write_members(members)
        time.sleep(2)
        log("lainlet: 500s for 4 s")
        c.lainlet_cmd("fail 500 etcd unreachable")
        time.sleep(4)
        c.lainlet_cmd("clear-failure")
        time.sleep(2)
        log("lainlet: restarted (watches start again at id 1)")
        c.lainlet_cmd("restart")
        time.sleep(3)
        log("lainlet: watch silent (no bytes, no heartbeats) for 8 s")
        c.lainlet_cmd("stall 1")
        time.sleep(8)
        c.lainlet_cmd("stall 0")
        time.sleep(2)
        log("lainlet: %s" % c.lainlet_cmd("stats"))
    finally:
        watch.stop()
    if watch.bad:
        raise ChaosFailure("during the lainlet faults: %s" % watch.bad)
    return now_ms(), 3


class LainletWatch:
    """Polls the controller during discovery faults: no plan may run (the members the controller
    records may shrink for a moment; only a drain or any other change of the cluster is wrong)."""

    def __init__(self, c):
        self.c = c
        self.bad = None
        self.min_members = MEMBERS
        self.flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.flag.set()
        self.thread.join()
        log("members the controller recorded: at least %d of %d" % (self.min_members, MEMBERS))

    def plan_reason(self, plan_id):
        try:
            p = http_json("http://%s/v1/plans/%s" % (self.c.admin, plan_id))
            return str(p.get("reason") or p)[:300]
        except (OSError, ValueError, urllib.error.URLError):
            return "?"

    def run(self):
        while not self.flag.is_set():
            info = self.c.cluster_info()
            if info and info.get("members") is not None:
                self.min_members = min(self.min_members, info["members"])
            if info and info.get("plan") and not self.bad:
                self.bad = "plan %s ran (%s)" % (info["plan"], self.plan_reason(info["plan"]))
            time.sleep(0.1)


def sc_members_flap(c, opts, st):
    members = list(c.members)
    st["expect_masters"] = c.masters()
    watch = LainletWatch(c)
    watch.start()
    try:
        for n in range(opts.flaps):
            gone = random.choice(members)
            log("members flap %d: %s out for 1.2 s" % (n + 1, c.addrs[gone]))
            c.write_members([i for i in members if i != gone])
            time.sleep(1.2)
            c.write_members(members)
            time.sleep(2.0)
        time.sleep(6)  # past the removal grace: a drain, if one was coming, has started
    finally:
        watch.stop()
    if watch.bad:
        raise ChaosFailure("while the members file flapped: %s" % watch.bad)
    return now_ms(), 3


def sc_slow_log(c, opts, st):
    log("redis-ctl runs with RS_TEST_LOG_SYNC_DELAY_MS=%s" %
        c.ctl_env.get("RS_TEST_LOG_SYNC_DELAY_MS"))
    return sc_master_kill(c, opts, st)


SCENARIOS = {
    "master-kill": sc_master_kill,
    "replica-kill": sc_replica_kill,
    "master-stop-short": sc_master_stop_short,
    "master-stop-long": sc_master_stop_long,
    "ctl-kill-scaleout": sc_ctl_kill_scaleout,
    "ctl-kill-drain": sc_ctl_kill_drain,
    "ctl-dataloss": sc_ctl_dataloss,
    "proxy-kill": sc_proxy_kill,
    "lainlet-faults": sc_lainlet_faults,
    "members-flap": sc_members_flap,
    "slow-log": sc_slow_log,
}
SHORT = ["master-kill", "proxy-kill", "members-flap", "ctl-dataloss"]
# Longest window a slot may go without a successful write, per scenario (ms). Beyond it the
# scenario fails: clients waited longer than the fault explains. A killed master is failed over
# by the controller (refused connections, 500 ms grace), in about 1 s; a stalled master only after
# Redis's node-timeout (5 s) flags it; a short stall lasts 3 s. The bounds are loose (machines are
# noisy) but tell these apart from "writable only once the dead node came back" (12 s and more).
OUTAGE_BOUND_MS = {
    "master-stop-short": 8000,
    "master-stop-long": 15000,
    "ctl-kill-scaleout": 8000,
    "ctl-kill-drain": 8000,
}
DEFAULT_OUTAGE_BOUND_MS = 5000
# Plain writes (no WAIT) acknowledged and then lost in Redis's asynchronous replication window
# at a failover: reported; the scenario fails only above this many.
PLAIN_LOSS_BOUND = 200


def run_scenario(name, opts, base):
    workdir = tempfile.mkdtemp(prefix="chaos-%s-" % name, dir=base)
    procs = Procs()
    ctl_env = {}
    if name == "slow-log":
        ctl_env["RS_TEST_LOG_SYNC_DELAY_MS"] = str(opts.slow_log_ms)
    c = Cluster(opts, workdir, procs, lainlet=(name == "lainlet-faults"), ctl_env=ctl_env)
    load = None
    result = None
    failures = []
    st = {}
    converge_ms = -1
    t0 = time.monotonic()
    try:
        log("%s: starting 8 redis-servers, redis-ctl, redis-proxy in %s" % (name, workdir))
        c.start()
        load = Load(c.proxy, opts.key_list, opts.batch, opts.wait)
        load.start()
        LOAD_CLOCK[0] = load
        time.sleep(opts.warmup_s)
        if load.acked_count == 0:
            raise ChaosFailure("no write acknowledged through the proxy before the fault")
        log("load running: %d writes acknowledged, errors %s" % (load.acked_count, load.errors))
        heal, want_masters = SCENARIOS[name](c, opts, st)
        try:
            c.wait_converged(opts.converge_s, masters=want_masters, what="healing")
            converge_ms = int(now_ms() - heal)
        except ChaosFailure as e:
            failures.append(str(e))
        log("converged in %d ms; load continues %.0f s" % (converge_ms, opts.after_s))
        time.sleep(opts.after_s)
        load.stop()
        failures += check_state(c, st)
        lost, wrong, unread, detail = load.verify(c)
        errors = sum(load.errors.values())
        print("chaos: scenario=%s acked=%d lost=%d wrong=%d errors=%d max_slot_outage_ms=%d "
              "converge_ms=%d" % (name + ("+wait" if opts.wait else ""), load.acked_count, lost,
                                  wrong, errors, load.max_gap, converge_ms), flush=True)
        log("detail: %s; the longest outage: slot %s, ended at load+%ss; errors by kind "
            "(count, first and last second of the load) %s" %
            (json.dumps(detail), load.max_gap_slot, load.max_gap_end,
             json.dumps({k: [n] + load.error_times.get(k, []) for k, n in load.errors.items()})))
        result = dict(acked=load.acked_count, lost=lost, wrong=wrong, errors=errors,
                      outage=int(load.max_gap), converge=converge_ms, detail=detail)
        if wrong:
            failures.append("%d keys hold a value never written" % wrong)
        if unread:
            failures.append("%d acknowledged keys could not be read back" % unread)
        if opts.wait and lost:
            failures.append("%d writes WAIT confirmed were lost" % lost)
        if not opts.wait and lost > PLAIN_LOSS_BOUND:
            failures.append("%d acknowledged writes lost (bound %d)" % (lost, PLAIN_LOSS_BOUND))
        bound = OUTAGE_BOUND_MS.get(name, DEFAULT_OUTAGE_BOUND_MS)
        if load.max_gap > bound:
            failures.append("a slot took no write for %d ms (bound %d ms)" % (load.max_gap, bound))
    except ChaosFailure as e:
        failures.append(str(e))
    except Exception:  # a bug here, or an answer of an unexpected shape: fail, still clean up.
        failures.append("unexpected: " + traceback.format_exc())
    finally:
        LOAD_CLOCK[0] = None
        if load is not None and not load.stop_flag.is_set():
            load.stop()
        for n in ("proxy", "ctl"):
            if n in procs.children and procs.children[n].poll() not in (None, 0, -15):
                failures.append("%s exited with status %s" % (n, procs.children[n].returncode))
        procs.stop_all()
    if result is None:
        print("chaos: scenario=%s acked=%d lost=-1 wrong=-1 errors=-1 max_slot_outage_ms=-1 "
              "converge_ms=-1" % (name + ("+wait" if opts.wait else ""),
                                  load.acked_count if load else 0), flush=True)
    secs = time.monotonic() - t0
    if failures:
        for f in failures:
            print("chaos: FAILED %s: %s" % (name, f), flush=True)
        print("chaos: logs of %s in %s (redis-ctl.log, redis-proxy.log, node-*/redis.log)" %
              (name, workdir), flush=True)
    else:
        log("%s passed in %.0f s" % (name, secs))
        if not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return not failures, result


def check_state(c, st):
    bad = []
    if "expect_replica" in st:
        a = st["expect_replica"]
        try:
            wait_until(30, "%s back as a replica" % a,
                       lambda: c.role_of(a) in ("replica", "slave"))
        except ChaosFailure as e:
            bad.append("%s (role now %s)" % (e, c.role_of(a)))
    if "expect_master" in st and st["expect_master"] and c.role_of(st["expect_master"]) != "master":
        bad.append("%s is not master (a failover was expected)" % st["expect_master"])
    if "expect_masters" in st and c.masters() != st["expect_masters"]:
        bad.append("masters changed: %s -> %s" % (st["expect_masters"], c.masters()))
    if "expect_gone" in st:
        for n in (c.nodes() or []):
            if n.get("address") == st["expect_gone"] and n.get("slot_count", 0) > 0:
                bad.append("%s still holds %d slots" % (n["address"], n["slot_count"]))
    info = c.cluster_info() or {}
    if info.get("open_slots"):
        bad.append("open slots left: %s" % info["open_slots"])
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenarios", nargs="*")
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--wait", action="store_true")
    ap.add_argument("--long", action="store_true", help="longer loads (bench)")
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--tests-dir", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs of passed scenarios")
    ap.add_argument("--node-timeout", type=int, default=5000)
    ap.add_argument("--slow-log-ms", type=int, default=100)
    ap.add_argument("--list", action="store_true")
    opts = ap.parse_args()
    if opts.list:
        print("\n".join(SCENARIOS))
        return 0
    names = opts.scenarios or (SHORT if opts.short else list(SCENARIOS))
    for n in names:
        if n not in SCENARIOS:
            print("chaos: unknown scenario '%s'; known: %s" % (n, " ".join(SCENARIOS)),
                  file=sys.stderr)
            return 2
    # With --wait every batch ends with WAIT 1 100, which takes its full 100 ms while a master has
    # no replica: bigger batches keep a sweep over the keys (the outage measure's floor) short.
    opts.batch = 400 if opts.wait else 100
    opts.key_list = slot_keys(4096)
    opts.warmup_s = 2 if opts.short else (10 if opts.long else 4)
    opts.after_s = 2 if opts.short else (10 if opts.long else 4)
    opts.fault_s = 2 if opts.short else (5 if opts.long else 3)
    opts.converge_s = 90
    opts.flaps = 3 if opts.short else 6
    opts.ctl_kill_window_s = 2.5
    base = tempfile.mkdtemp(prefix="chaos-")
    ok_all = True
    t0 = time.monotonic()

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    try:
        for n in names:
            ok, _ = run_scenario(n, opts, base)
            ok_all = ok_all and ok
    except KeyboardInterrupt:
        print("chaos: interrupted; every process started was stopped", file=sys.stderr)
        return 130
    finally:
        if not os.listdir(base):
            os.rmdir(base)
    print("chaos: %s, %d scenario(s) in %.0f s" % ("ok" if ok_all else "FAILED", len(names),
                                                   time.monotonic() - t0), flush=True)
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
