/* Fuzz label selector parsing and matching. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(const void *ctx, const char *key)
{
    (void)ctx;
    return strcmp(key, "zone") == 0 ? "a" : strcmp(key, "cores") == 0 ? "8" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct selector *s = NULL;
    char err[512];
    if (selector_parse(text, &s, err, sizeof err) == 0) {
        selector_matches(s, lookup, NULL);
        selector_free(s);
    }
    free(text);
    return 0;
}
