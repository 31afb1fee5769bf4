/* pagination: limit/sort/cursor parsing, cursor encoding and the list reply; see
 * pagination.h. A cursor is base64url (no padding) of the JSON array
 * ["<sort name>", "<key 1>", ...]: opaque to clients, checked key by key when read. */
#include "api/pagination.h"

#include "api/query_params.h"
#include "core/json_out.h"
#include "core/text.h"
#include "http/reply.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_MAX_CHARS 4096
#define KEY_MAX_BYTES 1000

static bool parse_limit(const char *v, long *out) {
    if (!v || !*v || strlen(v) > 7) return false;
    long n = 0;
    for (const char *c = v; *c; c++) {
        if (*c < '0' || *c > '9') return false;
        n = n * 10 + (*c - '0');
    }
    if (n < 1 || n > PAGE_LIMIT_MAX) return false;
    *out = n;
    return true;
}

static bool key_valid(enum page_key_type type, const char *k) {
    size_t n = strlen(k);
    switch (type) {
    case PAGE_KEY_TEXT: return n <= KEY_MAX_BYTES && text_utf8_valid(k, n);
    case PAGE_KEY_INT: {
        if (n == 0 || n > 20) return false;
        errno = 0;
        char *end = NULL;
        long long v = strtoll(k, &end, 10);
        (void)v;
        return errno == 0 && end && *end == '\0' && (k[0] == '-' || (k[0] >= '0' && k[0] <= '9'));
    }
    case PAGE_KEY_DATE: {
        struct query_date d;
        return parse_date(k, &d);
    }
    }
    return false;
}

bool page_cursor_decode(const struct page_sort *sort, const char *cursor, char *keys[PAGE_MAX_KEYS],
                        char *why, size_t whylen) {
    for (size_t i = 0; i < PAGE_MAX_KEYS; i++) keys[i] = NULL;
    size_t n = strlen(cursor);
    if (n == 0 || n > CURSOR_MAX_CHARS) {
        snprintf(why, whylen, "cursor is empty or too long");
        return false;
    }
    unsigned char *bin = malloc(n);
    size_t binlen = 0;
    if (!bin || sodium_base642bin(bin, n, cursor, n, NULL, &binlen, NULL,
                                  sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
        free(bin);
        snprintf(why, whylen, "cursor is not base64url");
        return false;
    }
    json_error_t err;
    json_t *arr = json_loadb((const char *)bin, binlen, 0, &err);
    free(bin);
    bool ok = json_is_array(arr) && json_array_size(arr) == sort->nkeys + 1;
    const char *name = ok ? json_string_value(json_array_get(arr, 0)) : NULL;
    if (!ok || !name) {
        snprintf(why, whylen, "cursor is not one this API made");
    } else if (strcmp(name, sort->name) != 0) {
        ok = false;
        snprintf(why, whylen, "cursor was made for sort=%s, not sort=%s", name, sort->name);
    }
    for (size_t i = 0; ok && i < sort->nkeys; i++) {
        json_t *k = json_array_get(arr, i + 1);
        const char *s = json_string_value(k);
        if (!s || strlen(s) != json_string_length(k) || !key_valid(sort->keys[i], s)) {
            ok = false;
            snprintf(why, whylen, "cursor is not one this API made");
            break;
        }
        keys[i] = strdup(s);
        if (!keys[i]) ok = false;
    }
    json_decref(arr);
    if (!ok)
        for (size_t i = 0; i < PAGE_MAX_KEYS; i++) {
            free(keys[i]);
            keys[i] = NULL;
        }
    return ok;
}

char *page_cursor_encode(const struct page_sort *sort, const char *const *keys) {
    json_t *arr = json_array();
    json_array_append_new(arr, json_string(sort->name));
    for (size_t i = 0; i < sort->nkeys; i++)
        json_array_append_new(arr, text_json_string_lossy(keys[i] ? keys[i] : ""));
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (!text) return NULL;
    size_t len = strlen(text);
    size_t outlen = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(outlen);
    if (out)
        sodium_bin2base64(out, outlen, (const unsigned char *)text, len,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    free(text);
    return out;
}

bool page_parse(struct request *req, const struct page_sort *sorts, size_t nsorts, struct page *p) {
    memset(p, 0, sizeof *p);
    p->limit = PAGE_LIMIT_DEFAULT;
    p->sort = &sorts[0];
    const char *v = request_query(req, "limit", NULL);
    if (v && !parse_limit(v, &p->limit)) {
        query_bad(req, "limit", "limit must be an integer from 1 to %d", PAGE_LIMIT_MAX);
        return false;
    }
    v = request_query(req, "sort", NULL);
    if (v) {
        size_t i = 0;
        while (i < nsorts && strcmp(v, sorts[i].name) != 0) i++;
        if (i == nsorts) {
            struct textbuf known = {0};
            for (size_t k = 0; k < nsorts; k++) {
                if (k) textbuf_put(&known, ", ", 2);
                textbuf_put(&known, sorts[k].name, strlen(sorts[k].name));
            }
            query_bad(req, "sort", "sort must be one of: %s", known.data ? known.data : "");
            free(known.data);
            return false;
        }
        p->sort = &sorts[i];
        p->sort_index = i;
    }
    v = request_query(req, "cursor", NULL);
    if (v) {
        char why[160];
        if (!page_cursor_decode(p->sort, v, p->after, why, sizeof why)) {
            query_bad(req, "cursor", "invalid cursor: %s", why);
            return false;
        }
        p->has_cursor = true;
    }
    snprintf(p->fetch, sizeof p->fetch, "%ld", p->limit + 1);
    return true;
}

void page_cleanup(struct page *p) {
    for (size_t i = 0; i < PAGE_MAX_KEYS; i++) {
        free(p->after[i]);
        p->after[i] = NULL;
    }
}

const char *page_key(const struct page *p, size_t i, const char *first_page) {
    return p->has_cursor && i < PAGE_MAX_KEYS && p->after[i] ? p->after[i] : first_page;
}

/* Link: <path?same parameters&cursor=...>; rel="next" (the path was decoded by
 * libmicrohttpd: encoded again). */
static void set_link(struct request *req, const char *cursor) {
    struct textbuf b = {0};
    textbuf_put(&b, "<", 1);
    textbuf_percent_encode(&b, req->path, true);
    char sep = '?';
    for (size_t i = 0; i < req->nquery; i++) {
        if (strcmp(req->query[i].key, "cursor") == 0) continue;
        textbuf_put(&b, &sep, 1);
        textbuf_percent_encode(&b, req->query[i].key, false);
        textbuf_put(&b, "=", 1);
        textbuf_percent_encode(&b, req->query[i].value, false);
        sep = '&';
    }
    textbuf_put(&b, &sep, 1);
    textbuf_put(&b, "cursor=", 7);
    textbuf_put(&b, cursor, strlen(cursor));
    textbuf_put(&b, ">; rel=\"next\"", 13);
    if (b.data) reply_header(req, "Link", b.data);
    free(b.data);
}

void page_reply_text(struct request *req, const struct page *p, const char *items_json,
                     size_t items_len, const char *const *next_keys) {
    char *cursor = next_keys ? page_cursor_encode(p->sort, next_keys) : NULL;
    if (next_keys && !cursor) {
        reply_problem(req, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    struct textbuf b = {0};
    textbuf_put(&b, "{\"items\":", 9);
    textbuf_put(&b, items_json, items_len);
    textbuf_put(&b, ",\"next_cursor\":", 15);
    if (cursor) {
        textbuf_put(&b, "\"", 1);
        textbuf_put(&b, cursor, strlen(cursor));
        textbuf_put(&b, "\"}", 2);
    } else {
        textbuf_put(&b, "null}", 5);
    }
    if (!b.data) {
        free(cursor);
        reply_problem(req, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    if (cursor) set_link(req, cursor);
    reply_bytes(req, 200, "application/json", b.data, b.len, false);
    free(b.data);
    free(cursor);
}

/* The end of page_reply_result / page_reply_rows: closes the array of the shown rows
 * (items, freed here), takes the next cursor's keys from the last shown row when there
 * is one more, and replies. */
static void page_reply_items(struct request *req, const struct page *p, const PGresult *r,
                             const int *key_cols, struct textbuf *items) {
    int rows = PQntuples(r);
    int shown = rows > p->limit ? (int)p->limit : rows;
    textbuf_put(items, "]", 1);
    const char *keys[PAGE_MAX_KEYS] = {0};
    bool more = rows > p->limit;
    for (size_t k = 0; more && k < p->sort->nkeys; k++)
        keys[k] = PQgetvalue(r, shown - 1, key_cols[k]);
    if (!items->data) {
        reply_problem(req, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    page_reply_text(req, p, items->data, items->len, more ? keys : NULL);
    free(items->data);
}

void page_reply_result(struct request *req, const struct page *p, const PGresult *r, int json_col,
                       const int *key_cols) {
    int rows = PQntuples(r);
    int shown = rows > p->limit ? (int)p->limit : rows;
    struct textbuf items = {0};
    textbuf_put(&items, "[", 1);
    for (int i = 0; i < shown; i++) {
        if (i) textbuf_put(&items, ",", 1);
        if (json_out_append(&items, PQgetvalue(r, i, json_col),
                            (size_t)PQgetlength(r, i, json_col)) != 0) {
            free(items.data);
            reply_problem(req, PROBLEM_INTERNAL, "an item of the list is not JSON");
            return;
        }
    }
    page_reply_items(req, p, r, key_cols, &items);
}

/* What page_query_then keeps until the result is in (heap, freed by free_page_query). */
struct page_query {
    struct page pg;
    struct page_render how;
    int key_cols[PAGE_MAX_KEYS];
    char *on_empty_arg;
};

static void render_page_query(struct request *req, const PGresult *r, void *ctx) {
    struct page_query *q = ctx;
    const struct page_render *how = &q->how;
    if (!r) {
        reply_db_error(req, how->what);
        return;
    }
    if (PQntuples(r) == 0 && how->on_empty && !how->on_empty(req, q->on_empty_arg)) return;
    if (how->json_col >= 0)
        page_reply_result(req, &q->pg, r, how->json_col, q->key_cols);
    else
        page_reply_rows(req, &q->pg, r, how->first, how->cols, how->ncols, q->key_cols);
}

static void free_page_query(void *ctx) {
    struct page_query *q = ctx;
    page_cleanup(&q->pg);
    free(q->on_empty_arg);
    free(q);
}

void page_query_then(struct request *req, struct page *p, struct db_stmt *stmt, int nparams,
                     const char *const *values, const struct page_render *how) {
    struct page_query *q = calloc(1, sizeof *q);
    char *arg = how->on_empty_arg ? strdup(how->on_empty_arg) : NULL;
    if (!q || (how->on_empty_arg && !arg)) {
        reply_problem(req, PROBLEM_INTERNAL, "out of memory");
        page_cleanup(p);
        free(q);
        free(arg);
        return;
    }
    q->pg = *p;
    memset(p->after, 0, sizeof p->after); /* the keys are q's now */
    q->how = *how;
    for (size_t k = 0; k < p->sort->nkeys && k < PAGE_MAX_KEYS; k++)
        q->key_cols[k] = how->key_cols[k];
    q->on_empty_arg = arg;
    request_query_then(req, stmt, nparams, values, render_page_query, q, free_page_query);
}

void page_reply_rows(struct request *req, const struct page *p, const PGresult *r, int first,
                     const struct json_col *cols, size_t ncols, const int *key_cols) {
    int rows = PQntuples(r);
    int shown = rows > p->limit ? (int)p->limit : rows;
    struct textbuf items = {0};
    textbuf_put(&items, "[", 1);
    for (int i = 0; i < shown; i++) {
        if (i) textbuf_put(&items, ",", 1);
        json_row_append(&items, r, i, first, cols, ncols);
    }
    page_reply_items(req, p, r, key_cols, &items);
}

void page_reply(struct request *req, const struct page *p, json_t *items,
                const char *const *next_keys) {
    size_t len = 0;
    char *text = json_out_dump(items, &len);
    json_decref(items);
    if (!text) {
        reply_problem(req, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    page_reply_text(req, p, text, len, next_keys);
    free(text);
}
