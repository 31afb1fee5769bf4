/* password: Argon2id password hashing (libsodium crypto_pwhash_str) under a counting
 * semaphore, so that many logins at once cannot exhaust memory (each hash takes
 * crypto_pwhash_MEMLIMIT_INTERACTIVE, 64 MiB). Length rules count characters (Unicode
 * code points of valid UTF-8), not bytes. No allocation: hashes are written to
 * caller-provided buffers of PASSWORD_HASH_BYTES. */
#ifndef SLUICE_PASSWORD_H
#define SLUICE_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_MIN_CHARS 12
#define PASSWORD_MAX_CHARS 1024
#define PASSWORD_HASH_BYTES 128 /* crypto_pwhash_STRBYTES */

/* Sets the bound on concurrent hashes (>= 1) and computes the dummy hash that logins of
 * unknown users are verified against. Call once, before threads use this module;
 * returns -1 when libsodium cannot hash (out of memory). */
int password_init(int concurrency);

/* Checks the length rules of a password of len bytes. Returns NULL when acceptable,
 * else a static message saying what is wrong. */
const char *password_check_rules(const char *pw, size_t len);

/* Hashes pw (len bytes) into out (PASSWORD_HASH_BYTES, NUL-terminated). 0 or -1. */
int password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_BYTES]);

/* True when pw matches hash. hash NULL (unknown user) verifies against the dummy hash,
 * so that the call costs the same time, and returns false. */
bool password_verify(const char *hash, const char *pw, size_t len);

/* True when hash was made with other parameters than the current ones. */
bool password_needs_rehash(const char *hash);

/* The Argon2id parameters in use, for logs and benchmarks: "argon2id t=2 m=65536 KiB". */
void password_params(char *buf, size_t len);

/* How many hashes may run at once. */
int password_concurrency(void);

#endif
