"""deploy/lain/proxy-entrypoint.sh against a fake lainlet on loopback: the redis-proxy command line
it builds from a procwatcher answer, and its fallback to lain DNS names when lainlet has nothing.

Usage: proxy_entrypoint_test.py PROXY_ENTRYPOINT
"""
import http.server
import json
import os
import subprocess
import sys
import threading

ENTRYPOINT = sys.argv[1]

# Groups in the order lainlet may give them (random), one pod not yet inspected (no IP).
PROCWATCHER = [
    {"proc": [{"InstanceNo": 1, "IP": "172.20.0.12", "Port": 8080, "ProcName": "redis-ctl"}]},
    {"proc": [
        {"InstanceNo": 2, "IP": "172.20.1.7", "Port": 6379, "ProcName": "redis"},
        {"InstanceNo": 1, "IP": "172.20.0.11", "Port": 6379, "ProcName": "redis"},
        {"InstanceNo": 3, "IP": "", "Port": 6379, "ProcName": "redis"},
    ]},
]


class FakeLainlet(http.server.BaseHTTPRequestHandler):
    body = PROCWATCHER
    paths = []

    def do_GET(self):
        FakeLainlet.paths.append(self.path)
        data = json.dumps(FakeLainlet.body).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def run(lainlet, **env):
    full = {"PATH": os.environ["PATH"], "LAIN_APPNAME": "redis-service",
            "LAIN_PROCNAME": "portal-redis", "DEPLOYD_POD_INSTANCE_NO": "0",
            "LAINLET_ADDR": lainlet, "REDIS_PROXY_ENTRYPOINT_DRY_RUN": "1",
            "REDIS_PROXY_LAINLET_TRIES": "1"}
    full.update(env)
    out = subprocess.run(["sh", ENTRYPOINT, "--slowlog-usec", "10000"], env=full,
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError("entrypoint failed: " + out.stderr)
    argv = out.stdout.splitlines()
    return dict(zip(argv[1::2], argv[2::2])), argv


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def main():
    server = http.server.HTTPServer(("127.0.0.1", 0), FakeLainlet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lainlet = "127.0.0.1:%d" % server.server_port
    try:
        flags, argv = run(lainlet, REDIS_PASSWORD="nodepw")
        check(argv[0] == "redis-proxy", "binary: %r" % argv)
        check(FakeLainlet.paths and FakeLainlet.paths[0].startswith(
            "/v2/procwatcher/?appname=redis-service"), "lainlet path %r" % FakeLainlet.paths)
        check(flags.get("--controller") == "http://172.20.0.12:8080", "controller: %r" % flags)
        check(flags.get("--seeds") == "172.20.0.11:6379,172.20.1.7:6379", "seeds: %r" % flags)
        check(flags.get("--listen") == "0.0.0.0:8889", "listen: %r" % flags)
        check(flags.get("--backend-password") == "nodepw", "backend password: %r" % flags)
        check("--requirepass" not in flags, "requirepass without REDIS_PROXY_PASSWORD")
        check(argv[-2:] == ["--slowlog-usec", "10000"], "arguments not passed on: %r" % argv)

        # lainlet right after its restart answers []: fall back to the instance DNS names.
        FakeLainlet.body = []
        flags, _ = run(lainlet, REDIS_NUM_INSTANCES="3", REDIS_PROXY_PASSWORD="clientpw")
        check(flags.get("--seeds") == ",".join(
            "redis-%d.redis-service.lain:6379" % n for n in (1, 2, 3)), "fallback seeds %r" % flags)
        check(flags.get("--controller") == "http://redis-ctl-1.redis-service.lain:8080",
              "fallback controller %r" % flags)
        check(flags.get("--requirepass") == "clientpw", "client password %r" % flags)
    finally:
        server.shutdown()
        server.server_close()

    # lainlet unreachable.
    flags, _ = run("127.0.0.1:%d" % server.server_port)
    check(flags.get("--seeds", "").startswith("redis-1.redis-service.lain:6379,"), "no lainlet")
    print("PASS")


if __name__ == "__main__":
    main()
