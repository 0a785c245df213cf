"""deploy/lain/proxy-entrypoint.sh: the redis-proxy command line it builds (dry run). The proxy
watches lainlet itself (--discovery), so the entrypoint only names things: lainlet's address, the
app and proc, the controller's instance DNS name (or REDIS_CTL_URL) and the nodes' DNS names as
fixed seeds. The real portal against a fake lainlet runs in redis_entrypoint_test.sh.

Usage: proxy_entrypoint_test.py PROXY_ENTRYPOINT
"""
import os
import subprocess
import sys

ENTRYPOINT = sys.argv[1]


def run(**env):
    full = {"PATH": os.environ["PATH"], "LAIN_APPNAME": "redis-service",
            "LAIN_PROCNAME": "portal-redis", "DEPLOYD_POD_INSTANCE_NO": "0",
            "REDIS_PROXY_ENTRYPOINT_DRY_RUN": "1"}
    full.update(env)
    out = subprocess.run(["sh", ENTRYPOINT, "--slowlog-usec", "10000"], env=full,
                         capture_output=True, text=True, timeout=30)
    return out


def flags_of(out):
    if out.returncode != 0:
        raise AssertionError("entrypoint failed: " + out.stderr)
    argv = out.stdout.splitlines()
    return dict(zip(argv[1::2], argv[2::2])), argv


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def main():
    flags, argv = flags_of(run(LAINLET_ADDR="127.0.0.1:9101", REDIS_PASSWORD="nodepw"))
    check(argv[0] == "redis-proxy", "binary: %r" % argv)
    check(flags.get("--discovery") == "lainlet:127.0.0.1:9101", "discovery: %r" % flags)
    check(flags.get("--appname") == "redis-service", "appname: %r" % flags)
    check(flags.get("--redis-proc") == "redis", "redis proc: %r" % flags)
    check(flags.get("--controller") == "http://redis-ctl-1.redis-service.lain:8080",
          "controller: %r" % flags)
    check(flags.get("--seeds") == ",".join(
        "redis-%d.redis-service.lain:6379" % n for n in range(1, 7)), "seeds: %r" % flags)
    check(flags.get("--listen") == "0.0.0.0:8889", "listen: %r" % flags)
    check(flags.get("--threads") == "2", "threads: %r" % flags)
    check(flags.get("--backend-password") == "nodepw", "backend password: %r" % flags)
    check("--requirepass" not in flags, "requirepass without REDIS_PROXY_PASSWORD")
    check(argv[-2:] == ["--slowlog-usec", "10000"], "arguments not passed on: %r" % argv)

    # Defaults and overrides.
    flags, _ = flags_of(run(REDIS_NUM_INSTANCES="3", REDIS_PROXY_PASSWORD="clientpw",
                            REDIS_CTL_URL="http://10.1.2.3:9000", REDIS_PROC="cache",
                            REDIS_PORT="7000"))
    check(flags.get("--discovery") == "lainlet:lainlet.lain:9001", "default lainlet %r" % flags)
    check(flags.get("--controller") == "http://10.1.2.3:9000", "REDIS_CTL_URL %r" % flags)
    check(flags.get("--redis-proc") == "cache", "REDIS_PROC %r" % flags)
    check(flags.get("--seeds") == ",".join(
        "cache-%d.redis-service.lain:7000" % n for n in (1, 2, 3)), "seeds %r" % flags)
    check(flags.get("--requirepass") == "clientpw", "client password %r" % flags)

    # Outside lain: a clear refusal.
    out = run(LAIN_APPNAME="")
    check(out.returncode != 0 and "LAIN_APPNAME" in out.stderr, "no LAIN_APPNAME: %r" % out.stderr)
    print("PASS")


if __name__ == "__main__":
    main()
