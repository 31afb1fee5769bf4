/* routes: the whole map of the API — one static table {method, pattern, handler, role,
 * flags}. Each handler lives in the file of its resource (server/api/<resource>.c). */
#ifndef SLUICE_ROUTES_H
#define SLUICE_ROUTES_H

#include "http/router.h"

#include <stddef.h>

const struct route *api_routes(size_t *count);

#endif
