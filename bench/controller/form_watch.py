#!/usr/bin/env python3
"""Helpers of bench/controller/run.sh form60.

  form_watch.py watch T0_MS ADMIN MASTERS HOST:PORT...
      polls redis-ctl's /v1/topology and the nodes until epoch 1 (or later) is committed with
      MASTERS shards of one replica each, every replica's link to its master is up, and (after the
      commit) every node says cluster_state:ok; prints the three times from T0_MS (wall clock, ms).
  form_watch.py steps EXPORT.jsonl
      the first plan's steps by kind, from `redis-svc export`: count, sum of the step times, the
      span from the first start to the last completion, and the most run at once.
"""
import json
import sys
import time
import urllib.request

import redis


def now_ms():
    return int(time.time() * 1000)


def watch(t0, admin, masters, addrs):
    clients = [redis.Redis(host=a.rsplit(":", 1)[0], port=int(a.rsplit(":", 1)[1]),
                           socket_timeout=2) for a in addrs]
    commit_ms = synced_ms = ok_ms = None
    deadline = time.time() + 180
    while None in (commit_ms, synced_ms, ok_ms) and time.time() < deadline:
        if commit_ms is None:
            try:
                with urllib.request.urlopen(f"http://{admin}/v1/topology", timeout=2) as r:
                    topo = json.load(r)
                shards = topo.get("shards", [])
                if (topo.get("epoch", 0) >= 1 and len(shards) == masters and
                        all(len(s["replicas"]) >= 1 for s in shards)):
                    commit_ms = now_ms() - t0
            except (OSError, ValueError):
                pass
        if synced_ms is None:
            up = 0
            for c in clients:
                try:
                    if c.info("replication").get("master_link_status") == "up":
                        up += 1
                except redis.RedisError:
                    pass
            if up >= len(addrs) - masters:
                synced_ms = now_ms() - t0
        if ok_ms is None and commit_ms is not None:
            ok = 0
            for c in clients:
                try:
                    ok += c.cluster("info").get("cluster_state") == "ok"
                except redis.RedisError:
                    pass
            if ok == len(addrs):
                ok_ms = now_ms() - t0
        time.sleep(0.02)
    if None in (commit_ms, synced_ms, ok_ms):
        sys.exit(f"bench: no formation within 180 s (committed: {commit_ms}, synced: {synced_ms}, "
                 f"cluster_state:ok: {ok_ms})")
    print(f"controller_form60_ms: {commit_ms} ms")
    print(f"controller_form60_synced_ms: {synced_ms} ms")
    print(f"controller_form60_state_ok_ms: {ok_ms} ms")


KINDS = (("set config epoch", "set-config-epoch"), ("assign slots", "assign-slots"),
         ("meet ", "meet"), ("make ", "replicate"), ("commit ", "commit"))


def steps(path):
    events = [json.loads(line) for line in open(path) if line.strip()]
    t0 = events[0]["time_ms"]  # controller-started
    plan = next(e for e in events if e["kind"] == "plan-proposed")["data"]["plan"]
    kinds = [next((k for prefix, k in KINDS if s.startswith(prefix)), "other")
             for s in plan["steps"]]
    started, completed = {}, {}
    for e in events:
        if e["kind"] in ("step-started", "step-completed") and e["data"]["plan_id"] == plan["id"]:
            (started if e["kind"] == "step-started" else completed)[e["data"]["step"]] = e["time_ms"]
    proposed = next(e for e in events if e["kind"] == "plan-proposed")["time_ms"]
    print(f"controller_form60_steps: plan {plan['id']} proposed at {proposed - t0} ms")
    for kind in dict.fromkeys(kinds):
        idx = [i for i, k in enumerate(kinds) if k == kind and i in completed]
        if not idx:
            continue
        first = min(started[i] for i in idx)
        last = max(completed[i] for i in idx)
        total = sum(completed[i] - started[i] for i in idx)
        edges = sorted([(started[i], 1) for i in idx] + [(completed[i], -1) for i in idx],
                       key=lambda x: (x[0], x[1]))
        at_once = most = 0
        for _, d in edges:
            at_once += d
            most = max(most, at_once)
        print(f"controller_form60_steps: {kind:16} n={len(idx):3}  from {first - t0:6} ms  "
              f"to {last - t0:6} ms  span {last - first:5} ms  sum {total:6} ms  "
              f"max {max(completed[i] - started[i] for i in idx):5} ms  at once <= {most}")


if __name__ == "__main__":
    if sys.argv[1] == "watch":
        watch(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5:])
    elif sys.argv[1] == "steps":
        steps(sys.argv[2])
    else:
        sys.exit(__doc__)
