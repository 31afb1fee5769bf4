#!/usr/bin/env bash
# tests/deploy/run.sh: the deployment, end to end, as a user runs it: docker-compose.yaml
# and docker/ exactly as committed, brought up by Debian's podman-compose, checked from
# outside, and brought down.
#
#   1. A debian:12 base made by mmdebstrap (no registry is reachable), tagged
#      docker.io/library/debian:12 and :12-slim (the names docker/Dockerfile uses), and
#      stand-ins for postgres:15 and mariadb:10.11 built FROM it with Debian's packages
#      (tests/deploy/standins/), honouring the parts of the official images' contracts
#      that the compose file uses. Cached between runs, keyed by their inputs.
#   2. A copy of the working tree (git's view: tracked and untracked, not ignored) with a
#      .env made from .env.example by replacing every `change-me` value, as the README
#      says; podman-compose build (sluice, sftp), then up.
#   3. From outside: /healthz, /readyz, /docs, a token; the image's HEALTHCHECK; ldd of the
#      binary in the runtime image; a YYYYMMDD.LOG dropped over SFTP by two centres (a key
#      with OpenSSH's sftp, a password with curl) reaches sluice's LOG_ROOT with its bytes,
#      a centre cannot see another's folder; the Grafana dashboard's queries run as the
#      read-only role; jobs running at `podman-compose down` are finished or handed back.
#   4. Cleanup of everything this run made on the host (containers, volumes, networks, the
#      podman run state, the CNI configuration); the cache stays in SLUICE_DEPLOY_CACHE.
#
# Lines starting with "deploy: CHECK" name what was verified; "deploy: PENDING" what the
# code on this branch cannot show yet. Needs root (podman's networks, mmdebstrap).
# Environment: SLUICE_DEPLOY_CACHE (default /var/cache/sluice-deploy): podman's image store
# and the base's packages, kept between runs; SLUICE_DEPLOY_KEEP=1 leaves the stack up
# for a look (then run the cleanup printed at the end).
set -euo pipefail
shopt -s inherit_errexit

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
T0=$SECONDS

say() { printf 'deploy: [%4ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
check() { printf 'deploy: CHECK %s\n' "$*" >&2; }
fail() { printf 'deploy: FAIL %s\n' "$*" >&2; exit 1; }

if [[ $EUID -ne 0 ]]; then
  echo "deploy: skipped: podman networks and mmdebstrap need root (CI runs as root)" >&2
  exit 77
fi
for cmd in podman podman-compose runc mmdebstrap curl sftp ssh-keygen /usr/bin/python3; do
  command -v "$cmd" >/dev/null || fail "$cmd is missing (SLUICE_DEB_PACKAGES in scripts/lib/common.sh)"
done

CACHE="${SLUICE_DEPLOY_CACHE:-/var/cache/sluice-deploy}"
STATE=/run/sluice-deploy          # podman's run state: tmpfs, removed at the end
PROJECT=sluicedeploy              # podman-compose project: containers sluicedeploy_<svc>_1
mkdir -p "$CACHE"
# One deployment test at a time on a machine (the cache and the project name are shared).
exec 9>"$CACHE/lock"
flock -w 1800 9 || fail "another deployment test holds $CACHE/lock"
WORK="$(mktemp -d /tmp/sluice-deploy.XXXXXX)"

# ---- podman, configured for this test only ---------------------------------------------
# runc, cgroupfs and a file event log (no systemd here), the ulimits that MariaDB and
# PostgreSQL need, netavark networks (aardvark-dns resolves the service names) defined in
# a folder of our own, images in the cache, run state under /run. --format docker keeps
# HEALTHCHECK in built images.
mkdir -p "$STATE" "$WORK/networks"
# Containers trust what this host trusts: its local CA certificates (a TLS-inspecting
# egress proxy's, on these machines) are mounted where update-ca-certificates finds them
# when an image installs ca-certificates, so that npm reaches the registry from the build.
volumes=""
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  volumes='volumes = ["/usr/local/share/ca-certificates:/usr/local/share/ca-certificates:ro"]'
fi
cat > "$WORK/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
log_driver = "k8s-file"
$volumes

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$STATE/events.log"
tmp_dir = "$STATE/libpod"

[network]
network_backend = "netavark"
network_config_dir = "$WORK/networks"
EOF
cat > "$WORK/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$CACHE/storage"
runroot = "$STATE/storage"
EOF
cat > "$WORK/registries.conf" <<EOF
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"
EOF
export CONTAINERS_CONF="$WORK/containers.conf" CONTAINERS_STORAGE_CONF="$WORK/storage.conf"
export CONTAINERS_REGISTRIES_CONF="$WORK/registries.conf" BUILDAH_FORMAT=docker
# What the networks change on the host, to undo it: links, firewall chains, forwarding.
links_before="$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort)"
chains_before="$(for t in filter nat; do iptables -t "$t" -S | awk -v t="$t" '/^-N /{print t, $2}'; done)"
forward_before="$(sysctl -n net.ipv4.ip_forward)"
# podman keeps a blob cache in /var/lib/containers/cache whatever the storage says.
[[ -e /var/lib/containers ]] && made_var_lib_containers=0 || made_var_lib_containers=1

# Deletes the bridges and firewall chains that appeared during the run (netavark leaves
# its chains behind) and puts IPv4 forwarding back as it was.
# shellcheck disable=SC2317  # invoked by cleanup
undo_network_changes() {
  local link t chain rule
  for link in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'); do
    if [[ $link == podman* || $link == veth* ]] && ! grep -qx "$link" <<< "$links_before"; then
      ip link delete "$link" 2>/dev/null || true
    fi
  done
  for t in filter nat; do
    for chain in $(iptables -t "$t" -S | awk '/^-N /{print $2}'); do
      grep -qx "$t $chain" <<< "$chains_before" && continue
      { iptables -t "$t" -S | grep -E -- "-j $chain( |$)" | grep -v -- "^-A $chain " || true; } |
        while read -r rule; do
          # iptables -S quotes what needs it (comments): eval takes the words back.
          eval "iptables -t $t ${rule/#-A/-D}" 2>/dev/null || true
        done
      iptables -t "$t" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables -t "$t" -S | awk '/^-N /{print $2}'); do
      grep -qx "$t $chain" <<< "$chains_before" || iptables -t "$t" -X "$chain" 2>/dev/null || true
    done
  done
  sysctl -qw net.ipv4.ip_forward="$forward_before" || true
}

# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  local rc=$?
  trap - EXIT
  if [[ ${SLUICE_DEPLOY_KEEP:-0} == 1 ]]; then
    say "SLUICE_DEPLOY_KEEP=1: stack left up; clean up with:"
    echo "  cd $WORK/src && CONTAINERS_CONF=$WORK/containers.conf CONTAINERS_STORAGE_CONF=$WORK/storage.conf podman-compose -p $PROJECT down -v; rm -rf $WORK $STATE" >&2
    exit "$rc"
  fi
  say "cleanup"
  [[ -z ${LOGS_PID:-} ]] || kill "$LOGS_PID" 2>/dev/null || true
  if [[ -n ${STANDINS_PID:-} ]]; then kill "$STANDINS_PID" 2>/dev/null; wait "$STANDINS_PID" 2>/dev/null; fi || true
  if [[ -d $WORK/src ]]; then
    (cd "$WORK/src" && timeout 120 podman-compose -p "$PROJECT" down -v -t 5 >/dev/null 2>&1) || true
  fi
  # Whatever podman-compose left: containers, pods, volumes and networks of the project.
  podman ps -aq --filter "label=io.podman.compose.project=$PROJECT" |
    xargs -r podman rm -f >/dev/null 2>&1 || true
  podman pod ls -q --filter "name=$PROJECT" | xargs -r podman pod rm -f >/dev/null 2>&1 || true
  podman volume ls -q --filter "label=io.podman.compose.project=$PROJECT" |
    xargs -r podman volume rm -f >/dev/null 2>&1 || true
  podman volume ls -q | grep "^${PROJECT}_" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
  podman network ls -q | grep "^${PROJECT}" | xargs -r podman network rm -f >/dev/null 2>&1 || true
  # Builds leave their intermediate containers on failure.
  podman ps -aq --external --filter status=created 2>/dev/null | xargs -r podman rm -f >/dev/null 2>&1 || true
  # aardvark-dns serves the networks' names until their last container goes: one still
  # running with its configuration in our run state is ours.
  local pid
  for pid in $(pgrep -f -- "aardvark-dns --config $STATE/" || true); do
    kill "$pid" 2>/dev/null || true
  done
  undo_network_changes
  ((made_var_lib_containers == 0)) || rm -rf /var/lib/containers
  rm -rf "$WORK" "$STATE"
  say "done (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

sha() { sha256sum | cut -c1-16; }
label_of() { podman image inspect --format "{{ index .Labels \"$2\" }}" "$1" 2>/dev/null || true; }

# ---- 1. base image and stand-ins (cached) ----------------------------------------------
base_key="$(sha < "$HERE/build_base.sh")"
if [[ $(label_of docker.io/library/debian:12 sluice.deploy.key) != "$base_key" ]]; then
  say "building the debian:12 base with mmdebstrap (key $base_key)"
  DEBS_CACHE="$CACHE/debs" "$HERE/build_base.sh" 2> "$WORK/base.log" |
    podman import --change 'CMD ["bash"]' --change "LABEL sluice.deploy.key=$base_key" \
      - docker.io/library/debian:12 >/dev/null || { tail -n 40 "$WORK/base.log" >&2; fail "the base did not build"; }
else
  say "debian:12 base from the cache (key $base_key)"
fi
podman tag docker.io/library/debian:12 docker.io/library/debian:12-slim

standin_key="$(cat "$HERE"/standins/* <(echo "$base_key") | sha)"
if [[ $(label_of docker.io/library/postgres:15 sluice.deploy.key) != "$standin_key" ||
      $(label_of docker.io/library/mariadb:10.11 sluice.deploy.key) != "$standin_key" ]]; then
  # In the background, while podman-compose builds sluice (apt and npm downloads overlap
  # the compilation); waited for before `up`.
  say "building the postgres:15 and mariadb:10.11 stand-ins (key $standin_key), in the background"
  (
    podman build -q --pull=never -f "$HERE/standins/servers.Containerfile" \
      -t localhost/sluice-standin-servers:latest "$HERE/standins" &&
    podman build -q --pull=never --label "sluice.deploy.key=$standin_key" \
      -f "$HERE/standins/postgres.Containerfile" -t docker.io/library/postgres:15 \
      "$HERE/standins" &&
    podman build -q --pull=never --label "sluice.deploy.key=$standin_key" \
      -f "$HERE/standins/mariadb.Containerfile" -t docker.io/library/mariadb:10.11 \
      "$HERE/standins"
  ) > "$WORK/standins.log" 2>&1 &
  STANDINS_PID=$!
else
  say "postgres:15 and mariadb:10.11 stand-ins from the cache (key $standin_key)"
fi

# ---- 2. the project as a user has it, and its .env --------------------------------------
say "copying the working tree"
mkdir -p "$WORK/src"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
   while IFS= read -r -d '' f; do [[ ! -e $f ]] || printf '%s\0' "$f"; done |
   tar --null -T - -cf -) | tar -C "$WORK/src" -xf -
cd "$WORK/src"
[[ -f docker-compose.yaml && -f .env.example && -f docker/Dockerfile ]] || fail "copy incomplete"

rnd() { od -An -tx1 -v -N"$1" /dev/urandom | tr -d ' \n'; }
pg_pw="$(rnd 16)"; mdb_pw="$(rnd 16)"; mdb_root_pw="$(rnd 16)"; admin_pw="$(rnd 12)"
graf_pw="$(rnd 16)"; graf_db_pw="$(rnd 16)"; sftp_pw="$(rnd 12)"
secret_key="$(head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_')"
pii_key="$(rnd 32)"
sluice_port="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
sftp_port="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# Every `change-me` value replaced, as the README asks; nothing else of .env.example changes
# but the test's own settings appended at the end (the last assignment wins).
sed -e "s|change-me-postgres-password|$pg_pw|g" \
    -e "s|change-me-mariadb-root-password|$mdb_root_pw|g" \
    -e "s|change-me-mariadb-password|$mdb_pw|g" \
    -e "s|change-me-admin-password|$admin_pw|g" \
    -e "s|change-me-grafana-db-password|$graf_db_pw|g" \
    -e "s|change-me-grafana-password|$graf_pw|g" \
    -e "s|change-me-to-the-output-of-openssl-rand-base64-48|$secret_key|g" \
    -e "s|^PII_KEY=0\{64\}$|PII_KEY=$pii_key|" \
    -e "s|^SFTP_USERS=.*|SFTP_USERS=dem12::DEM12 (PVC);su12:$sftp_pw:SU12 (HYBRIDE)|" \
    .env.example > .env
! grep -v '^#' .env | grep -qi 'change-me' ||
  fail ".env still holds a placeholder: $(grep -v '^#' .env | grep -i change-me)"
grep -q "^PII_KEY=$pii_key$" .env || fail "PII_KEY placeholder not found in .env.example"
cat >> .env <<EOF

# ---- tests/deploy/run.sh ----
SLUICE_PUBLISH=127.0.0.1:$sluice_port
SFTP_PUBLISH=127.0.0.1:$sftp_port
JOB_TEST_KINDS=true
JOB_QUEUES=default:2,ingest:2
SHUTDOWN_GRACE_SECONDS=10
EOF
# The key of centre dem12 (key only: its password is empty).
ssh-keygen -q -t ed25519 -N '' -C dem12 -f "$WORK/dem12_key"
cp "$WORK/dem12_key.pub" docker/sftp/authorized_keys/dem12

compose() { podman-compose -p "$PROJECT" "$@"; }

# ---- build -------------------------------------------------------------------------------
say "podman-compose build (sluice, sftp)"
# podman-compose build exits 0 even when a build fails: the names are taken off first
# (the images and their layers stay, as the build cache), so that only a successful
# build can bring them back.
for img in localhost/sluice:latest localhost/sluice-sftp:latest; do
  ! podman image exists "$img" || podman untag "$img" "$img"
done
# The two images side by side (podman-compose builds one service after the other): the
# SFTP image's apt-get overlaps the sluice build stage's.
compose build sftp > "$WORK/build-sftp.log" 2>&1 &
sftp_build=$!
# --jobs=2: the runtime stage's apt-get runs beside the build stage (as BuildKit does).
podman-compose -p "$PROJECT" --podman-build-args='--jobs=2' build sluice > "$WORK/build.log" 2>&1 || true
wait "$sftp_build" || true
cat "$WORK/build-sftp.log" >> "$WORK/build.log"
for img in localhost/sluice:latest localhost/sluice-sftp:latest; do
  if ! podman image exists "$img"; then
    tail -n 60 "$WORK/build.log" >&2
    fail "$img was not built"
  fi
done
check "podman-compose build made sluice:latest and sluice-sftp:latest"
hc="$(podman image inspect --format '{{ json .Config.Healthcheck }}' localhost/sluice:latest)"
[[ $hc == *healthz* ]] || fail "the sluice image has no HEALTHCHECK on /healthz: $hc"
user="$(podman image inspect --format '{{ .Config.User }}' localhost/sluice:latest)"
[[ $user == sluice* ]] || fail "the sluice image runs as \"$user\", not sluice"
stop_signal="$(podman image inspect --format '{{ .Config.StopSignal }}' localhost/sluice:latest)"
[[ $stop_signal == SIGTERM ]] || fail "STOPSIGNAL is \"$stop_signal\""
check "image: HEALTHCHECK on /healthz, USER $user, STOPSIGNAL $stop_signal"
missing="$(podman run --rm --no-healthcheck --entrypoint ldd localhost/sluice:latest /usr/bin/sluice | grep 'not found' || true)"
[[ -z $missing ]] || fail "libraries missing from the runtime image: $missing"
check "ldd /usr/bin/sluice in the runtime image: every library found"

if [[ -n ${STANDINS_PID:-} ]]; then
  say "waiting for the stand-ins"
  wait "$STANDINS_PID" || { tail -n 40 "$WORK/standins.log" >&2; fail "the stand-ins did not build"; }
  STANDINS_PID=
fi
# Images of older keys, and dangling layers not used for a week, go.
podman image prune -f --filter until=168h >/dev/null 2>&1 || true

# ---- up ----------------------------------------------------------------------------------
say "podman-compose up"
# No profile support in podman-compose 1.0: the services are named (grafana is left out).
compose up -d postgres mariadb sftp sluice > "$WORK/up.log" 2>&1 || {
  tail -n 40 "$WORK/up.log" >&2; fail "podman-compose up failed"; }
ctr() { printf '%s_%s_1' "$PROJECT" "$1"; }
podman logs -f "$(ctr sluice)" > "$WORK/sluice.log" 2>&1 &
LOGS_PID=$!

# Health checks do not run by themselves without systemd: run them while waiting.
wait_healthy() {
  local deadline=$((SECONDS + $2)) name
  name="$(ctr "$1")"
  while ((SECONDS < deadline)); do
    if podman healthcheck run "$name" >/dev/null 2>&1; then return 0; fi
    if [[ $(podman inspect --format '{{.State.Status}}' "$name" 2>/dev/null) == exited ]]; then
      podman logs "$name" 2>&1 | tail -n 30 >&2
      fail "$1 exited while starting"
    fi
    sleep 1
  done
  podman logs "$name" 2>&1 | tail -n 30 >&2
  fail "$1 not healthy after $2 s"
}
for svc in postgres mariadb sftp sluice; do wait_healthy "$svc" 180; done
check "postgres, mariadb, sftp and sluice report healthy (podman healthcheck run)"

base="http://127.0.0.1:$sluice_port"
code() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }
[[ $(code "$base/healthz") == 200 ]] || fail "/healthz: $(cat "$WORK/body")"
deadline=$((SECONDS + 60))
until [[ $(code "$base/readyz") == 200 ]]; do
  ((SECONDS < deadline)) || fail "/readyz: $(cat "$WORK/body")"
  sleep 1
done
check "from the host: GET /healthz 200, GET /readyz 200 ($(tr -d '\n' < "$WORK/body" | head -c 200))"
[[ $(code "$base/docs") == 200 ]] && grep -qi swagger "$WORK/body" || fail "/docs"
[[ $(code "$base/openapi.json") == 200 ]] || fail "/openapi.json"
check "GET /docs (Swagger UI) and /openapi.json 200"

json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$WORK/body" "$1"; }
[[ $(code -X POST "$base/token" --data-urlencode grant_type=password \
        --data-urlencode username=admin --data-urlencode "password=$admin_pw") == 200 ]] ||
  fail "POST /token: $(cat "$WORK/body")"
token="$(json 'd["access_token"]')"
auth=(-H "Authorization: Bearer $token")
[[ $(code "${auth[@]}" "$base/users/me") == 200 ]] || fail "GET /users/me: $(cat "$WORK/body")"
check "POST /token for the first admin of .env, GET /users/me with it: $(json 'd["username"]')"

# ---- SFTP: the centres drop their logs ---------------------------------------------------
for c in 'DEM12 (PVC)|DEM12|PVC' 'SU12 (HYBRIDE)|SU12|HYBRIDE'; do
  IFS='|' read -r folder code_ type <<< "$c"
  body="$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"code":sys.argv[1],"nom":"Centre "+sys.argv[1],"type_cu":sys.argv[2],"log_folder":sys.argv[3]}))' "$code_" "$type" "$folder")"
  [[ $(code "${auth[@]}" -H 'Content-Type: application/json' -d "$body" "$base/centres") == 201 ]] ||
    fail "POST /centres $code_: $(cat "$WORK/body")"
done
log_file="$WORK/20250528.LOG"
printf '%s\r\n' '20250528 06:00:00|@MachineStart' '20250528 06:00:05|@JobProfiel: R:R-100 L:6500 C:9016' \
  '20250528 06:00:40|@StukUitgevoerd: Piece 1' '20250528 06:05:00|@MachineWait: 30 sec' \
  '20250528 06:09:40|@StukUitgevoerd: Piece 2' '20250528 06:10:00|@MachineStop' > "$log_file"
sum="$(sha256sum < "$log_file" | cut -d' ' -f1)"
ssh_opts=(-o StrictHostKeyChecking=accept-new -o "UserKnownHostsFile=$WORK/known_hosts"
          -o BatchMode=yes -o ConnectTimeout=10)
sftp -q "${ssh_opts[@]}" -i "$WORK/dem12_key" -P "$sftp_port" -b - dem12@127.0.0.1 \
  > "$WORK/sftp.out" 2>&1 <<EOF || { cat "$WORK/sftp.out" >&2; fail "sftp put as dem12 (key)"; }
put $log_file 20250528.LOG.part
rename 20250528.LOG.part 20250528.LOG
ls -l
EOF
grep -q '20250528.LOG' "$WORK/sftp.out" || fail "dem12 does not see its file: $(cat "$WORK/sftp.out")"
curl -sS --insecure -u "su12:$sftp_pw" -T "$log_file" \
  "sftp://127.0.0.1:$sftp_port/~/20250528.LOG" || fail "curl sftp upload as su12 (password)"
check "over SFTP: dem12 (key, OpenSSH sftp) and su12 (password, curl) each put 20250528.LOG"
# A centre is locked in its folder and cannot read another's.
if sftp -q "${ssh_opts[@]}" -i "$WORK/dem12_key" -P "$sftp_port" -b - dem12@127.0.0.1 \
     > "$WORK/sftp2.out" 2>&1 <<'EOF'
ls "/SU12 (HYBRIDE)"
EOF
then fail "dem12 can list su12's folder: $(cat "$WORK/sftp2.out")"; fi
if curl -sS --insecure -u "su12:wrong-password" "sftp://127.0.0.1:$sftp_port/~/" >/dev/null 2>&1; then
  fail "a wrong SFTP password was accepted"
fi
check "dem12 cannot list su12's folder; a wrong password is refused"
# The files are in sluice's LOG_ROOT, readable by the sluice user, byte for byte.
log_root="$(podman exec "$(ctr sluice)" sh -c 'echo "$LOG_ROOT"')"
for folder in 'DEM12 (PVC)' 'SU12 (HYBRIDE)'; do
  got="$(podman exec "$(ctr sluice)" sha256sum "$log_root/$folder/20250528.LOG" | cut -d' ' -f1)" ||
    fail "$log_root/$folder/20250528.LOG not readable by sluice"
  [[ $got == "$sum" ]] || fail "$folder/20250528.LOG differs in LOG_ROOT"
done
check "both files are in sluice's LOG_ROOT ($log_root/<folder>/20250528.LOG), read by user sluice, same sha256"
# The watcher (LOG_WATCH, inotify) turns each dropped file into its centre's session,
# without any call: wait for the day's session of both centres, with its two pieces.
for code_ in DEM12 SU12; do
  deadline=$((SECONDS + 120))
  until [[ $(code "${auth[@]}" "$base/sessions?centre=$code_&from=2025-05-28&to=2025-05-28") == 200 ]] &&
        [[ $(json 'sum(1 for s in d["items"] if s["date_production"] == "2025-05-28" and s["total_pieces"] == 2)') == 1 ]]; do
    ((SECONDS < deadline)) || fail "no 2025-05-28 session with 2 pieces for $code_ after 120 s: $(cat "$WORK/body")"
    sleep 2
  done
done
[[ $(code "${auth[@]}" "$base/centres/DEM12/log-files/20250528.LOG") == 200 ]] &&
  [[ $(json 'd["lines"]') == 6 ]] || fail "GET /centres/DEM12/log-files/20250528.LOG: $(cat "$WORK/body")"
check "the watcher ingested both SFTP drops: a 2025-05-28 session with 2 pieces per centre, 6 lines read"

# orders.sync reads the compose MariaDB (the ERP tables of docker/mariadb/init.sql).
[[ $(code "${auth[@]}" -H 'Content-Type: application/json' -d '{"kind":"orders.sync"}' "$base/jobs") == 202 ]] ||
  fail "POST /jobs orders.sync: $(cat "$WORK/body")"
sync_job="$(json 'd["id"]')"
deadline=$((SECONDS + 120))
until [[ $(code "${auth[@]}" "$base/jobs/$sync_job") == 200 ]] && [[ $(json 'd["status"]') == succeeded ]]; do
  [[ $(json 'd.get("status")') != failed ]] || fail "orders.sync failed: $(cat "$WORK/body")"
  ((SECONDS < deadline)) || fail "orders.sync not done after 120 s: $(cat "$WORK/body")"
  sleep 2
done
[[ $(code "${auth[@]}" "$base/sync-runs") == 200 ]] && [[ $(json 'd["items"][0]["status"]') == succeeded ]] ||
  fail "GET /sync-runs: $(cat "$WORK/body")"
check "orders.sync job $sync_job read the compose MariaDB and recorded a succeeded sync run"

# ---- Grafana's dashboard, run as its read-only role --------------------------------------
/usr/bin/python3 - docker/grafana/dashboards/sluice.json > "$WORK/panels.sql" <<'EOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    for t in p.get("targets", []):
        sql = re.sub(r"\$__timeFilter\(([^()]*(?:\([^()]*\))?[^()]*)\)",
                     r"\1 BETWEEN now() - interval '30 days' AND now()", t["rawSql"])
        assert "$__" not in sql, sql
        print(sql.rstrip().rstrip(";") + ";")
EOF
podman exec -i -e PGPASSWORD="$graf_db_pw" "$(ctr postgres)" \
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U grafana_reader -d sluice -o /dev/null \
  < "$WORK/panels.sql" || fail "a Grafana panel's query fails as grafana_reader"
if podman exec -e PGPASSWORD="$graf_db_pw" "$(ctr postgres)" psql -X -q -h 127.0.0.1 \
     -U grafana_reader -d sluice -c 'DELETE FROM jobs' >/dev/null 2>&1; then
  fail "grafana_reader can write"
fi
check "the $(grep -c ';$' "$WORK/panels.sql") Grafana panel queries run as grafana_reader, which cannot write"

# ---- graceful stop: no job lost ----------------------------------------------------------
post_job() {
  [[ $(code "${auth[@]}" -H 'Content-Type: application/json' -d "$1" "$base/jobs") == 202 ]] ||
    fail "POST /jobs $1: $(cat "$WORK/body")"
  json 'd["id"]'
}
short_job="$(post_job '{"kind":"test.sleep","args":{"ms":4000,"steps":4}}')"
long_job="$(post_job '{"kind":"test.sleep","args":{"ms":600000,"steps":600}}')"
deadline=$((SECONDS + 60))
while :; do
  s1="$(code "${auth[@]}" "$base/jobs/$short_job" >/dev/null; json 'd["status"]')"
  s2="$(code "${auth[@]}" "$base/jobs/$long_job" >/dev/null; json 'd["status"]')"
  [[ $s1 == running && $s2 == running ]] && break
  ((SECONDS < deadline)) || fail "jobs not both running: $s1 $s2"
  sleep 0.3
done
say "podman-compose down with jobs $short_job (4 s) and $long_job (10 min) running"
podman wait "$(ctr sluice)" > "$WORK/sluice.exit" 2>&1 &
wait_pid=$!
compose down -t 30 > "$WORK/down.log" 2>&1 || { cat "$WORK/down.log" >&2; fail "podman-compose down"; }
wait "$wait_pid" || true
exit_code="$(tr -d ' \n' < "$WORK/sluice.exit")"
[[ $exit_code == 0 ]] || { tail -n 30 "$WORK/sluice.log" >&2; fail "sluice exited \"$exit_code\" on podman-compose down"; }
check "podman-compose down -t 30: sluice exited 0"
# The volumes survive `down`: PostgreSQL alone again, to read what became of the jobs.
compose up -d postgres > "$WORK/up2.log" 2>&1 || fail "podman-compose up postgres (again)"
wait_healthy postgres 120
row() {
  podman exec "$(ctr postgres)" psql -X -At -U "$POSTGRES_USER_" -d sluice \
    -c "SELECT status || ' ' || coalesce(lease_owner, '-') FROM jobs WHERE id = $1"
}
POSTGRES_USER_="$(sed -n 's/^POSTGRES_USER=//p' .env | tail -n1)"
r1="$(row "$short_job")"; r2="$(row "$long_job")"
[[ $r1 == "succeeded -" ]] || fail "job $short_job (finishes within the grace period): $r1"
[[ $r2 == "queued -" ]] || fail "job $long_job (outlasts the grace period): $r2, expected queued again"
check "after down: the 4 s job succeeded within the grace period, the 10 min job is queued again (no lease): no job lost"
grep -q 'released' "$WORK/sluice.log" || fail "no release logged: $(tail -n 20 "$WORK/sluice.log")"

say "all checks passed in $((SECONDS - T0)) s"
