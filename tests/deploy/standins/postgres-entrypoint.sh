#!/bin/bash
# Stand-in for the official postgres image's entrypoint: on an empty PGDATA, initdb with
# POSTGRES_USER as superuser (password POSTGRES_PASSWORD, scram-sha-256 over TCP), create
# POSTGRES_DB, run /docker-entrypoint-initdb.d/*.sql and *.sh; then run postgres as the
# postgres user, listening on every address.
set -euo pipefail
[[ ${1:-} == postgres ]] || exec "$@"
shift
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"
export POSTGRES_USER="$user" POSTGRES_DB="$db"   # as the official entrypoint does
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

install -d -o postgres -g postgres -m 0700 "$PGDATA"
install -d -o postgres -g postgres -m 2775 /var/run/postgresql
if [[ ! -s $PGDATA/PG_VERSION ]]; then
  if [[ -z ${POSTGRES_PASSWORD:-} ]]; then
    echo "Error: Database is uninitialized and superuser password is not specified." >&2
    echo "       You must specify POSTGRES_PASSWORD to a non-empty value." >&2
    exit 1
  fi
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  chown postgres "$pwfile"
  as_pg initdb -D "$PGDATA" --username="$user" --pwfile="$pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  as_pg pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
  psql=(as_pg psql -X -q -v ON_ERROR_STOP=1 --username="$user" --no-password)
  if [[ $db != postgres ]]; then
    "${psql[@]}" --dbname=postgres --set db="$db" <<< 'CREATE DATABASE :"db";'
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    [[ -e $f ]] || continue
    case "$f" in
      *.sql) echo "running $f" >&2; "${psql[@]}" --dbname="$db" -f "$f" ;;
      *.sh) echo "running $f" >&2
            if [[ -x $f ]]; then "$f"; else # shellcheck disable=SC1090
              source "$f"; fi ;;
      *) echo "ignoring $f" >&2 ;;
    esac
  done
  as_pg pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "PostgreSQL init process complete; ready for start up." >&2
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups -- postgres -D "$PGDATA" "$@"
