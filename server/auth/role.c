/* role: see role.h. */
#include "auth/role.h"

#include <string.h>

static const char *const names[] = {
    [ROLE_PUBLIC] = "public",
    [ROLE_VIEWER] = "viewer",
    [ROLE_OPERATOR] = "operator",
    [ROLE_ADMIN] = "admin",
};

const char *role_name(int role) {
    if (role < ROLE_PUBLIC || role > ROLE_ADMIN) return "public";
    return names[role];
}

int role_parse(const char *name) {
    if (!name) return -1;
    for (int r = ROLE_VIEWER; r <= ROLE_ADMIN; r++)
        if (strcmp(name, names[r]) == 0) return r;
    return -1;
}
