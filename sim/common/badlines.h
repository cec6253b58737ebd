/*
 * badlines — the bad lines of an input, said so that a person can act on them: the first
 * BADLINES_SHOWN quoted with their line numbers and what was wrong, the rest only counted, and
 * one closing line saying how many were not shown (a CSV of another layout must not print one
 * line per row: 17,592 of them hid the verdict). Shared by every importer and `propsim replay`.
 *
 * Also the verdict for an input with nothing usable in it: badlines_nothing_valid() says so with
 * a hint at the command that reads such data; commands then exit BADLINES_EXIT_UNUSABLE (2), as
 * every propsim command does for unusable input.
 *
 * PROPSIM_BAD_LINES_SHOWN=N (or =all) in the environment shows that many instead.
 *
 * Ownership: a struct badlines borrows its strings (prog, path), which must outlive it.
 */
#ifndef PROPSIM_BADLINES_H
#define PROPSIM_BADLINES_H

#include <stdbool.h>
#include <stddef.h>

#include <zlib.h>

#define BADLINES_SHOWN 5
#define BADLINES_QUOTE 80 /* bytes of a bad line quoted */
#define BADLINES_EXIT_UNUSABLE 2

struct badlines {
    const char *prog; /* "propsim import" */
    const char *path;
    long count;
    long shown;       /* BADLINES_SHOWN, or $PROPSIM_BAD_LINES_SHOWN (a number, or "all") */
    bool quiet;
};

void badlines_init(struct badlines *b, const char *prog, const char *path, bool quiet);
/* One bad line (line 0: no number, e.g. a YAML document): counted; said while fewer than
 * b->shown were, with up to BADLINES_QUOTE bytes of `text` quoted when text is not NULL. */
void badlines_add(struct badlines *b, long line, const char *text, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* "N more bad lines were not shown" when some were not. */
void badlines_finish(const struct badlines *b);
/* "nothing valid in PATH (what): hint" on stderr. */
void badlines_nothing_valid(const struct badlines *b, const char *what, const char *hint);

/* The next non-blank line of a text table (plain or gzip) into line[size], without its line
 * ending; *lineno counts every line. A line longer than size - 2 bytes is a bad line (reported
 * through b, skipped whole). 1: a line; 0: the end of the input (or a read error: gzerror says). */
int badlines_gets(struct badlines *b, gzFile f, char *line, size_t size, long *lineno);

#endif
