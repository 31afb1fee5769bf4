#!/bin/bash
# Stand-in for the official mariadb image's healthcheck.sh: --connect (the server accepts a
# login on its socket) and --innodb_initialized (InnoDB is up); other tests are refused.
# The official script logs in as a health-check user; this one uses root's password from
# the container's environment.
set -euo pipefail
client=(mariadb --no-defaults --socket=/run/mysqld/mysqld.sock -uroot
        --password="${MARIADB_ROOT_PASSWORD:-}" --batch --skip-column-names)
for arg in "$@"; do
  case "$arg" in
    --connect) "${client[@]}" -e 'SELECT 1' >/dev/null ;;
    --innodb_initialized)
      [[ $("${client[@]}" -e "SELECT 1 FROM information_schema.ENGINES WHERE ENGINE = 'InnoDB' AND SUPPORT IN ('YES', 'DEFAULT')") == 1 ]] ;;
    *) echo "healthcheck.sh (stand-in): unsupported test $arg" >&2; exit 2 ;;
  esac
done
