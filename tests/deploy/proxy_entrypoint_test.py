"""deploy/lain/proxy-entrypoint.sh: the redis-proxy command line it builds (dry run), and the
passwords it hands over in the environment (run for real with a stand-in redis-proxy). The proxy
watches lainlet itself (--discovery), so the entrypoint only names things: lainlet's address, the
app and proc, the controller's instance DNS name (or REDIS_CTL_URL) and the nodes' DNS names as
fixed seeds. The real portal against a fake lainlet runs in redis_entrypoint_test.sh.

Usage: proxy_entrypoint_test.py PROXY_ENTRYPOINT
"""
import os
import shutil
import subprocess
import sys
import tempfile

ENTRYPOINT = sys.argv[1]


def run_fake_proxy(**env):
    """Runs the entrypoint for real with a stand-in redis-proxy that prints its argv and the
    password variables it was given."""
    fake = os.path.join(tempfile.mkdtemp(prefix="rs-proxy-entrypoint-"), "redis-proxy")
    with open(fake, "w") as f:
        f.write('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n'
                'printf "ENV REDIS_PASSWORD=%s\\n" "${REDIS_PASSWORD-<unset>}"\n'
                'printf "ENV REDIS_PROXY_PASSWORD=%s\\n" "${REDIS_PROXY_PASSWORD-<unset>}"\n')
    os.chmod(fake, 0o755)
    try:
        return run(REDIS_PROXY_ENTRYPOINT_DRY_RUN="0", REDIS_PROXY=fake, **env)
    finally:
        shutil.rmtree(os.path.dirname(fake))


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


def out_of(argv):
    return "\n".join(argv)


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
    check(argv[-2:] == ["--slowlog-usec", "10000"], "arguments not passed on: %r" % argv)
    # Passwords never on the command line (ps shows it): in the environment of redis-proxy.
    check("nodepw" not in out_of(argv), "a password on the command line: %r" % argv)

    out = run_fake_proxy(REDIS_PASSWORD="nodepw", REDIS_PROXY_PASSWORD="")
    check(out.returncode == 0, "entrypoint with a stand-in proxy failed: %r" % out.stderr)
    lines = out.stdout.splitlines()
    check("ENV REDIS_PASSWORD=nodepw" in lines, "backend password not passed: %r" % lines)
    check("ENV REDIS_PROXY_PASSWORD=<unset>" in lines, "empty client password set: %r" % lines)
    check("nodepw" not in out_of([l for l in lines if not l.startswith("ENV ")]),
          "a password in the arguments: %r" % lines)
    secret_dir = tempfile.mkdtemp(prefix="rs-proxy-secret-")
    try:
        with open(os.path.join(secret_dir, "client"), "w") as f:
            f.write("filepw\nsecond line ignored\n")
        out = run_fake_proxy(REDIS_PROXY_PASSWORD_FILE=os.path.join(secret_dir, "client"))
    finally:
        shutil.rmtree(secret_dir)
    lines = out.stdout.splitlines()
    check("ENV REDIS_PROXY_PASSWORD=filepw" in lines, "client password file: %r" % lines)
    check("ENV REDIS_PASSWORD=<unset>" in lines, "no backend password: %r" % lines)

    # Defaults and overrides.
    flags, _ = flags_of(run(REDIS_NUM_INSTANCES="3", REDIS_PROXY_PASSWORD="clientpw",
                            REDIS_CTL_URL="http://10.1.2.3:9000", REDIS_PROC="cache",
                            REDIS_PORT="7000"))
    check(flags.get("--discovery") == "lainlet:lainlet.lain:9001", "default lainlet %r" % flags)
    check(flags.get("--controller") == "http://10.1.2.3:9000", "REDIS_CTL_URL %r" % flags)
    check(flags.get("--redis-proc") == "cache", "REDIS_PROC %r" % flags)
    check(flags.get("--seeds") == ",".join(
        "cache-%d.redis-service.lain:7000" % n for n in (1, 2, 3)), "seeds %r" % flags)
    check("--requirepass" not in flags, "client password on the command line %r" % flags)

    # Outside lain: a clear refusal.
    out = run(LAIN_APPNAME="")
    check(out.returncode != 0 and "LAIN_APPNAME" in out.stderr, "no LAIN_APPNAME: %r" % out.stderr)
    print("PASS")


if __name__ == "__main__":
    main()
