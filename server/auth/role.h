/* role: names of the roles of enum role (http/router.h), ordered viewer < operator <
 * admin. Pure; returned strings are static. */
#ifndef SLUICE_ROLE_H
#define SLUICE_ROLE_H

#include "http/router.h"

/* "admin", "operator", "viewer" or "public". */
const char *role_name(int role);

/* ROLE_VIEWER..ROLE_ADMIN for a user role name (exact, lower case); -1 otherwise. */
int role_parse(const char *name);

#endif
