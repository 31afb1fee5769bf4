/* config_deploy: compose-only keys of `.env.example` and the placeholder-secret rule
 * (see config_deploy.h). Static tables; nothing allocated. */
#include "core/config_deploy.h"

#include <string.h>
#include <strings.h>

/* Values of sluice's own keys in .env.example: the compose deployment's (the databases
 * are the services `postgres` and `mariadb`) and placeholders for the secrets. */
static const struct {
    const char *name, *example;
} examples[] = {
    {"DATABASE_URL", "postgresql://sluice:change-me-postgres-password@postgres:5432/sluice"},
    {"MYSQL_URL", "mysql://sluice:change-me-mariadb-password@mariadb:3306/erp"},
    {"SECRET_KEY", "change-me-to-the-output-of-openssl-rand-base64-48"},
    {"PII_KEY", "0000000000000000000000000000000000000000000000000000000000000000"},
    {"ADMIN_USERNAME", "admin"},
    {"ADMIN_PASSWORD", "change-me-admin-password"},
};

const char *config_example_value(const char *name) {
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++)
        if (strcmp(examples[i].name, name) == 0) return examples[i].example;
    return NULL;
}

static const struct config_deploy_key deploy_keys[] = {
    {"POSTGRES_USER", "sluice", false,
     "Role that the compose `postgres` service creates; the user of DATABASE_URL."},
    {"POSTGRES_PASSWORD", "change-me-postgres-password", true,
     "Its password (URL-safe characters); the password of DATABASE_URL."},
    {"POSTGRES_DB", "sluice", false,
     "Database that the compose `postgres` service creates; the database of DATABASE_URL."},
    {"MARIADB_ROOT_PASSWORD", "change-me-mariadb-root-password", true,
     "root password of the compose `mariadb` service (the demo ERP database)."},
    {"MARIADB_DATABASE", "erp", false,
     "Database that the compose `mariadb` service creates with the ERP tables of "
     "docker/mariadb/; the database of MYSQL_URL."},
    {"MARIADB_USER", "sluice", false,
     "User that the compose `mariadb` service creates; the user of MYSQL_URL."},
    {"MARIADB_PASSWORD", "change-me-mariadb-password", true,
     "Its password (URL-safe characters); the password of MYSQL_URL."},
    {"SLUICE_PUBLISH", "127.0.0.1:8000", false,
     "Host address:port where compose publishes the API (0.0.0.0:8000 for every "
     "interface; a reverse proxy with TLS belongs in front of it)."},
    {"SFTP_PUBLISH", "2222", false,
     "Host [address:]port where compose publishes the SFTP server the centres drop their "
     "logs on."},
    {"SFTP_USERS", "DEM12:change-me-sftp-password:DEM12 (PVC)", true,
     "SFTP accounts of the centres, `user:password:folder` separated by `;`: each user is "
     "locked in its folder of LOG_ROOT (e.g. `DEM12 (PVC)`). An empty password allows only "
     "the keys in docker/sftp/authorized_keys/<user>."},
    {"GRAFANA_PUBLISH", "127.0.0.1:3000", false,
     "Host address:port of Grafana (`docker compose --profile observability up`)."},
    {"GRAFANA_ADMIN_PASSWORD", "change-me-grafana-password", true,
     "Password of Grafana's `admin` user (observability profile)."},
    {"GRAFANA_DB_PASSWORD", "change-me-grafana-db-password", true,
     "Password of `grafana_reader`, the read-only PostgreSQL role (pg_read_all_data) that "
     "Grafana queries with; docker/postgres/ creates it when the database is first made."},
};

const struct config_deploy_key *config_deploy_keys(size_t *count) {
    *count = sizeof deploy_keys / sizeof deploy_keys[0];
    return deploy_keys;
}

void config_deploy_write_example(FILE *out) {
    fputs("\n# ---- docker compose ----------------------------------------------------------\n"
          "# Read by docker-compose.yaml, not by sluice. Replace every `change-me` value:\n"
          "# outside local mode (HTTP_HOST not a loopback address) sluice refuses to start\n"
          "# while a secret still holds its placeholder.\n",
          out);
    for (size_t i = 0; i < sizeof deploy_keys / sizeof deploy_keys[0]; i++)
        fprintf(out, "\n# %s\n%s=%s\n", deploy_keys[i].help, deploy_keys[i].name,
                deploy_keys[i].example);
}

bool config_is_local(const struct config *cfg) {
    const char *h = cfg->http_host;
    if (!h) return false;
    return strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0 || strcmp(h, "[::1]") == 0 ||
           strcasecmp(h, "localhost") == 0;
}

bool config_is_placeholder(const char *value, const char *example) {
    if (!value || !*value) return false;
    if (example && strcmp(value, example) == 0) return true;
    return strcasestr(value, CONFIG_PLACEHOLDER_MARK) != NULL;
}

const char *config_placeholder_key(const struct config *cfg, config_lookup_fn lookup, void *ud) {
    size_t n;
    const struct config_key *keys = config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        if (!keys[i].secret || keys[i].type != CONFIG_STRING) continue;
        const char *v = *(char *const *)(const void *)((const char *)cfg + keys[i].offset);
        if (config_is_placeholder(v, config_example_value(keys[i].name))) return keys[i].name;
    }
    for (size_t i = 0; lookup && i < sizeof deploy_keys / sizeof deploy_keys[0]; i++) {
        if (!deploy_keys[i].secret) continue;
        if (config_is_placeholder(lookup(deploy_keys[i].name, ud), deploy_keys[i].example))
            return deploy_keys[i].name;
    }
    return NULL;
}
