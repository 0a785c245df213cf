#!/usr/bin/env python3
"""Topology watchers against a running redis-ctl: /healthz latency with no watchers and under
many long-polls plus half-open connections, the time a new epoch takes to reach every watcher,
and redis-ctl's memory per watcher. Prints `name: value unit` lines.

  watchers.py --url http://127.0.0.1:PORT [--watchers 2000] [--half-open 300] [--pid PID]
              [--token TOKEN] [--samples 200]

--pid: redis-ctl's pid, for the memory figure (skipped without it). --token: an admin token, for
the one-slot migration that makes a new epoch (the fan-out is skipped without it).
"""
import argparse
import asyncio
import json
import resource
import sys
import time
from urllib.parse import urlparse

TIMEOUT = 10.0  # A request slower than this counts as this long.


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


async def read_response(reader):
    """(status, body) of one HTTP/1.1 response with a Content-Length (or none)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def request(host, port, method, path, body=b"", headers=None):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        writer.write(f"{method} {path} HTTP/1.1\r\nHost: ctl\r\nConnection: close\r\n{extra}"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        return await read_response(reader)
    finally:
        writer.close()


async def timed(host, port, path):
    t0 = time.monotonic()
    try:
        status, _ = await asyncio.wait_for(request(host, port, "GET", path), TIMEOUT)
        if status != 200:
            return TIMEOUT * 1000
    except (asyncio.TimeoutError, OSError, asyncio.IncompleteReadError):
        return TIMEOUT * 1000
    return (time.monotonic() - t0) * 1000


def p99(samples):
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * 0.99))]


async def latency(host, port, path, samples):
    out = []
    for _ in range(samples):
        out.append(await timed(host, port, path))
        await asyncio.sleep(0.005)
    return out


class Watcher:
    def __init__(self):
        self.connected = asyncio.Event()
        self.answered_at = None
        self.epoch = None


async def watch(host, port, after, generation, w, stop, errors):
    """A proxy's long-poll: waits on a keep-alive connection until an epoch newer than `after`
    comes (a 304 polls again; a dropped connection connects again, as a proxy does)."""
    req = (f"GET /v1/topology?after={after}&generation={generation}&wait=60 HTTP/1.1\r\n"
           f"Host: ctl\r\n\r\n").encode()
    while not stop.is_set():
        writer = None
        try:
            reader, writer = await asyncio.open_connection(host, port)
            while not stop.is_set():
                writer.write(req)
                await writer.drain()
                w.connected.set()
                status, body = await read_response(reader)
                if status == 200:
                    w.answered_at = time.monotonic()
                    w.epoch = json.loads(body)["epoch"]
                    return
                if status != 304:
                    errors.append(f"status {status}")
                    break
        except (OSError, asyncio.IncompleteReadError) as e:
            errors.append(repr(e))
        finally:
            w.connected.set()
            if writer:
                writer.close()
        await asyncio.sleep(0.1)


async def half_open(host, port, stop, opened):
    """Sends a request line and nothing more; when the server gives up on it, does it again."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"GET /healthz HTTP/1.1\r\n")
            await writer.drain()
            opened.append(1)
            stopped = asyncio.ensure_future(stop.wait())
            eof = asyncio.ensure_future(reader.read())
            await asyncio.wait([stopped, eof], return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            eof.cancel()
            writer.close()
        except OSError:
            await asyncio.sleep(0.1)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--watchers", type=int, default=2000)
    ap.add_argument("--half-open", type=int, default=300)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--token")
    ap.add_argument("--samples", type=int, default=200)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    need = args.watchers + args.half_open + 64
    if hard < need:
        sys.exit(f"watchers.py: the open files limit {hard} is below the {need} needed")
    u = urlparse(args.url)
    host, port = u.hostname, u.port

    base = await latency(host, port, "/healthz", args.samples)
    print(f"healthz_p99_baseline_ms: {p99(base):.1f} ms")
    status, body = await request(host, port, "GET", "/v1/topology")
    topo = json.loads(body)
    epoch, generation = topo["epoch"], topo["generation"]

    rss0 = rss_bytes(args.pid) if args.pid else 0
    stop = asyncio.Event()
    watchers = [Watcher() for _ in range(args.watchers)]
    errors = []
    tasks = []
    for i, w in enumerate(watchers):
        tasks.append(asyncio.ensure_future(watch(host, port, epoch, generation, w, stop, errors)))
        if i % 200 == 199:
            await asyncio.sleep(0.05)  # The listen backlog.
    await asyncio.gather(*(w.connected.wait() for w in watchers))
    await asyncio.sleep(1.0)
    if args.pid:
        rss1 = rss_bytes(args.pid)
        print(f"watcher_memory_bytes: {max(0, rss1 - rss0) // max(1, args.watchers)} bytes")
    opened = []
    for _ in range(args.half_open):
        tasks.append(asyncio.ensure_future(half_open(host, port, stop, opened)))
    while len(opened) < args.half_open:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    waiting = sum(1 for w in watchers if w.answered_at is None)
    print(f"watchers_waiting: {waiting} count")
    loaded = await latency(host, port, "/healthz", args.samples)
    print(f"healthz_p99_ms: {p99(loaded):.1f} ms (under {waiting} long-polls and "
          f"{args.half_open} half-open connections)")
    print(f"healthz_p99_ratio: {p99(loaded) / max(p99(base), 0.001):.2f} x baseline")
    print("healthz_p99_target: 50 ms")
    api = await latency(host, port, "/v1/cluster", max(10, args.samples // 4))
    print(f"api_cluster_p99_ms: {p99(api):.1f} ms")

    if args.token:
        masters = [s["master"]["address"] for s in topo["shards"]]
        op = json.dumps({"kind": "migrate", "from": masters[0], "to": masters[1], "count": 1})
        t_post = time.monotonic()
        try:
            status, body = await asyncio.wait_for(
                request(host, port, "POST", "/v1/operations", op.encode(),
                        {"Authorization": f"Bearer {args.token}",
                         "Content-Type": "application/json"}), 30)
        except (asyncio.TimeoutError, OSError, asyncio.IncompleteReadError) as e:
            status, body = 0, repr(e).encode()
        if status != 202:
            print("epoch_fanout_ms: failed (the migration request was not accepted)")
            print(f"watchers.py: the migration was refused: {status} {body!r}", file=sys.stderr)
        else:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if all(w.answered_at for w in watchers):
                    break
                await asyncio.sleep(0.01)
            times = [w.answered_at for w in watchers if w.answered_at]
            got = sum(1 for w in watchers if w.epoch and w.epoch > epoch)
            print(f"watchers_answered: {got} of {args.watchers}")
            if times:
                print(f"epoch_fanout_ms: {(max(times) - min(times)) * 1000:.1f} ms "
                      f"(first to last watcher answered)")
                print("epoch_fanout_target: 1000 ms")
                print(f"epoch_request_to_all_ms: {(max(times) - t_post) * 1000:.1f} ms "
                      f"(includes planning and migrating the slot)")
    else:
        print("epoch_fanout_ms: skipped (no --token for the migration that makes an epoch)")
    print(f"watcher_errors: {len(errors)} count (dropped connections and unexpected answers)")
    if errors:
        print(f"watchers.py: first watcher error: {errors[0]}", file=sys.stderr)
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
