/*
 * gunzip — an answer's gzip body (Content-Encoding: gzip) inflated as its bytes arrive, with
 * ISA-L's igzip: a node LIST page of kube-apiserver's is ~15x compressed, and inflating it with
 * zlib (its CRC included) was 42% of propscaler's CPU for a gzip sync; with igzip the whole
 * sync's CPU went 0.24 -> 0.15 s at 15,000 nodes (tests/bench/bench_sync.sh, side by side).
 *
 * Contract: feed the compressed bytes in any cuts; the inflated bytes go to the sink in order, in
 * pieces of at most GUNZIP_OUT bytes. The body is one gzip member or several back to back (as
 * gunzip reads them); anything else after a member, bad data, a bad header, or a CRC/length that
 * does not match is an error naming it. gunzip_finish says whether the body ended where a member
 * ended (a body cut short is an error). Memory: one inflate state (87 KB, its window and tables)
 * and GUNZIP_OUT bytes, allocated by gunzip_new for a gzip answer only and freed with it. Not thread-safe: one per transfer.
 */
#ifndef PROPSCALER_GUNZIP_H
#define PROPSCALER_GUNZIP_H

#include <stddef.h>

#define GUNZIP_OUT (64u << 10)

struct gunzip;

/* Non-zero stops the feed (gunzip_feed returns 1). */
typedef int (*gunzip_sink_fn)(void *ctx, const char *data, size_t len);

struct gunzip *gunzip_new(void); /* NULL: out of memory */
void gunzip_free(struct gunzip *g);

/* 0: fed (everything inflated so far handed to the sink); 1: the sink stopped it; -1: the bytes
 * are not a gzip stream (err says why; the bytes inflated before the fault were handed out). */
int gunzip_feed(struct gunzip *g, const void *in, size_t len, gunzip_sink_fn sink, void *ctx, char *err, size_t errlen);

/* At the body's end: 0 if it ended where a gzip member ended, or if no byte came at all (an
 * answer without a body: a 204, a HEAD); -1 (err set) if it was cut short. */
int gunzip_finish(const struct gunzip *g, char *err, size_t errlen);

#endif
