/* centres: helpers of centres.c that other resources share (sessions, KPIs). */
#ifndef SLUICE_API_CENTRES_H
#define SLUICE_API_CENTRES_H

#include <stdbool.h>

#define CENTRE_CODE_MAX 32

/* A centre code from a URL or query, upper-cased into out; false when it cannot be a
 * code (then no centre has it). */
bool centre_code_normalize(const char *in, char out[CENTRE_CODE_MAX + 1]);

#endif
