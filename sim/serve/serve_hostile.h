/*
 * serve_hostile — the malformed answers of a broken or hostile API server, for the reliability
 * tests: `propsim serve --hostile MODE` or POST /propsim/faults?hostile=MODE answers reads with
 * them (LIST and GET, never watches) while the mode is on. A client must refuse every one of
 * them and keep it out of its decisions.
 *
 * Modes: list-no-items, list-wrong-kind, list-items-not-array (LISTs); scale-huge (1e300),
 * scale-string ("7"), scale-fraction (2.5) (Scale reads); html, truncated, protobuf, deep
 * (100,000 nested arrays), huge (a 100 MB single-line list) (every read); endless-list (LISTs:
 * pages of 500 new tiny items, each with a continue token, forever); gzip-corrupt (every read of
 * a client that accepts gzip: the true answer, gzip'd whatever its size, its CRC wrong — no
 * body of its own: serve_hostile_answer declines it, the sender corrupts).
 *
 * Pure: no I/O. serve_hostile_answer() gives the caller a malloc'd body to free.
 */
#ifndef PROPSIM_SERVE_HOSTILE_H
#define PROPSIM_SERVE_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hostile_mode {
    HOSTILE_NONE, HOSTILE_LIST_NO_ITEMS, HOSTILE_LIST_WRONG_KIND, HOSTILE_LIST_ITEMS_NOT_ARRAY, HOSTILE_SCALE_HUGE,
    HOSTILE_SCALE_STRING, HOSTILE_SCALE_FRACTION, HOSTILE_HTML, HOSTILE_TRUNCATED, HOSTILE_PROTOBUF, HOSTILE_DEEP,
    HOSTILE_HUGE, HOSTILE_ENDLESS_LIST, HOSTILE_GZIP_CORRUPT,
};

/* The mode named `name` ("none" turns it off); -1 for an unknown name. */
int serve_hostile_parse(const char *name);
/* The comma-separated list of mode names, for usage messages. */
const char *serve_hostile_names(void);

/* The answer for a read under `mode`: true with *body (malloc'd), *len and *ctype set, or false
 * when the mode does not apply to this read (it is then answered normally). */
bool serve_hostile_answer(enum hostile_mode mode, bool is_list, bool is_scale, const char *kind, uint64_t rv, char **body,
                          size_t *len, const char **ctype);

#endif
