"""The lain.yaml files parse and hold what lain's parser (laincloud/lain-sdk lain_sdk/yaml/parser.py,
summarised in lainlet-api.md section 3.1) requires, plus what redis-service's deployment relies on.

Usage: lain_yaml_test.py SERVICE_LAIN_YAML SERVICE_APP_ROOT CLIENT_LAIN_YAML CLIENT_APP_ROOT

An app root is the directory lain copies to /lain/app; commands naming /lain/app/... must exist
there and be executable. The checker is also run on broken copies, which it must reject, so the
test can fail.
"""
import copy
import os
import re
import sys

import yaml

PROC_TYPES = ("worker", "web", "oneshot", "portal")
SECTION_KEYWORDS = PROC_TYPES + ("proc", "service")
INVALID_APPNAMES = ("service", "resource", "portal")
INVALID_VOLUMES = ("/", "/lain", "/lain/app")
APP_ROOT_IN_IMAGE = "/lain/app/"
MEMORY = re.compile(r"^[0-9]+[kmgKMG]?$")
PREPARE_VERSION = re.compile(r"^[a-zA-Z0-9]+$")
PROC_KEYS = {
    "type", "image", "entrypoint", "cmd", "user", "workdir", "working_dir", "dns_search", "cpu",
    "memory", "num_instances", "port", "ports", "labels", "filters", "stateful", "setup_time",
    "kill_timeout", "mountpoint", "https_only", "healthcheck", "container_healthcheck", "env",
    "persistent_dirs", "volumes", "logs", "cloud_volumes", "secret_files", "secret_files_bypass",
    "service_name", "allow_clients", "portal",
}


class Invalid(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Invalid(msg)


def exec_form(cmd):
    """lain turns a string cmd into a list by splitting on whitespace, without a shell."""
    if isinstance(cmd, str):
        return cmd.split()
    need(isinstance(cmd, list) and all(isinstance(c, str) for c in cmd), "cmd %r" % (cmd,))
    return cmd


def expand_procs(doc):
    """Proc name -> (type, meta), with service.NAME expanded as lain-sdk does."""
    procs = {}

    def add(key, meta):
        need(isinstance(meta, dict), "%s: not a mapping" % key)
        parts = key.split(".")
        need(len(parts) in (1, 2), "%s: bad section name" % key)
        if len(parts) == 2:
            name = parts[1]
            ptype = parts[0] if parts[0] in PROC_TYPES else meta.get("type", "worker")
        else:
            name, ptype = parts[0], parts[0]
        need(ptype in PROC_TYPES, "%s: proc type %r" % (key, ptype))
        need(name not in procs, "duplicated proc name %s" % name)
        procs[name] = (ptype, meta)

    for key, meta in doc.items():
        if key.split(".")[0] not in SECTION_KEYWORDS:
            continue
        if key.startswith("service."):
            parts = key.split(".")
            need(len(parts) == 2 and parts[1], "invalid service keyword: %s" % key)
            worker = copy.deepcopy(meta)
            need("portal" in worker and isinstance(worker["portal"], dict),
                 "%s: a service needs a portal block" % key)
            portal = worker.pop("portal")
            portal["service_name"] = parts[1]
            portal.setdefault("port", worker.get("port"))
            add("proc." + parts[1], worker)
            add("portal.portal-" + parts[1], portal)
        else:
            add(key, meta)
    return procs


def check_proc(name, ptype, meta, app_root):
    unknown = set(meta) - PROC_KEYS
    need(not unknown, "%s: keys lain does not know: %s" % (name, sorted(unknown)))
    need("cmd" in meta, "%s: no cmd" % name)
    argv = exec_form(meta["cmd"])
    need(argv, "%s: empty cmd" % name)
    for arg in argv:
        # No shell runs the cmd, so "$X" would reach the program literally.
        need("$" not in arg, "%s: cmd uses %r, but lain runs cmd without a shell" % (name, arg))
        if arg.startswith(APP_ROOT_IN_IMAGE):
            path = os.path.join(app_root, arg[len(APP_ROOT_IN_IMAGE):])
            need(os.path.isfile(path), "%s: %s is not in the app (%s)" % (name, arg, path))
            if arg == argv[0]:
                need(os.access(path, os.X_OK), "%s: %s is not executable" % (name, arg))
    if "port" in meta:
        port = meta["port"]
        need(isinstance(port, int) and 0 < port < 65536, "%s: port %r" % (name, port))
    need(MEMORY.match(str(meta.get("memory", "32m"))), "%s: memory %r" % (name, meta.get("memory")))
    n = meta.get("num_instances", 1)
    need(isinstance(n, int) and n >= 0, "%s: num_instances %r" % (name, n))
    for v in meta.get("persistent_dirs") or meta.get("volumes") or []:
        if isinstance(v, dict):
            need(len(v) == 1, "%s: a volume dict has one key" % name)
            v = next(iter(v))
        need(isinstance(v, str), "%s: volume %r" % (name, v))
        path = os.path.normpath(os.path.join(APP_ROOT_IN_IMAGE, v.strip()))
        need(path not in INVALID_VOLUMES, "%s: invalid volume %s" % (name, v))
    env = meta.get("env") or []
    need(isinstance(env, list), "%s: env must be a list of K=V" % name)
    for e in env:
        need(isinstance(e, str) and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", e), "%s: env %r" % (name, e))
    if "setup_time" in meta:
        need(0 <= meta["setup_time"] <= 120, "%s: setup_time is clamped to 0..120" % name)
    if "kill_timeout" in meta:
        need(10 <= meta["kill_timeout"] <= 60, "%s: kill_timeout is clamped to 10..60" % name)
    hc = meta.get("container_healthcheck")
    if hc is not None:
        need(isinstance(hc, dict) and hc.get("cmd"), "%s: container_healthcheck needs cmd" % name)
    if "healthcheck" in meta:
        need(ptype == "web", "%s: healthcheck is for web procs only" % name)
    if ptype == "web" and name != "web":
        need(isinstance(meta.get("mountpoint"), list), "%s: a web proc not named web needs a mountpoint" % name)
    if ptype == "portal":
        need(meta.get("service_name"), "%s: a portal needs service_name" % name)
        need(meta.get("allow_clients", "**") == "**", "%s: allow_clients other than ** is not implemented" % name)


def check_lain(doc, app_root):
    """The rules of lain-sdk's LainConf.load; returns the expanded procs."""
    need(isinstance(doc, dict), "lain.yaml is not a mapping")
    appname = doc.get("appname")
    need(isinstance(appname, str) and appname, "no appname")
    need(appname not in INVALID_APPNAMES, "appname %s is reserved" % appname)
    build = doc.get("build")
    need(isinstance(build, dict), "no build section in lain.yaml")
    need(build.get("base"), "no base in section build")
    need(all(isinstance(s, str) for s in build.get("script") or []), "build.script: strings")
    prepare = build.get("prepare", {})
    if isinstance(prepare, dict):
        need(PREPARE_VERSION.match(str(prepare.get("version", "0")).strip()), "prepare.version")
        need(all(isinstance(s, str) for s in prepare.get("script") or []), "prepare.script")
    else:
        need(isinstance(prepare, list), "build.prepare")
    procs = expand_procs(doc)
    for name, (ptype, meta) in procs.items():
        check_proc(name, ptype, meta, app_root)
    us = doc.get("use_services")
    if us is not None:
        need(isinstance(us, dict) and all(isinstance(v, list) for v in us.values()),
             "use_services: {app: [service, ...]}")
    return procs


def env_of(meta):
    return dict(e.split("=", 1) for e in meta.get("env") or [])


def check_service(doc, app_root):
    """redis-service's own layout (issue 9)."""
    procs = check_lain(doc, app_root)
    app = doc["appname"]
    need("redis" in procs and procs["redis"][0] == "worker", "no worker proc redis")
    need("portal-redis" in procs, "no portal-redis (service.redis with a portal block)")
    need("redis-ctl" in procs, "no proc redis-ctl")
    _, redis = procs["redis"]
    _, portal = procs["portal-redis"]
    _, ctl = procs["redis-ctl"]

    need(redis.get("num_instances") == 6, "redis: num_instances must be 6")
    need("memory" in redis, "redis: memory must be set (maxmemory derives from it)")
    need("/data" in (redis.get("persistent_dirs") or []), "redis: /data must be persistent")
    need(exec_form(redis["cmd"])[0].endswith("/redis-entrypoint.sh"), "redis: cmd is the entrypoint")
    renv = env_of(redis)
    need(int(renv.get("REDIS_PORT", 6379)) == redis.get("port"), "redis: REDIS_PORT != port")
    need(renv.get("REDIS_DATA_DIR", "/data") in redis["persistent_dirs"], "redis: data dir not persistent")

    need(portal.get("port") == 8889, "portal: port must be 8889")
    need(portal.get("service_name") == "redis", "portal: service_name")
    need(portal.get("allow_clients") == "**", "portal: allow_clients")
    need(exec_form(portal["cmd"])[0].endswith("/proxy-entrypoint.sh"), "portal: cmd")
    penv = env_of(portal)
    need(penv.get("REDIS_PROXY_LISTEN", "0.0.0.0:8889").endswith(":8889"), "portal: listen port")
    need(penv.get("REDIS_CTL_PROC", "redis-ctl") == "redis-ctl", "portal: controller proc")
    need(int(penv.get("REDIS_CTL_PORT", 8080)) == ctl.get("port"), "portal: REDIS_CTL_PORT != redis-ctl port")
    need(penv.get("REDIS_PROC", "redis") == "redis", "portal: redis proc")
    need(int(penv.get("REDIS_PORT", 6379)) == redis.get("port"), "portal: REDIS_PORT != redis port")
    need(int(penv.get("REDIS_NUM_INSTANCES", 6)) == redis["num_instances"],
         "portal: REDIS_NUM_INSTANCES != redis num_instances")

    need(ctl.get("num_instances", 1) == 1, "redis-ctl: exactly one instance")
    dirs = ctl.get("persistent_dirs") or []
    need(dirs, "redis-ctl: a persistent dir for the event log")
    cenv = env_of(ctl)
    data_dir = cenv.get("REDIS_CTL_DATA_DIR", "/data/eventlog")
    need(any(data_dir == d or data_dir.startswith(d.rstrip("/") + "/") for d in dirs),
         "redis-ctl: %s is not on a persistent dir" % data_dir)
    need(exec_form(ctl["cmd"])[0].endswith("/ctl-entrypoint.sh"), "redis-ctl: cmd")
    need(cenv.get("REDIS_CTL_LISTEN", "0.0.0.0:8080").endswith(":%d" % ctl.get("port")),
         "redis-ctl: listen port != port")
    need(cenv.get("REDIS_CTL_REDIS_PROC", "redis") == "redis", "redis-ctl: watches proc redis")
    return app


def check_client(doc, app_root, service_app):
    check_lain(doc, app_root)
    us = doc.get("use_services") or {}
    need(us.get(service_app) == ["redis"], "client: use_services %s: [redis]" % service_app)
    addrs = [v for p in doc if p.split(".")[0] in SECTION_KEYWORDS
             for v in env_of(doc[p]).values() if ":8889" in v]
    need(addrs == ["redis.%s.lain:8889" % doc["appname"]],
         "client: the portal address must be redis.<clientapp>.lain:8889, got %r" % addrs)


def main():
    service_yaml, service_root, client_yaml, client_root = sys.argv[1:5]
    with open(service_yaml) as f:
        service = yaml.safe_load(f)
    with open(client_yaml) as f:
        client = yaml.safe_load(f)
    app = check_service(service, service_root)
    check_client(client, client_root, app)

    # Broken copies must be rejected, or the checks above prove nothing.
    def broken(what, doc, mutate, check):
        doc = copy.deepcopy(doc)
        mutate(doc)
        try:
            check(doc)
        except Invalid:
            return
        print("FAIL: the checker accepted a lain.yaml with %s" % what)
        sys.exit(1)

    svc = lambda d: check_service(d, service_root)
    broken("no build.base", service, lambda d: d["build"].pop("base"), svc)
    broken("no appname", service, lambda d: d.pop("appname"), svc)
    broken("a service without a portal", service, lambda d: d["service.redis"].pop("portal"), svc)
    broken("a portal on another port", service,
           lambda d: d["service.redis"]["portal"].update(port=6380), svc)
    broken("a shell variable in cmd", service,
           lambda d: d["proc.redis-ctl"].update(cmd="redis-ctl --appname $LAIN_APPNAME"), svc)
    broken("a missing entrypoint", service,
           lambda d: d["proc.redis-ctl"].update(cmd="/lain/app/deploy/lain/nope.sh"), svc)
    broken("5 redis instances", service, lambda d: d["service.redis"].update(num_instances=5), svc)
    broken("/lain/app as volume", service,
           lambda d: d["proc.redis-ctl"].update(persistent_dirs=["/lain/app"]), svc)
    broken("the event log off the volume", service,
           lambda d: d["proc.redis-ctl"].update(env=["REDIS_CTL_DATA_DIR=/tmp/eventlog"]), svc)
    broken("an unknown proc key", service, lambda d: d["proc.redis-ctl"].update(replicas=2), svc)
    broken("a duplicate proc", service, lambda d: d.update({"worker.redis": {"cmd": "x"}}), svc)
    broken("a client without use_services", client, lambda d: d.pop("use_services"),
           lambda d: check_client(d, client_root, app))
    print("PASS: %s (%d procs) and %s" % (service_yaml, len(expand_procs(service)), client_yaml))


if __name__ == "__main__":
    main()
