/* Fuzz the emulator's request parser: "PATH?QUERY" as a client would send it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apipath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *q = strchr(text, '?');
    if (q)
        *q++ = '\0';
    struct api_request r;
    char err[512];
    if (apipath_parse(text, q, &r, err, sizeof err) == 0) {
        if (r.kind == AP_RESOURCE && (!r.resource || !r.version))
            __builtin_trap();
        apipath_release(&r);
    }
    free(text);
    return 0;
}
