/* docs: GET /openapi.json (the document of openapi/, embedded at build time), GET /docs
 * (Swagger UI, served from the binary so it works offline) and GET / (a pointer to
 * both). All bodies are static memory. */
#include "api/handlers.h"
#include "core/json_out.h"
#include "http/reply.h"

#include <pthread.h>
#include <stdlib.h>

#include <string.h>

extern const char docs_swagger_bundle_js[], docs_swagger_css[], docs_swagger_preset_js[],
    docs_favicon_png[], docs_openapi_json[];
extern const unsigned long docs_swagger_bundle_js_size, docs_swagger_css_size,
    docs_swagger_preset_js_size, docs_favicon_png_size, docs_openapi_json_size;

static const char page[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<title>sluice API</title>\n"
    "<link rel=\"stylesheet\" href=\"/docs/swagger-ui.css\">\n"
    "<link rel=\"icon\" type=\"image/png\" href=\"/docs/favicon-32x32.png\">\n"
    "</head>\n<body>\n<div id=\"swagger-ui\"></div>\n"
    "<script src=\"/docs/swagger-ui-bundle.js\"></script>\n"
    "<script src=\"/docs/swagger-ui-standalone-preset.js\"></script>\n"
    "<script src=\"/docs/swagger-initializer.js\"></script>\n"
    "</body>\n</html>\n";

static const char initializer[] =
    "window.onload = function () {\n"
    "  window.ui = SwaggerUIBundle({\n"
    "    url: '/openapi.json',\n"
    "    dom_id: '#swagger-ui',\n"
    "    deepLinking: true,\n"
    "    persistAuthorization: true,\n"
    "    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],\n"
    "    layout: 'StandaloneLayout'\n"
    "  });\n"
    "};\n";

struct asset {
    const char *name;
    const char *type;
    const char *data;
    const unsigned long *size;
};

static const unsigned long page_size = sizeof page - 1, initializer_size = sizeof initializer - 1;

static const struct asset assets[] = {
    {"swagger-ui-bundle.js", "text/javascript; charset=utf-8", docs_swagger_bundle_js,
     &docs_swagger_bundle_js_size},
    {"swagger-ui-standalone-preset.js", "text/javascript; charset=utf-8", docs_swagger_preset_js,
     &docs_swagger_preset_js_size},
    {"swagger-ui.css", "text/css; charset=utf-8", docs_swagger_css, &docs_swagger_css_size},
    {"favicon-32x32.png", "image/png", docs_favicon_png, &docs_favicon_png_size},
    {"swagger-initializer.js", "text/javascript; charset=utf-8", initializer, &initializer_size},
};

/* The document as every JSON answer is written (core/json_out.h: compact), made once;
 * kept for the life of the program. */
static struct textbuf openapi_compact;
static pthread_once_t openapi_once = PTHREAD_ONCE_INIT;

static void compact_openapi(void) {
    if (json_out_append(&openapi_compact, docs_openapi_json, docs_openapi_json_size) != 0) {
        free(openapi_compact.data);
        openapi_compact = (struct textbuf){0};
    }
}

void api_openapi(struct request *req) {
    pthread_once(&openapi_once, compact_openapi);
    if (openapi_compact.data)
        reply_bytes(req, 200, "application/json", openapi_compact.data, openapi_compact.len, true);
    else /* never: the bundle is JSON */
        reply_bytes(req, 200, "application/json", docs_openapi_json, docs_openapi_json_size, true);
}

void api_docs_page(struct request *req) {
    reply_bytes(req, 200, "text/html; charset=utf-8", page, page_size, true);
}

void api_docs_asset(struct request *req) {
    const char *name = request_param(req, "asset");
    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++) {
        if (strcmp(assets[i].name, name) != 0) continue;
        reply_bytes(req, 200, assets[i].type, assets[i].data, *assets[i].size, true);
        reply_header(req, "Cache-Control", "public, max-age=3600");
        return;
    }
    reply_problem(req, PROBLEM_NOT_FOUND, "no documentation asset named %s", name);
}

void api_root(struct request *req) {
    reply_json(req, 200,
               json_pack("{s:s,s:s,s:s,s:s}", "name", "sluice", "version", SLUICE_VERSION, "docs",
                         "/docs", "openapi", "/openapi.json"));
}
