/* password: Argon2id hashing and verification behind a counting semaphore; see
 * password.h. The semaphore and the dummy hash are process-wide, set by password_init. */
#include "auth/password.h"

#include "core/text.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t freed = PTHREAD_COND_INITIALIZER;
static int slots_total = 1, slots_free = 1;
static char dummy_hash[PASSWORD_HASH_BYTES];

static void acquire(void) {
    pthread_mutex_lock(&lock);
    while (slots_free == 0) pthread_cond_wait(&freed, &lock);
    slots_free--;
    pthread_mutex_unlock(&lock);
}

static void release(void) {
    pthread_mutex_lock(&lock);
    slots_free++;
    pthread_cond_signal(&freed);
    pthread_mutex_unlock(&lock);
}

int password_init(int concurrency) {
    if (concurrency < 1) concurrency = 1;
    pthread_mutex_lock(&lock);
    slots_free += concurrency - slots_total;
    slots_total = concurrency;
    pthread_mutex_unlock(&lock);
    /* A random password nobody knows: verifying against it costs what a real one does. */
    unsigned char random[32];
    char pw[65];
    randombytes_buf(random, sizeof random);
    text_hex(random, sizeof random, pw);
    int rc = password_hash(pw, strlen(pw), dummy_hash);
    sodium_memzero(pw, sizeof pw);
    return rc;
}

int password_concurrency(void) {
    pthread_mutex_lock(&lock);
    int n = slots_total;
    pthread_mutex_unlock(&lock);
    return n;
}

/* Code points in valid UTF-8 (continuation bytes are not counted). */
static size_t count_chars(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

const char *password_check_rules(const char *pw, size_t len) {
    if (memchr(pw, '\0', len)) return "the password must not contain NUL characters";
    if (!text_utf8_valid(pw, len)) return "the password is not valid UTF-8";
    size_t chars = count_chars(pw, len);
    if (chars < PASSWORD_MIN_CHARS)
        return "the password is too short: at least 12 characters are required";
    if (chars > PASSWORD_MAX_CHARS)
        return "the password is too long: at most 1024 characters are allowed";
    return NULL;
}

int password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_BYTES]) {
    acquire();
    int rc = crypto_pwhash_str(out, pw, len, OPSLIMIT, MEMLIMIT);
    release();
    return rc == 0 ? 0 : -1;
}

bool password_verify(const char *hash, const char *pw, size_t len) {
    const char *against = hash && *hash ? hash : dummy_hash;
    acquire();
    int rc = crypto_pwhash_str_verify(against, pw, len);
    release();
    return rc == 0 && against != dummy_hash;
}

bool password_needs_rehash(const char *hash) {
    return crypto_pwhash_str_needs_rehash(hash, OPSLIMIT, MEMLIMIT) != 0;
}

void password_params(char *buf, size_t len) {
    snprintf(buf, len, "argon2id t=%llu m=%zu KiB", (unsigned long long)OPSLIMIT,
             (size_t)MEMLIMIT / 1024);
}
