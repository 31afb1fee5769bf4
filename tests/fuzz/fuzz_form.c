/* fuzz_form: feeds the input to form_parse as an x-www-form-urlencoded body and checks
 * what the token endpoint relies on: on success every name and value is NUL-free valid
 * UTF-8 no longer than the input, value_len is the value's length, no name appears
 * twice, and form_get finds each field; on failure the form is empty, the status is a
 * known one and form_error_text says something. Nothing is kept between inputs. */
#include "auth/form.h"
#include "core/text.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct form f;
    struct form_error e;
    enum form_status st = form_parse((const char *)data, size, &f, &e);
    if (st != FORM_OK) {
        CHECK(f.n == 0);
        CHECK(e.status == st);
        CHECK(st == FORM_BAD_ESCAPE || st == FORM_NUL || st == FORM_BAD_UTF8 ||
              st == FORM_DUPLICATE || st == FORM_TOO_MANY || st == FORM_NO_MEMORY);
        CHECK(memchr(e.field, '\0', sizeof e.field) != NULL);
        char text[160];
        form_error_text(&e, text, sizeof text);
        CHECK(text[0] != '\0');
        return 0;
    }
    CHECK(f.n <= FORM_MAX_FIELDS);
    for (size_t i = 0; i < f.n; i++) {
        const struct form_field *fl = &f.fields[i];
        size_t nlen = strlen(fl->name);
        CHECK(nlen <= size);
        CHECK(fl->value_len <= size);
        CHECK(strlen(fl->value) == fl->value_len);
        CHECK(text_utf8_valid(fl->name, nlen));
        CHECK(text_utf8_valid(fl->value, fl->value_len));
        CHECK(form_get(&f, fl->name) == fl->value);
        for (size_t j = 0; j < i; j++) CHECK(strcmp(f.fields[j].name, fl->name) != 0);
    }
    form_cleanup(&f);
    CHECK(f.n == 0);
    return 0;
}
