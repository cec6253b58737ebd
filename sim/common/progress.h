/*
 * progress — a one-line progress report on stderr for long work (import, generate, replay):
 * items done, rate, share and ETA when the total is known. Shown only when stderr is a terminal
 * (a log or a pipe gets nothing): first after 4,096 items, then at most 4 times a second;
 * cleared at the end.
 * PROPSIM_PROGRESS=0 turns it off; PROPSIM_PROGRESS=1 turns it on without a terminal.
 *
 * Cheap to call per item: progress_tick looks at the clock once every 4,096 items.
 */
#ifndef PROPSIM_PROGRESS_H
#define PROPSIM_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
    bool on;
    const char *what;  /* "replay", "import" ... */
    const char *unit;  /* "events", "rows" ... */
    double start, last;
    unsigned long calls;
    bool drawn;
};

void progress_init(struct progress *p, const char *what, const char *unit);
/* count: items so far; done/total: a measure of the work (bytes of the input, or items) for the
 * share and the ETA; total 0: unknown. */
void progress_tick(struct progress *p, uint64_t count, uint64_t done, uint64_t total);
/* The size of the file at path (0: not a regular file, e.g. "-"), for `total`. */
uint64_t progress_file_size(const char *path);
/* Clear the line (the command's own report follows). */
void progress_end(struct progress *p);

#endif
