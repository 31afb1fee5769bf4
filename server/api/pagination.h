/* pagination: keyset pagination shared by every list endpoint.
 *
 * A list declares its sort orders (the `sort` values it accepts, each with the types of
 * its keyset columns in ORDER BY order, the last one unique). page_parse reads `limit`
 * (1..1000, default 50), `sort` and `cursor` (opaque base64url text holding the sort
 * name and the keys of the last row already seen) and answers 400 naming the parameter
 * when one is bad. The handler then runs the fixed prepared statement of that sort with
 * `LIMIT page.fetch` (limit + 1 rows, to know whether a next page exists) and the keyset
 * condition on page_key() values (the cursor's keys, or the caller's first-page bound),
 * and answers with page_reply_result / page_reply: body {"items": [...], "next_cursor":
 * "..."|null} and, when there is a next page, `Link: <same URL with cursor>; rel="next"`.
 *
 * Typical use (keys: date_production DESC, id DESC):
 *   static const struct page_sort sorts[] = {
 *       {"-date", 2, {PAGE_KEY_DATE, PAGE_KEY_INT}}, {"date", 2, {...}}};
 *   struct page pg;
 *   if (!page_parse(req, sorts, 2, &pg)) return;              // 400 already queued
 *   const char *v[] = {page_key(&pg, 0, "infinity"), page_key(&pg, 1, "0"), pg.fetch};
 *   static const struct page_render how = {.json_col = 2, .key_cols = (const int[]){0, 1},
 *                                          .what = "list things"}; // JSON column 2, keys 0, 1
 *   page_query_then(req, &pg, &q_by_sort[pg.sort_index], 3, v, &how);
 *
 * Memory: struct page owns its decoded keys (page_cleanup frees them); sorts are borrowed
 * for the life of the page; replies copy what they need. */
#ifndef SLUICE_PAGINATION_H
#define SLUICE_PAGINATION_H

#include "api/json_row.h"
#include "http/request.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define PAGE_MAX_KEYS 4
#define PAGE_LIMIT_DEFAULT 50
#define PAGE_LIMIT_MAX 1000

/* How a key is checked when a cursor is decoded (so a forged cursor is a 400, never a
 * failed cast in SQL). */
enum page_key_type {
    PAGE_KEY_TEXT, /* valid UTF-8, no NUL, at most 1,000 bytes */
    PAGE_KEY_INT,  /* a signed 64-bit decimal integer */
    PAGE_KEY_DATE, /* YYYY-MM-DD */
};

struct page_sort {
    const char *name; /* the `sort` value, e.g. "-date" */
    size_t nkeys;
    enum page_key_type keys[PAGE_MAX_KEYS];
};

struct page {
    long limit;
    const struct page_sort *sort; /* borrowed from the caller's table */
    size_t sort_index;            /* its index in that table (first entry: the default) */
    bool has_cursor;
    char *after[PAGE_MAX_KEYS]; /* the cursor's keys, owned; NULL without a cursor */
    char fetch[24];             /* limit + 1, as text, for the statement's LIMIT */
};

/* Reads limit, sort and cursor. false: a 400 reply is queued (p needs no cleanup). */
bool page_parse(struct request *req, const struct page_sort *sorts, size_t nsorts, struct page *p);

void page_cleanup(struct page *p);

/* The cursor's key i, or first_page (the bound that lets every row through) when there
 * is no cursor. Borrowed. */
const char *page_key(const struct page *p, size_t i, const char *first_page);

/* The opaque cursor of a row with these keys (sort->nkeys of them); malloc'd. */
char *page_cursor_encode(const struct page_sort *sort, const char *const *keys);

/* Decodes a cursor made for sort into keys (malloc'd each, sort->nkeys). Pure; on
 * failure returns false with a reason in why. */
bool page_cursor_decode(const struct page_sort *sort, const char *cursor, char *keys[PAGE_MAX_KEYS],
                        char *why, size_t whylen);

/* Answers 200 with the first min(rows, limit) rows of r: column json_col of each row is
 * one item's JSON text (built in SQL), key_cols[0..nkeys) its keyset columns. Does not
 * take r. */
void page_reply_result(struct request *req, const struct page *p, const PGresult *r, int json_col,
                       const int *key_cols);

/* How page_query_then answers once the page's rows are in. Pointers are static or
 * copied (key_cols, on_empty_arg); nothing is kept of the caller's stack. */
struct page_render {
    int json_col;                /* >= 0: each item is the JSON text of this column */
    const struct json_col *cols; /* json_col < 0: items written from these (static) */
    size_t ncols;
    int first;           /* the column of cols[0] */
    const int *key_cols; /* the sort's keyset columns (sort->nkeys of them) */
    const char *what;    /* for reply_db_error, e.g. "list centres" */
    /* Optional, when the page is empty: may check (synchronously, on req->db) that the
     * list's parent exists; false when it queued another reply (404, 400). */
    bool (*on_empty)(struct request *req, const char *arg);
    const char *on_empty_arg; /* copied */
};

/* The usual end of a list handler: runs stmt with values pipelined with the other
 * requests' statements (request_query_then), then answers with the page (see
 * page_reply_result / page_reply_rows) or reply_db_error(req, how->what). Takes over
 * *p's keys (p needs no page_cleanup afterwards); values may point into *p. */
void page_query_then(struct request *req, struct page *p, struct db_stmt *stmt, int nparams,
                     const char *const *values, const struct page_render *how);

/* Like page_reply_result, each item written from columns first..first+ncols-1 of its
 * row as described by cols (json_row.h) instead of a JSON column. */
void page_reply_rows(struct request *req, const struct page *p, const PGresult *r, int first,
                     const struct json_col *cols, size_t ncols, const int *key_cols);

/* Answers 200 with items (a JSON array of at most limit items; stolen) and next_keys
 * (the keys of the last item when there is a next page, else NULL). */
void page_reply(struct request *req, const struct page *p, json_t *items,
                const char *const *next_keys);

/* The body {"items": items_json, "next_cursor": ...} and Link header for a JSON array
 * text already built; next_keys as above. */
void page_reply_text(struct request *req, const struct page *p, const char *items_json,
                     size_t items_len, const char *const *next_keys);

#endif
