/* oauth_reply: see oauth_reply.h. */
#include "http/oauth_reply.h"

#include "core/text.h"
#include "http/reply.h"

#include <stdarg.h>
#include <stdio.h>

void reply_oauth_error(struct request *req, unsigned status, const char *error, const char *fmt,
                       ...) {
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_t *body = json_object();
    json_object_set_new(body, "error", json_string(error));
    json_object_set_new(body, "error_description", text_json_string_lossy(text));
    reply_json(req, status, body);
    reply_header(req, "Cache-Control", "no-store");
    reply_header(req, "Pragma", "no-cache");
}
