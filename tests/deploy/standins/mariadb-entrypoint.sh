#!/bin/bash
# Stand-in for the official mariadb image's entrypoint: on an empty /var/lib/mysql,
# install the system tables, set root's password (MARIADB_ROOT_PASSWORD, root@'%' too),
# create MARIADB_DATABASE and MARIADB_USER@'%' (MARIADB_PASSWORD) with every right on it,
# run /docker-entrypoint-initdb.d/*.sql (in MARIADB_DATABASE) and *.sh; then run mariadbd
# on every address.
set -euo pipefail
[[ ${1:-} == mariadbd || ${1:-} == mysqld ]] || exec "$@"
shift
datadir=/var/lib/mysql
install -d -o mysql -g mysql -m 0755 /run/mysqld
chown mysql:mysql "$datadir"
# SQL string literal of $1
lit() { local s="${1//\\/\\\\}"; printf "'%s'" "${s//\'/\\\'}"; }
ident() { printf '`%s`' "${1//\`/\`\`}"; }

if [[ ! -d $datadir/mysql ]]; then
  if [[ -z ${MARIADB_ROOT_PASSWORD:-} ]]; then
    echo "Error: Database is uninitialized and password option is not specified" >&2
    echo "       You need to specify MARIADB_ROOT_PASSWORD" >&2
    exit 1
  fi
  mariadb-install-db --user=mysql --datadir="$datadir" --auth-root-authentication-method=normal \
    --skip-test-db >/dev/null
  sock=/run/mysqld/init.sock
  mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket="$sock" &
  pid=$!
  for ((i = 0; i < 120; i++)); do
    mariadb-admin --no-defaults --socket="$sock" -uroot ping >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { echo "mariadbd died during the init" >&2; exit 1; }
    sleep 0.5
  done
  root_pw="$(lit "$MARIADB_ROOT_PASSWORD")"
  {
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $root_pw;"
    echo "CREATE USER 'root'@'%' IDENTIFIED BY $root_pw;"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [[ -n ${MARIADB_DATABASE:-} ]]; then
      echo "CREATE DATABASE IF NOT EXISTS $(ident "$MARIADB_DATABASE");"
    fi
    if [[ -n ${MARIADB_USER:-} && -n ${MARIADB_PASSWORD:-} ]]; then
      echo "CREATE USER $(lit "$MARIADB_USER")@'%' IDENTIFIED BY $(lit "$MARIADB_PASSWORD");"
      if [[ -n ${MARIADB_DATABASE:-} ]]; then
        echo "GRANT ALL ON $(ident "$MARIADB_DATABASE").* TO $(lit "$MARIADB_USER")@'%';"
      fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | mariadb --no-defaults --socket="$sock" -uroot
  client=(mariadb --no-defaults --socket="$sock" -uroot --password="$MARIADB_ROOT_PASSWORD")
  [[ -z ${MARIADB_DATABASE:-} ]] || client+=(--database="$MARIADB_DATABASE")
  for f in /docker-entrypoint-initdb.d/*; do
    [[ -e $f ]] || continue
    case "$f" in
      *.sql) echo "running $f" >&2; "${client[@]}" < "$f" ;;
      *.sql.gz) echo "running $f" >&2; gunzip -c "$f" | "${client[@]}" ;;
      *.sh) echo "running $f" >&2
            if [[ -x $f ]]; then "$f"; else # shellcheck disable=SC1090
              source "$f"; fi ;;
      *) echo "ignoring $f" >&2 ;;
    esac
  done
  mariadb-admin --no-defaults --socket="$sock" -uroot --password="$MARIADB_ROOT_PASSWORD" shutdown
  wait "$pid" || true
  echo "MariaDB init process done. Ready for start up." >&2
fi
exec mariadbd --user=mysql --datadir="$datadir" --bind-address=0.0.0.0 "$@"
