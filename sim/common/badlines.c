#include "badlines.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "buf.h"

void badlines_init(struct badlines *b, const char *prog, const char *path, bool quiet)
{
    *b = (struct badlines){.prog = prog, .path = path, .quiet = quiet, .shown = BADLINES_SHOWN};
    const char *env = getenv("PROPSIM_BAD_LINES_SHOWN");
    if (env && strcmp(env, "all") == 0) {
        b->shown = LONG_MAX;
    } else if (env && *env) {
        char *end;
        long n = strtol(env, &end, 10);
        if (!*end && n >= 0)
            b->shown = n;
    }
}

void badlines_add(struct badlines *b, long line, const char *text, size_t len, const char *fmt, ...)
{
    if (b->count++ >= b->shown || b->quiet)
        return;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char where[64] = "";
    if (line > 0)
        snprintf(where, sizeof where, ":%ld", line);
    while (text && len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    if (!text) {
        fprintf(stderr, "%s: %s%s: %s\n", b->prog, b->path, where, what);
        return;
    }
    char quoted[4 * BADLINES_QUOTE + 8];
    bool whole = text_for_message(text, len, BADLINES_QUOTE, quoted, sizeof quoted);
    fprintf(stderr, "%s: %s%s: %s: \"%s\"%s\n", b->prog, b->path, where, what, quoted, whole ? "" : "...");
}

void badlines_finish(const struct badlines *b)
{
    if (b->count > b->shown && !b->quiet)
        fprintf(stderr, "%s: %s: %ld more were not shown (%ld in all; PROPSIM_BAD_LINES_SHOWN=all shows every one)\n",
                b->prog, b->path, b->count - b->shown, b->count);
}

void badlines_nothing_valid(const struct badlines *b, const char *what, const char *hint)
{
    if (!b->quiet)
        fprintf(stderr, "%s: nothing valid in %s (%s)%s%s\n", b->prog, b->path, what, hint && *hint ? "; " : "",
                hint ? hint : "");
}

int badlines_gets(struct badlines *b, gzFile f, char *line, size_t size, long *lineno)
{
    while (gzgets(f, line, (int)size)) {
        ++*lineno;
        size_t len = strlen(line);
        if (len && line[len - 1] != '\n' && !gzeof(f)) {
            badlines_add(b, *lineno, line, len, "line longer than %zu bytes, skipped", size - 2);
            int c;
            while ((c = gzgetc(f)) != -1 && c != '\n')
                ;
            continue;
        }
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0])
            return 1;
    }
    return 0;
}
