# shellcheck shell=bash
# Shared helpers for scripts/run and scripts/test. Source it from a bash script
# that has already done `set -euo pipefail`.
#
#   sluice_root                 print the repository root
#   ensure_packages             install missing Debian packages (idempotent, fast when present)
#   ensure_npm                  npm ci when node_modules is missing or stale
#   build_release / build_test  configure + build build/ (Release) or build-test/ (sanitizers, fuzzers)
#   pg_start DIR PORT [test]    start a project-local PostgreSQL with data in DIR
#   pg_stop DIR                 stop it (no-op when not running)
#   pg_ensure_db DIR ROLE DB    create ROLE (with a generated password) and DB if missing
#   mariadb_start DIR PORT      start a project-local MariaDB with data in DIR
#   mariadb_stop DIR            stop it (no-op when not running)
#   mariadb_ensure_db DIR USER DB   create USER (generated password) and DB if missing
#   load_dotenv [FILE]          export .env's assignments (read by `sluice config env`) without overriding the environment
#
# Layout for an instance whose data directory is P/NAME (P is .local or .local/test):
#   P/NAME                 data directory, owned by postgres / mysql
#   P/run/NAME/            unix socket (and MariaDB pid file, my.cnf), owned by the server user
#   P/log/NAME.log         server log
#   P/tmp/NAME/            MariaDB temporary files (tmpdir), owned by mysql
#   P/secrets/             generated passwords, root-only (dir 700, files 600)
# After pg_start / mariadb_start, SLUICE_STARTED is 1 if this call started the
# server and 0 if it was already running (so callers stop only what they started).

# Let `set -e` reach into $(...) too, so a failing helper whose output is
# captured (pw="$(pg_ensure_db ...)") stops the script instead of going on.
shopt -s inherit_errexit

SLUICE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

# Default ports, away from the system servers' 5432 / 3306 and below Linux's
# ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by default): a port
# inside it can be taken as the source port of some outgoing connection (even one
# of sluice's own connects to the stopped server, which then connects to itself)
# and the database cannot start again until that connection ends. The
# environment may override them; pg_start/mariadb_start warn about a port in the
# ephemeral range that is not reserved (net.ipv4.ip_local_reserved_ports).
: "${SLUICE_RUN_PG_PORT:=25432}"
: "${SLUICE_RUN_MYSQL_PORT:=23306}"
: "${SLUICE_TEST_PG_PORT:=25433}"
: "${SLUICE_TEST_MYSQL_PORT:=23307}"

# shellcheck disable=SC2034  # read by the scripts that source this file
SLUICE_STARTED=0

sluice_root() { printf '%s\n' "$SLUICE_ROOT"; }

log()  { printf 'sluice: %s\n' "$*" >&2; }
die()  { printf 'sluice: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------

SLUICE_DEB_PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
  libmicrohttpd-dev libjwt-dev libsodium-dev libpq-dev libmariadb-dev libssl-dev
  libjansson-dev libcmocka-dev libcurl4-openssl-dev
  postgresql postgresql-contrib mariadb-server mariadb-client
  llvm wrk chromium fonts-liberation curl ca-certificates
  pgloader time
  podman podman-compose runc netavark aardvark-dns iptables mmdebstrap python3-yaml
  openssh-client
)

# Run a command as root (directly, or through sudo when we are not root).
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run: $*"
  fi
}

ensure_packages() {
  local pkgs=("${SLUICE_DEB_PACKAGES[@]}") missing=() pkg status
  # Node may come from elsewhere (e.g. NodeSource, whose nodejs ships npm and
  # conflicts with Debian's npm): only install Debian's when either is absent.
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    pkgs+=(nodejs npm)
  fi
  for pkg in "${pkgs[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0

  log "installing Debian packages: ${missing[*]}"
  # Keep package scripts from starting the system PostgreSQL/MariaDB: we never
  # use them. Only remove the policy file if we created it.
  local policy=/usr/sbin/policy-rc.d created_policy=0 rc=0
  if [[ ! -e $policy ]]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    created_policy=1
  fi
  # A partly failed update (one unreachable source) is not fatal by itself:
  # the install below tells whether what we need could be had.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
    log "warning: apt-get update failed; trying the install anyway"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "${missing[@]}" || rc=$?
  ((created_policy)) && as_root rm -f "$policy"
  ((rc == 0)) || die "apt-get failed (exit $rc)"
}

# ---------------------------------------------------------------------------
# npm assets (Swagger UI, redocly, playwright-core, ajv)
# ---------------------------------------------------------------------------

# --ignore-scripts: none of our packages needs its install script (the only
# ones are a telemetry ping and a banner), and browsers come from Debian.
ensure_npm() {
  local root="$SLUICE_ROOT"
  [[ -f $root/package.json ]] || return 0
  if [[ ! -d $root/node_modules || ! -f $root/node_modules/.package-lock.json ]] ||
     [[ -f $root/package-lock.json && $root/package-lock.json -nt $root/node_modules/.package-lock.json ]]; then
    if [[ -f $root/package-lock.json ]]; then
      log "npm ci"
      (cd "$root" && npm ci --no-audit --no-fund --ignore-scripts)
    else
      log "npm install (no package-lock.json yet)"
      (cd "$root" && npm install --no-audit --no-fund --ignore-scripts)
    fi
  fi
}

# ---------------------------------------------------------------------------
# Builds
# ---------------------------------------------------------------------------

build_release() {
  cmake -S "$SLUICE_ROOT" -B "$SLUICE_ROOT/build" -DCMAKE_BUILD_TYPE=Release \
    -DSLUICE_TESTS=OFF
  cmake --build "$SLUICE_ROOT/build" -j"$(nproc)" --target sluice
}

build_test() {
  cmake -S "$SLUICE_ROOT" -B "$SLUICE_ROOT/build-test" -DCMAKE_BUILD_TYPE=Debug \
    -DSLUICE_SANITIZE=ON -DSLUICE_FUZZ=ON -DCMAKE_C_COMPILER=clang
  cmake --build "$SLUICE_ROOT/build-test" -j"$(nproc)"
}

# ---------------------------------------------------------------------------
# Small helpers shared by the database functions
# ---------------------------------------------------------------------------

# abs_path PATH: absolute path (PATH need not exist), relative to the repo root.
abs_path() {
  local p="$1"
  [[ $p == /* ]] || p="$SLUICE_ROOT/$p"
  realpath -m -- "$p"
}

# as_user USER CMD...: run CMD as USER from /, so an unreadable cwd cannot break
# it. When we are not root, everything already runs as ourselves.
as_user() {
  local user="$1"; shift
  if [[ $EUID -eq 0 ]]; then
    (cd / && runuser -u "$user" -- "$@")
  else
    (cd / && "$@")
  fi
}

# own_dir USER DIR [MODE]: create DIR (and parents, 755) and give it to USER.
own_dir() {
  local user="$1" dir="$2" mode="${3:-755}"
  mkdir -p -- "$dir"
  chmod "$mode" -- "$dir"
  if [[ $EUID -eq 0 ]] && [[ $(stat -c %U -- "$dir") != "$user" ]]; then
    chown -R "$user:" -- "$dir"
  fi
}

# own_file USER FILE: create FILE if missing, owned by USER (for logs).
own_file() {
  local user="$1" file="$2"
  [[ -e $file ]] || : > "$file"
  [[ $EUID -ne 0 ]] || chown "$user:" -- "$file"
}

# secret FILE [BYTES]: print the secret stored in FILE, generating it first
# (BYTES random bytes as lowercase hex: safe in URLs and SQL literals).
secret() {
  local file="$1" bytes="${2:-24}"
  if [[ ! -s $file ]]; then
    mkdir -p -- "$(dirname -- "$file")"
    chmod 700 -- "$(dirname -- "$file")"
    (umask 077 && od -An -tx1 -v -N"$bytes" /dev/urandom | tr -d ' \n' > "$file")
  fi
  chmod 600 -- "$file"
  cat -- "$file"
}

# secret_base64 FILE BYTES: same, base64-encoded.
secret_base64() {
  local file="$1" bytes="$2"
  if [[ ! -s $file ]]; then
    mkdir -p -- "$(dirname -- "$file")"
    chmod 700 -- "$(dirname -- "$file")"
    (umask 077 && head -c "$bytes" /dev/urandom | base64 -w0 > "$file")
  fi
  chmod 600 -- "$file"
  cat -- "$file"
}

# Make sure USER can reach DIR (all its parents must be traversable).
check_reachable() {
  local user="$1" dir="$2"
  if [[ $EUID -eq 0 ]] && ! as_user "$user" test -x "$dir"; then
    die "$dir is not reachable by the '$user' user: every parent directory needs o+x"
  fi
}

# Instance paths, derived from the data directory DIR.
inst_parent()  { dirname -- "$(abs_path "$1")"; }
inst_name()    { basename -- "$(abs_path "$1")"; }
inst_run()     { printf '%s/run/%s\n' "$(inst_parent "$1")" "$(inst_name "$1")"; }
inst_log()     { printf '%s/log/%s.log\n' "$(inst_parent "$1")" "$(inst_name "$1")"; }
inst_secrets() { printf '%s/secrets\n' "$(inst_parent "$1")"; }

# A unix socket path must stay under ~100 bytes: fall back to a short
# directory under /tmp derived from the real one when the checkout is deep.
inst_sock_dir() {
  local run; run="$(inst_run "$1")"
  if ((${#run} > 80)); then
    run="/tmp/sluice-$(printf '%s' "$run" | md5sum | cut -c1-12)"
  fi
  printf '%s\n' "$run"
}

# warn_ephemeral_port PORT: warn when PORT lies in the kernel's ephemeral range
# and is not reserved (see the default ports above).
warn_ephemeral_port() {
  local port="$1" lo hi reserved range
  read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || return 0
  ((port >= lo && port <= hi)) || return 0
  reserved="$(cat /proc/sys/net/ipv4/ip_local_reserved_ports 2>/dev/null || true)"
  for range in ${reserved//,/ }; do
    if [[ $range == *-* ]]; then
      ((port >= ${range%-*} && port <= ${range#*-})) && return 0
    elif [[ -n $range ]]; then
      ((port == range)) && return 0
    fi
  done
  log "warning: port $port is in the ephemeral range $lo-$hi: an outgoing connection may" \
    "take it while the server is stopped (choose a port below $lo, or reserve it in" \
    "net.ipv4.ip_local_reserved_ports)"
}

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------

pg_bin() {
  local bin="${SLUICE_PG_BIN:-/usr/lib/postgresql/15/bin}"
  if [[ ! -x $bin/pg_ctl ]]; then   # another major version: take the newest
    bin="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
  fi
  [[ -n $bin && -x $bin/pg_ctl ]] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
  printf '%s\n' "$bin"
}

# pg_ctl_cmd DIR: the pg_ctl command line (as an array in PG_CTL) for DIR.
pg_ctl_cmd() {
  local dir bin
  dir="$(abs_path "$1")"; bin="$(pg_bin)"
  PG_CTL=()
  [[ $EUID -ne 0 ]] || PG_CTL=(runuser -u postgres --)
  PG_CTL+=(env -C / "$bin/pg_ctl" -D "$dir" -w -t 60 -l "$(inst_log "$dir")")
}

# pg_ctl_string DIR: the same as one shell-quoted string, to which a caller can
# append "start", "stop -m fast", "status"... (used for SLUICE_TEST_PG_CTL).
pg_ctl_string() {
  pg_ctl_cmd "$1"
  printf '%q ' "${PG_CTL[@]}" | sed 's/ $//'
}

pg_running() {
  local dir; dir="$(abs_path "$1")"
  [[ -f $dir/PG_VERSION ]] || return 1
  pg_ctl_cmd "$dir"
  "${PG_CTL[@]}" status >/dev/null 2>&1
}

# pg_port DIR: the port of the server running on DIR (line 4 of postmaster.pid).
pg_port() { sed -n 4p "$(abs_path "$1")/postmaster.pid"; }

# pg_psql DIR [psql args...]: psql as the superuser over the unix socket of
# the server running on DIR (socket directory: line 5 of postmaster.pid).
pg_psql() {
  local dir; dir="$(abs_path "$1")"; shift
  psql -X -q -v ON_ERROR_STOP=1 -h "$(sed -n 5p "$dir/postmaster.pid")" \
    -p "$(pg_port "$dir")" -U postgres "$@"
}

# pg_start DIR PORT [test]: initdb if needed, write the config, start.
# "test" turns durability off (fsync, synchronous_commit, full_page_writes).
pg_start() {
  local dir port="$2" mode="${3:-run}"
  dir="$(abs_path "$1")"
  local parent run sock logf secrets pw bin
  parent="$(inst_parent "$dir")"; run="$(inst_run "$dir")"; sock="$(inst_sock_dir "$dir")"
  logf="$(inst_log "$dir")"; secrets="$(inst_secrets "$dir")"; bin="$(pg_bin)"
  SLUICE_STARTED=0
  warn_ephemeral_port "$port"

  mkdir -p -- "$parent" "$parent/log"
  chmod 755 -- "$parent" "$parent/log"
  [[ $parent != "$SLUICE_ROOT/.local/"* ]] || chmod 755 -- "$SLUICE_ROOT/.local"
  own_dir postgres "$run" 700
  [[ $sock == "$run" ]] || own_dir postgres "$sock" 700
  own_file postgres "$logf"
  pw="$(secret "$secrets/pg_password")"

  if pg_running "$dir"; then
    [[ $(pg_port "$dir") == "$port" ]] ||
      die "PostgreSQL in $dir is already running on port $(pg_port "$dir"), not $port"
    log "PostgreSQL already running in $dir"
    return 0
  fi

  if [[ ! -f $dir/PG_VERSION ]]; then
    log "initdb $dir"
    own_dir postgres "$dir" 700
    check_reachable postgres "$dir"
    as_user postgres "$bin/initdb" -D "$dir" -U postgres --auth-local=trust \
      --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    printf "\ninclude_if_exists = 'sluice.conf'\n" >> "$dir/postgresql.conf"
  fi
  own_dir postgres "$dir" 700

  # Written on every start, so a changed port or mode takes effect. pg_ctl
  # start alone (as in SLUICE_TEST_PG_CTL) picks it up from the data dir.
  {
    echo "# Written by scripts/lib/common.sh (pg_start): changes here are overwritten."
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$sock'"
    echo "max_connections = 200"
    echo "password_encryption = 'scram-sha-256'"
    if [[ $mode == test ]]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } > "$dir/sluice.conf"
  [[ $EUID -ne 0 ]] || chown postgres: -- "$dir/sluice.conf"
  chmod 600 -- "$dir/sluice.conf"

  log "starting PostgreSQL on 127.0.0.1:$port ($dir, log $logf)"
  pg_ctl_cmd "$dir"
  if ! "${PG_CTL[@]}" start >/dev/null; then
    tail -n 20 -- "$logf" >&2 || true
    die "PostgreSQL failed to start (see $logf)"
  fi
  SLUICE_STARTED=1

  # The superuser's password (for TCP logins) comes from the secrets file, set
  # on every start so a lost or changed file heals itself.
  if ! pg_psql "$dir" -d postgres <<SQL
ALTER ROLE postgres PASSWORD '$pw';
SQL
  then
    pg_stop "$dir"
    die "cannot set the superuser password of PostgreSQL in $dir"
  fi
}

pg_stop() {
  local dir; dir="$(abs_path "$1")"
  if pg_running "$dir"; then
    log "stopping PostgreSQL ($dir)"
    pg_ctl_cmd "$dir"
    "${PG_CTL[@]}" stop -m fast >/dev/null || "${PG_CTL[@]}" stop -m immediate >/dev/null
  fi
}

# pg_ensure_db DIR ROLE DB: create the login ROLE (password kept in
# secrets/pg_ROLE_password) and database DB owned by it; print the password.
pg_ensure_db() {
  local dir role="$2" db="$3" pw
  dir="$(abs_path "$1")"
  pw="$(secret "$(inst_secrets "$dir")/pg_${role}_password")"
  pg_psql "$dir" -d postgres <<SQL
SELECT format('CREATE ROLE %I LOGIN', '$role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role') \gexec
ALTER ROLE "$role" LOGIN PASSWORD '$pw';
SELECT format('CREATE DATABASE %I OWNER %I', '$db', '$role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$db') \gexec
SQL
  printf '%s\n' "$pw"
}

pg_admin_password() { secret "$(inst_secrets "$1")/pg_password"; }

# ---------------------------------------------------------------------------
# MariaDB
# ---------------------------------------------------------------------------

# Files of a MariaDB instance with data directory DIR.
mdb_cnf()    { printf '%s/my.cnf\n' "$(inst_run "$1")"; }
mdb_client() { printf '%s/mariadb_client.cnf\n' "$(inst_secrets "$1")"; }
mdb_pid()    { printf '%s/mariadbd.pid\n' "$(inst_run "$1")"; }
mdb_sock()   { printf '%s/mariadb.sock\n' "$(inst_sock_dir "$1")"; }
# Temporary files (a big GROUP BY's on-disk temp tables): beside the data, never in /tmp,
# which may be a small tmpfs.
mdb_tmp()    { printf '%s/tmp/%s\n' "$(inst_parent "$1")" "$(inst_name "$1")"; }

mariadb_running() {
  local dir; dir="$(abs_path "$1")"
  [[ -f $(mdb_client "$dir") ]] || return 1
  mariadb-admin --defaults-file="$(mdb_client "$dir")" --connect-timeout=2 ping >/dev/null 2>&1
}

# mariadb_sql DIR [client args...]: the mariadb client as root over the socket.
mariadb_sql() {
  local dir; dir="$(abs_path "$1")"; shift
  mariadb --defaults-file="$(mdb_client "$dir")" "$@"
}

mariadb_start() {
  local dir port="$2"
  dir="$(abs_path "$1")"
  local parent run sock logf secrets cnf client pidf pw tmpd
  parent="$(inst_parent "$dir")"; run="$(inst_run "$dir")"; logf="$(inst_log "$dir")"
  tmpd="$(mdb_tmp "$dir")"
  secrets="$(inst_secrets "$dir")"; cnf="$(mdb_cnf "$dir")"; client="$(mdb_client "$dir")"
  pidf="$(mdb_pid "$dir")"; sock="$(mdb_sock "$dir")"
  SLUICE_STARTED=0
  warn_ephemeral_port "$port"

  mkdir -p -- "$parent" "$parent/log"
  chmod 755 -- "$parent" "$parent/log"
  [[ $parent != "$SLUICE_ROOT/.local/"* ]] || chmod 755 -- "$SLUICE_ROOT/.local"
  own_dir mysql "$run" 755
  own_dir mysql "$tmpd" 700
  [[ $(dirname -- "$sock") == "$run" ]] || own_dir mysql "$(dirname -- "$sock")" 755
  own_file mysql "$logf"
  pw="$(secret "$secrets/mariadb_root_password")"

  # Server options: one file, so nothing from /etc/mysql gets in the way.
  cat > "$cnf" <<EOF
# Written by scripts/lib/common.sh (mariadb_start): changes here are overwritten.
[mariadbd]
datadir = $dir
socket = $sock
port = $port
bind-address = 127.0.0.1
pid-file = $pidf
log-error = $logf
tmpdir = $tmpd
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
max_connections = 200
innodb_buffer_pool_size = 128M
EOF
  chmod 644 -- "$cnf"
  # Client options with the root password: root-only.
  (umask 077 && cat > "$client" <<EOF
[client]
user = root
password = $pw
socket = $sock
EOF
  )

  if mariadb_running "$dir"; then
    log "MariaDB already running in $dir"
    return 0
  fi

  if [[ ! -d $dir/mysql ]]; then
    log "mariadb-install-db $dir"
    own_dir mysql "$dir" 700
    check_reachable mysql "$dir"
    local user_opt=()
    [[ $EUID -ne 0 ]] || user_opt=(--user=mysql)
    if ! (cd / && mariadb-install-db --defaults-file="$cnf" "${user_opt[@]}" \
            --auth-root-authentication-method=normal --skip-test-db >>"$logf" 2>&1); then
      tail -n 20 -- "$logf" >&2 || true
      die "mariadb-install-db failed (see $logf)"
    fi
  fi
  own_dir mysql "$dir" 700

  log "starting MariaDB on 127.0.0.1:$port ($dir, log $logf)"
  local user_opt=()
  [[ $EUID -ne 0 ]] || user_opt=(--user=mysql)
  # setsid: own session, so a Ctrl-C in the terminal does not reach the server.
  (cd / && exec setsid mariadbd --defaults-file="$cnf" "${user_opt[@]}" \
      </dev/null >>"$logf" 2>&1) &
  local pid=$!

  # Wait for the socket to answer (ping succeeds even when access is denied).
  local i auth_args
  for ((i = 0; i < 120; i++)); do
    pid_alive "$pid" || { i=120; break; }
    mariadb-admin --no-defaults --socket="$sock" -uroot ping >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ((i == 120)); then
    tail -n 20 -- "$logf" >&2 || true
    die "MariaDB did not come up (see $logf)"
  fi
  # shellcheck disable=SC2034  # read by the caller
  SLUICE_STARTED=1

  # root gets the password from the secrets file (also over TCP from
  # 127.0.0.1). A fresh instance still has a password-less root (normal
  # authentication), as does one whose first start stopped half-way.
  auth_args=(--defaults-file="$client")
  if ! mariadb "${auth_args[@]}" -e 'SELECT 1' >/dev/null 2>&1; then
    auth_args=(--no-defaults --socket="$sock" -uroot)
  fi
  if ! mariadb "${auth_args[@]}" <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '$pw';
ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
SQL
  then
    mariadb_stop "$dir"
    die "cannot log in to MariaDB in $dir as root (password in $secrets lost?): remove $dir to start over"
  fi
}

# pid_alive PID: the process exists and is not a zombie waiting to be reaped.
pid_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
  [[ -n $state && $state != Z ]]
}

mariadb_stop() {
  local dir; dir="$(abs_path "$1")"
  local pidf pid="" i
  pidf="$(mdb_pid "$dir")"
  [[ -f $pidf ]] && pid="$(cat -- "$pidf" 2>/dev/null || true)"
  if mariadb_running "$dir"; then
    log "stopping MariaDB ($dir)"
    # Waits until the server has removed its pid file.
    mariadb-admin --defaults-file="$(mdb_client "$dir")" shutdown >/dev/null 2>&1 || true
  fi
  # Fallback when shutdown did not work (or the password is unknown): the pid
  # file names the server; TERM it, then KILL it if it does not go.
  if [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid" &&
     [[ $(cat "/proc/$pid/comm" 2>/dev/null) == mariadbd ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do
      pid_alive "$pid" || break
      sleep 0.5
    done
    if pid_alive "$pid"; then
      log "MariaDB ($dir) ignored SIGTERM: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
}

# mariadb_ensure_db DIR USER DB: create USER (password kept in
# secrets/mariadb_USER_password) with all rights on DB; print the password.
mariadb_ensure_db() {
  local dir user="$2" db="$3" pw
  dir="$(abs_path "$1")"
  pw="$(secret "$(inst_secrets "$dir")/mariadb_${user}_password")"
  mariadb_sql "$dir" <<SQL
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$user'@'127.0.0.1' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$pw';
ALTER USER '$user'@'127.0.0.1' IDENTIFIED BY '$pw';
ALTER USER '$user'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'localhost';
SQL
  printf '%s\n' "$pw"
}

mariadb_admin_password() { secret "$(inst_secrets "$1")/mariadb_root_password"; }

# ---------------------------------------------------------------------------
# .env
# ---------------------------------------------------------------------------

# load_dotenv [FILE]: export the assignments of FILE (default: .env at the repo
# root) that the environment does not set (the environment wins). The file is read
# by the sluice binary itself (`sluice config env FILE` prints them shell-quoted),
# so the scripts and the server never read it differently. Needs the binary: call
# build_release first (SLUICE_BIN overrides its path).
load_dotenv() {
  local file="${1:-$SLUICE_ROOT/.env}" bin="${SLUICE_BIN:-$SLUICE_ROOT/build/sluice}" code
  [[ -f $file ]] || return 0
  [[ -x $bin ]] || die "load_dotenv: $bin is not built (run build_release first)"
  code="$("$bin" config env "$file")" || die "$file could not be read (see above)"
  eval "$code"
}
