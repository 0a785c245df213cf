"""Helpers for bench/scale/run.sh: reads Redis nodes and redis-ctl's admin API.

  scale_helper.py formed URL N ADDR...     exit 0 when epoch >= 1 has N/2 masters and N/2 replicas
                                           and every replica's link to its master is up
  scale_helper.py cmdstats ADDR...         JSON: calls and usec per probe command, summed
  scale_helper.py cmddelta BEFORE AFTER SECONDS NODES   `name: value unit` lines of the delta
  scale_helper.py events URL AFTER_SEQ SECONDS           events after AFTER_SEQ by kind; details
  scale_helper.py seq URL                  the log's last seq
  scale_helper.py quiet URL SECONDS LIMIT  waits until no node-health/node-observed event was
                                           recorded for SECONDS (at most LIMIT s), prints the
                                           last one's time (ms since the epoch); exit 1 if not
  scale_helper.py metric URL NAME          the value of one /metrics line (0 if absent)
  scale_helper.py count URL KIND           how many events of KIND the log holds (up to 1000)
  scale_helper.py addrs BASE N HOST...     N addresses host:port, hosts in turn, ports from BASE
                                           up whose cluster bus port (+10000) is free too (bus
                                           ports may fall in the ephemeral range, taken by a client)
"""
import json
import socket
import sys
import urllib.request

import redis

PROBE_COMMANDS = ["ping", "cluster|nodes", "cluster|info", "role", "info"]


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def client(addr):
    host, port = addr.rsplit(":", 1)
    return redis.Redis(host=host, port=int(port), socket_timeout=5, decode_responses=True)


def formed(url, n, addrs):
    try:
        topo = json.loads(get(url + "/v1/topology"))
    except Exception:
        return 1
    shards = topo.get("shards", [])
    replicas = sum(len(s.get("replicas", [])) for s in shards)
    if topo.get("epoch", 0) < 1 or len(shards) != n // 2 or replicas != n - n // 2:
        return 1
    up = 0
    for a in addrs:
        info = client(a).info("replication")
        if info.get("role") == "slave" and info.get("master_link_status") == "up":
            up += 1
    return 0 if up == n - n // 2 else 1


def cmdstats(addrs):
    total = {c: {"calls": 0, "usec": 0} for c in PROBE_COMMANDS}
    for a in addrs:
        stats = client(a).info("commandstats")
        for c in PROBE_COMMANDS:
            s = stats.get("cmdstat_" + c)
            if s:
                total[c]["calls"] += int(s["calls"])
                total[c]["usec"] += int(s["usec"])
    print(json.dumps(total))


def cmddelta(before, after, seconds, nodes, prefix):
    b, a = json.load(open(before)), json.load(open(after))
    calls = usec = 0
    for c in PROBE_COMMANDS:
        dc = a[c]["calls"] - b[c]["calls"]
        du = a[c]["usec"] - b[c]["usec"]
        if c == "info":  # The INFO commandstats of the first snapshot itself.
            dc -= nodes
        calls += dc
        usec += du
        name = c.replace("|", "_")
        print(f"{prefix}_probe_{name}_per_s: {dc / seconds:.1f} calls/s", file=sys.stderr)
        print(f"{prefix}_probe_{name}_usec_per_s: {du / seconds:.0f} us/s", file=sys.stderr)
    print(f"{prefix}_probe_calls_per_node_s: {calls / seconds / nodes:.2f} calls/s")
    print(f"{prefix}_probe_usec_per_node_s: {usec / seconds / nodes:.0f} us/s")


def events(url, after, seconds, prefix, detail_path):
    kinds = {}
    out = []
    while True:
        page = json.loads(get(f"{url}/v1/events?after={after}&limit=1000"))
        evs = page["events"]
        if not evs:
            break
        for e in evs:
            kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
            out.append(e)
        after = evs[-1]["seq"]
    with open(detail_path, "w") as f:
        for e in out:
            f.write(json.dumps(e) + "\n")
    total = sum(kinds.values())
    print(f"{prefix}_idle_events_per_min: {total * 60 / seconds:.1f} events/min")
    for k, v in sorted(kinds.items()):
        print(f"{prefix}_idle_events_{k.replace('-', '_')}: {v} events", file=sys.stderr)


def free(host, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def addrs(base, n, hosts):
    port = base
    for i in range(n):
        host = hosts[i % len(hosts)]
        while not (free(host, port) and free(host, port + 10000)):
            port += 1
        print(f"{host}:{port}")
        port += 1


def quiet(url, seconds, limit):
    import time
    start = time.monotonic()
    last, since = None, time.monotonic()
    while time.monotonic() - start < limit:
        page = json.loads(get(f"{url}/v1/events?kind=node-health,node-observed&limit=1"))
        seq = page["events"][0]["seq"] if page["events"] else 0
        if seq != last:
            last, since = seq, time.monotonic()
        elif time.monotonic() - since >= seconds:
            print(page["events"][0]["time_ms"] if page["events"] else 0)
            return 0
        time.sleep(0.5)
    return 1


def metric(url, name):
    for line in get(url + "/metrics").splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            print(line.rsplit(" ", 1)[1])
            return
    print(0)


def main():
    cmd = sys.argv[1]
    if cmd == "formed":
        sys.exit(formed(sys.argv[2], int(sys.argv[3]), sys.argv[4:]))
    if cmd == "cmdstats":
        cmdstats(sys.argv[2:])
    elif cmd == "cmddelta":
        cmddelta(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    elif cmd == "events":
        events(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6])
    elif cmd == "seq":
        print(json.loads(get(sys.argv[2] + "/v1/cluster"))["last_seq"])
    elif cmd == "quiet":
        sys.exit(quiet(sys.argv[2], float(sys.argv[3]), float(sys.argv[4])))
    elif cmd == "addrs":
        addrs(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
    elif cmd == "count":
        page = json.loads(get(f"{sys.argv[2]}/v1/events?kind={sys.argv[3]}&limit=1000"))
        print(len(page["events"]))
    elif cmd == "metric":
        metric(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
