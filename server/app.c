/* app: the single struct app instance; see app.h. */
#include "app.h"

static struct app the_app;

struct app *app_get(void) {
    return &the_app;
}
