#!/bin/bash
# docker/postgres/10-grafana-reader.sh: run by the postgres image's entrypoint when the
# database is first made (/docker-entrypoint-initdb.d): creates grafana_reader, a login
# that reads every table and writes none (pg_read_all_data), for Grafana's data source.
# Its password is GRAFANA_DB_PASSWORD; change it later with ALTER ROLE.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --no-password --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set pw="$GRAFANA_DB_PASSWORD" <<'SQL'
CREATE ROLE grafana_reader LOGIN PASSWORD :'pw' IN ROLE pg_read_all_data;
SQL
