#!/usr/bin/python3
"""tests/deploy/static_checks.py SOURCE_DIR SLUICE_BIN: the deployment files, checked
without running a container (seconds, before tests/deploy/run.sh):

  - docker-compose.yaml parses; every build context, Dockerfile and bind-mounted path exists;
  - every ${VARIABLE} it uses is a key of .env.example and of sluice's configuration
    (`sluice config keys`: sluice's own or compose's), and every compose key is used;
  - the keys set under the sluice service's `environment:` are sluice keys;
  - .env.example lists exactly the keys `sluice config keys` prints, the defaults written in
    the compose file equal the examples of .env.example, and DATABASE_URL / MYSQL_URL
    name the compose services with POSTGRES_* / MARIADB_*'s user, password and database;
  - the runtime stage of docker/Dockerfile installs the package of every shared library
    `ldd` lists for the binary (or a package that depends on it), and each lib* package it
    installs provides one of them;
  - Grafana's provisioning parses and every panel uses the provisioned data source;
  - the shell scripts of docker/ and tests/deploy/ pass `bash -n`.
Runs with Debian's python3 (python3-yaml). Prints one line per failure; exit 1 if any.
"""
import json
import os
import re
import subprocess
import sys
import urllib.parse

import yaml

SRC, BIN = sys.argv[1], sys.argv[2]
failures = []


def fail(msg):
    failures.append(msg)
    print("static: FAIL " + msg, file=sys.stderr)


def ok(msg):
    print("static: ok " + msg, file=sys.stderr)


def path(*p):
    return os.path.join(SRC, *p)


# ---- compose ------------------------------------------------------------------------------
compose_text = open(path("docker-compose.yaml")).read()
try:
    compose = yaml.safe_load(compose_text)
except yaml.YAMLError as e:
    print("static: FAIL docker-compose.yaml does not parse: %s" % e, file=sys.stderr)
    sys.exit(1)
services = compose.get("services") or {}
for name in ("postgres", "mariadb", "sftp", "sluice"):
    if name not in services:
        fail("docker-compose.yaml has no %s service" % name)
for name, svc in services.items():
    if "image" not in svc and "build" not in svc:
        fail("service %s has neither image nor build" % name)
    build = svc.get("build")
    if build:
        ctx = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        if not os.path.isfile(path(ctx, dockerfile)):
            fail("service %s: %s/%s does not exist" % (name, ctx, dockerfile))
    for vol in svc.get("volumes", []):
        src = vol.split(":")[0]
        if src.startswith(".") and not os.path.exists(path(src)):
            fail("service %s mounts %s, which does not exist" % (name, src))
    for dep in svc.get("depends_on", {}) or {}:
        if dep not in services:
            fail("service %s depends on unknown service %s" % (name, dep))
ok("docker-compose.yaml parses; %d services, build contexts and mounts exist" % len(services))

keys_out = subprocess.run([BIN, "config", "keys"], check=True, capture_output=True,
                          text=True).stdout
owner = dict(line.split("\t") for line in keys_out.splitlines())

# ${VAR}, ${VAR:-default}, ${VAR:?message}, $VAR; $$ is a literal dollar.
refs = {}
uncommented = "\n".join(line for line in compose_text.splitlines()
                        if not line.lstrip().startswith("#"))
for m in re.finditer(r"\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))",
                     uncommented):
    if m.group(1) == "$":
        continue
    var = m.group(2) or m.group(5)
    default = m.group(4) if m.group(3) == "-" else None
    refs.setdefault(var, set())
    if default is not None:
        refs[var].add(default)

env_example = open(path(".env.example")).read()
example_keys = {}
for line in env_example.splitlines():
    m = re.match(r"^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$", line)
    if m:
        example_keys.setdefault(m.group(1), m.group(2) if not line.startswith("#") else None)

for var in sorted(refs):
    if var not in example_keys:
        fail("docker-compose.yaml uses ${%s}, which .env.example does not list" % var)
    if var not in owner:
        fail("docker-compose.yaml uses ${%s}, unknown to `sluice config keys`" % var)
for key, who in sorted(owner.items()):
    if who == "compose" and key not in refs:
        fail("%s is a compose key (server/core/config_deploy.c) but docker-compose.yaml never uses it" % key)
if set(example_keys) != set(owner):
    fail(".env.example and `sluice config keys` differ: %s"
         % sorted(set(example_keys) ^ set(owner)))
for var, defaults in sorted(refs.items()):
    for d in defaults:
        if example_keys.get(var) is not None and d != example_keys[var]:
            fail("docker-compose.yaml defaults ${%s} to %r, .env.example to %r"
                 % (var, d, example_keys[var]))
ok("%d variables of docker-compose.yaml: all in .env.example and `sluice config keys`, "
   "compose keys all used, defaults agree" % len(refs))

env = services.get("sluice", {}).get("environment", {}) or {}
if isinstance(env, list):
    env = dict(e.split("=", 1) for e in env)
for key in env:
    if owner.get(key) != "sluice":
        fail("the sluice service sets %s, which is not a sluice key" % key)
if services.get("sluice", {}).get("env_file") != ".env":
    fail("the sluice service does not read env_file: .env")
ok("the sluice service's environment (%s) holds sluice keys only" % ", ".join(sorted(env)))


def url_matches(key, scheme, host, user_key, pw_key, db_key):
    u = urllib.parse.urlsplit(example_keys.get(key) or "")
    want = (scheme, host, example_keys.get(user_key), example_keys.get(pw_key),
            "/" + (example_keys.get(db_key) or ""))
    got = (u.scheme, u.hostname, u.username, u.password, u.path)
    if got != want:
        fail(".env.example %s=%s does not match %s/%s/%s and service %s"
             % (key, example_keys.get(key), user_key, pw_key, db_key, host))
    if host not in services:
        fail("%s names host %s, which is not a compose service" % (key, host))


url_matches("DATABASE_URL", "postgresql", "postgres", "POSTGRES_USER", "POSTGRES_PASSWORD",
            "POSTGRES_DB")
url_matches("MYSQL_URL", "mysql", "mariadb", "MARIADB_USER", "MARIADB_PASSWORD",
            "MARIADB_DATABASE")
ok(".env.example's DATABASE_URL and MYSQL_URL agree with POSTGRES_* and MARIADB_*")

# ---- runtime packages against ldd ---------------------------------------------------------
dockerfile = open(path("docker", "Dockerfile")).read().replace("\\\n", " ")
stage = re.split(r"(?im)^FROM\s+", dockerfile)[-1]
if " AS runtime" not in stage.splitlines()[0]:
    fail("the last stage of docker/Dockerfile is not `runtime`")
installed = set()
for m in re.finditer(r"apt-get install ([^&]*)", stage):
    installed |= {t for t in m.group(1).split() if not t.startswith("-")}
ldd = subprocess.run(["ldd", BIN], check=True, capture_output=True, text=True).stdout
libs = sorted(set(re.findall(r"=> (/\S+)", ldd)))
if not libs:
    fail("ldd lists no library for %s" % BIN)


def candidates(lib):
    """The paths dpkg may have recorded for lib (/lib and /usr/lib are one on Debian 12)."""
    cands = {lib, os.path.realpath(lib)}
    for c in list(cands):
        cands.add(c[4:] if c.startswith("/usr/") else "/usr" + c)
    return cands


# One dpkg-query for every candidate path; those dpkg does not know are simply not printed.
all_cands = sorted(set().union(*(candidates(lib) for lib in libs))) if libs else []
found = {}
out = subprocess.run(["dpkg-query", "-S"] + all_cands, capture_output=True, text=True).stdout
for line in out.splitlines():
    pkgs, _, p = line.partition(": ")
    found[p.strip()] = pkgs.split(",")[0].split(":")[0].strip()


def owner_pkg(lib):
    for c in candidates(lib):
        if c in found:
            return found[c]
    return None


owners = {lib: owner_pkg(lib) for lib in libs}
closure = set(installed)
if any(p not in installed for p in owners.values()):  # apt-cache is slow: only when needed
    deps = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends",
                           "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces",
                           "--no-enhances"] + sorted(installed),
                          capture_output=True, text=True).stdout
    for line in deps.splitlines():
        m = re.match(r"^\s*(?:\|?(?:Pre)?Depends: )?<?([a-z0-9][a-z0-9+.-]*)(?::\w+)?>?$",
                     line.strip())
        if m:
            closure.add(m.group(1))
used = set()
for lib in libs:
    pkg = owners[lib]
    if pkg is None:
        fail("no Debian package owns %s (ldd of %s)" % (lib, BIN))
        continue
    if pkg not in closure:
        fail("%s (package %s) is not installed by the runtime stage" % (lib, pkg))
    used.add(pkg)
for pkg in sorted(installed):
    if pkg.startswith("lib") and pkg not in used:
        fail("the runtime stage installs %s, which provides no library of the binary" % pkg)
ok("the runtime stage covers the %d libraries ldd lists (%s)"
   % (len(libs), ", ".join(sorted(used))))

# ---- Grafana -----------------------------------------------------------------------------
gp = path("docker", "grafana", "provisioning")
uids = set()
for f in os.listdir(os.path.join(gp, "datasources")):
    for ds in yaml.safe_load(open(os.path.join(gp, "datasources", f)))["datasources"]:
        uids.add(ds["uid"])
for f in os.listdir(os.path.join(gp, "dashboards")):
    yaml.safe_load(open(os.path.join(gp, "dashboards", f)))
dash_dir = path("docker", "grafana", "dashboards")
panels = 0
for f in sorted(os.listdir(dash_dir)):
    d = json.load(open(os.path.join(dash_dir, f)))
    for p in d["panels"]:
        for t in p.get("targets", []):
            panels += 1
            if t.get("datasource", {}).get("uid") not in uids:
                fail("%s: panel %r uses data source %r, not a provisioned one (%s)"
                     % (f, p.get("title"), t.get("datasource"), sorted(uids)))
            if not t.get("rawSql"):
                fail("%s: panel %r has no SQL" % (f, p.get("title")))
ok("Grafana provisioning parses; %d panel queries on data source %s" % (panels, sorted(uids)))

# ---- shell scripts -----------------------------------------------------------------------
scripts = []
for d in ("docker", os.path.join("tests", "deploy")):
    for dirpath, _, files in os.walk(path(d)):
        scripts += [os.path.join(dirpath, f) for f in files if f.endswith(".sh")]
for s in sorted(scripts):
    r = subprocess.run(["bash", "-n", s], capture_output=True, text=True)
    if r.returncode != 0:
        fail("bash -n %s: %s" % (s, r.stderr.strip()))
ok("%d shell scripts pass bash -n" % len(scripts))

if failures:
    print("static: %d deployment check(s) failed" % len(failures))
    sys.exit(1)
print("static: all deployment checks passed")
