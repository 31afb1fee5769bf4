#!/usr/bin/env bash
# run.sh: starts a throwaway sluice for the browser tests and runs a spec against it.
#
#   tests/browser/run.sh [SPEC.mjs] [DEFAULT_BIN]
#
# Creates a database through SLUICE_TEST_PG_ADMIN_URL (superuser URL), starts
# `$SLUICE_TEST_BIN serve` (DEFAULT_BIN when unset; ctest passes this build's binary) on a
# free port of 127.0.0.1 with generated SECRET_KEY/PII_KEY and the admin account
# admin / admin-password-123, waits for /healthz, runs `node SPEC http://127.0.0.1:PORT`
# (default docs.spec.mjs), then stops the server with SIGTERM and drops the database,
# whatever happened. Exit status: the spec's, or 1 when the set-up failed. The server's
# log is printed when the spec fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="${SLUICE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}"
spec="${1:-$here/docs.spec.mjs}"
bin="${SLUICE_TEST_BIN:-${2:-}}"

die() { printf 'browser: %s\n' "$*" >&2; exit 1; }

[[ -n ${SLUICE_TEST_PG_ADMIN_URL:-} ]] || die "SLUICE_TEST_PG_ADMIN_URL is not set (scripts/test sets it)"
[[ -n $bin && -x $bin ]] || die "no sluice binary: set SLUICE_TEST_BIN (got '${bin}')"
command -v psql >/dev/null || die "psql is missing (apt-get install postgresql-client)"
command -v curl >/dev/null || die "curl is missing"

# postgres[ql]://auth@host:port/DB?query → the same URL with database $1.
url_with_db() {
  local url="$SLUICE_TEST_PG_ADMIN_URL" query="" rest
  if [[ $url == *\?* ]]; then query="?${url#*\?}"; url="${url%%\?*}"; fi
  rest="${url#*://}"
  if [[ $rest == */* ]]; then url="${url%/*}"; fi
  printf '%s/%s%s\n' "$url" "$1" "$query"
}

# The name is made of our own digits only: nothing from outside reaches the SQL text.
db="sluice_browser_$$_$(date +%s)"
log="$(mktemp -t sluice-browser.XXXXXX.log)"
pid=""

cleanup() {
  local rc=$?
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  psql -X -q "$SLUICE_TEST_PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" \
    >/dev/null 2>&1 || printf 'browser: could not drop database %s\n' "$db" >&2
  if ((rc != 0)) && [[ -s $log ]]; then
    printf 'browser: --- server log (%s) ---\n' "$log" >&2
    tail -n 50 "$log" >&2
  fi
  rm -f -- "$log"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql -X -q -v ON_ERROR_STOP=1 "$SLUICE_TEST_PG_ADMIN_URL" -c "CREATE DATABASE \"$db\"" >/dev/null \
  || die "cannot create database $db"

# A free port: bind port 0, read what the kernel chose, release it.
port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});')"

env DATABASE_URL="$(url_with_db "$db")" \
    SECRET_KEY="$(head -c 36 /dev/urandom | base64 -w0)" \
    PII_KEY="$(od -An -tx1 -v -N32 /dev/urandom | tr -d ' \n')" \
    HTTP_HOST=127.0.0.1 HTTP_PORT="$port" \
    MIGRATIONS_DIR="$root/migrations" \
    ADMIN_USERNAME=admin ADMIN_PASSWORD=admin-password-123 \
    "$bin" serve >"$log" 2>&1 &
pid=$!

base="http://127.0.0.1:$port"
for i in $(seq 1 300); do
  if curl -fsS -o /dev/null --max-time 2 "$base/healthz" 2>/dev/null; then break; fi
  kill -0 "$pid" 2>/dev/null || die "sluice exited during start-up"
  ((i < 300)) || die "sluice did not answer $base/healthz within 30 s"
  sleep 0.1
done

node "$spec" "$base"
