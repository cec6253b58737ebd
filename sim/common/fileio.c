#include "fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fileio_read_all(const char *path, size_t cap, char **data, size_t *len, char *err, size_t errlen)
{
    *data = NULL;
    *len = 0;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t alloc = 1 << 16, n = 0;
    char *buf = malloc(alloc);
    int rc = -1;
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    for (;;) {
        if (n + 1 >= alloc) {
            if (alloc > cap) {
                snprintf(err, errlen, "%s is larger than the %zu-byte limit", path, cap);
                goto done;
            }
            char *b = realloc(buf, alloc * 2);
            if (!b) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto done;
            }
            buf = b;
            alloc *= 2;
        }
        size_t got = fread(buf + n, 1, alloc - n - 1, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
                goto done;
            }
            break;
        }
    }
    if (n > cap) {
        snprintf(err, errlen, "%s is larger than the %zu-byte limit", path, cap);
        goto done;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
    rc = 0;
done:
    free(buf);
    if (f != stdin)
        fclose(f);
    return rc;
}
