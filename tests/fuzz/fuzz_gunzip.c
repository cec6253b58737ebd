/* Fuzz the gzip body decoder (controller/gunzip) with what a server could send: any bytes, fed
 * whole and again in cuts the input's first byte chooses. Both feeds must agree: a body accepted
 * one way is accepted the other with the same bytes out, a refused one refused both ways (a TLS
 * record or a libcurl chunk may end anywhere). What a refused body handed out before its fault
 * is garbage either way (a gzip stream is judged at its end, by its CRC): a caller must drop it,
 * as the reflector drops a refused LIST page. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gunzip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
    unsigned char *data;
    size_t len, cap;
};

static int sink(void *ctx, const char *p, size_t n)
{
    struct out *o = ctx;
    if (n == 0 || n > GUNZIP_OUT)
        __builtin_trap();
    if (o->len + n > (64u << 20))
        return 1; /* (a bomb: stopped as the body cap stops it) */
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2;
        unsigned char *d = realloc(o->data, o->cap);
        if (!d)
            return 1;
        o->data = d;
    }
    memcpy(o->data + o->len, p, n);
    o->len += n;
    return 0;
}

/* rc of the feed, then of finish (2 if the feed did not return 0) */
static void run(const uint8_t *data, size_t size, size_t cut, struct out *o, int *rc, int *fin)
{
    struct gunzip *g = gunzip_new();
    if (!g)
        abort();
    char err[256];
    *rc = 0;
    for (size_t at = 0; at < size && *rc == 0;) {
        size_t n = cut && cut < size - at ? cut : size - at;
        *rc = gunzip_feed(g, data + at, n, sink, o, err, sizeof err);
        at += n;
    }
    *fin = *rc == 0 ? gunzip_finish(g, err, sizeof err) : 2;
    gunzip_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t cut = 1 + data[0] % 17;
    data++, size--;
    struct out a = {0}, b = {0};
    int rca, fina, rcb, finb;
    run(data, size, 0, &a, &rca, &fina);
    run(data, size, cut, &b, &rcb, &finb);
    if (rca != 1 && rcb != 1) { /* (a bomb stopped by the sink ends each feed where it happens to) */
        /* accepted (fed and ended well) both ways or neither, and then the same bytes; a refused
         * stream may be refused for different reasons (ISA-L judges some malformed headers
         * only when they arrive whole: corrupt one way, never-ending the other) */
        bool ok_a = rca == 0 && fina == 0, ok_b = rcb == 0 && finb == 0;
        if (ok_a != ok_b || (ok_a && (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))))
            __builtin_trap();
    }
    free(a.data);
    free(b.data);
    return 0;
}
