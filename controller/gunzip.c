#include "gunzip.h"

#include <isa-l/igzip_lib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct gunzip {
    struct inflate_state st;
    bool started;     /* a member's bytes have come (or are coming) */
    bool member_done; /* the last member ended (its trailer checked): a body may end here */
    char out[GUNZIP_OUT];
};

static void member_start(struct gunzip *g)
{
    uint8_t *next = g->st.next_in;
    uint32_t avail = g->st.avail_in;
    isal_inflate_init(&g->st); /* (clears the input: kept) */
    g->st.crc_flag = ISAL_GZIP;
    g->st.next_in = next;
    g->st.avail_in = avail;
    g->member_done = false;
}

struct gunzip *gunzip_new(void)
{
    struct gunzip *g = malloc(sizeof *g);
    if (!g)
        return NULL;
    g->started = false;
    g->st.next_in = NULL;
    g->st.avail_in = 0;
    member_start(g);
    return g;
}

void gunzip_free(struct gunzip *g) { free(g); }

int gunzip_feed(struct gunzip *g, const void *in, size_t len, gunzip_sink_fn sink, void *ctx, char *err, size_t errlen)
{
    const uint8_t *p = in;
    while (len > 0) { /* (avail_in is 32 bits: fed in slices) */
        uint32_t slice = len > (1u << 30) ? 1u << 30 : (uint32_t)len;
        g->st.next_in = (uint8_t *)(uintptr_t)p; /* (ISA-L reads it only) */
        g->st.avail_in = slice;
        p += slice;
        len -= slice;
        for (;;) {
            if (g->member_done) {
                if (g->st.avail_in == 0)
                    break;
                /* more bytes after a member: another one must start here (its magic checked at
                 * once: ISA-L waits for a whole header before judging it) */
                const uint8_t *m = g->st.next_in;
                if (m[0] != 0x1f || (g->st.avail_in >= 2 && m[1] != 0x8b)) {
                    snprintf(err, errlen, "the answer's gzip body is corrupt: bytes after the gzip stream that start no gzip member");
                    return -1;
                }
                member_start(g);
            }
            g->started = true;
            uint32_t in_before = g->st.avail_in;
            g->st.next_out = (uint8_t *)g->out;
            g->st.avail_out = GUNZIP_OUT;
            int rc = isal_inflate(&g->st);
            size_t produced = GUNZIP_OUT - g->st.avail_out;
            if (produced && sink(ctx, g->out, produced) != 0)
                return 1;
            if (rc < 0) {
                const char *why = rc == ISAL_INCORRECT_CHECKSUM ? "its CRC or length does not match"
                                  : rc == ISAL_INVALID_WRAPPER ? "not a gzip header"
                                  : rc == ISAL_UNSUPPORTED_METHOD ? "an unsupported compression method"
                                                                  : "invalid compressed data";
                snprintf(err, errlen, "the answer's gzip body is corrupt: %s", why);
                return -1;
            }
            if (g->st.block_state == ISAL_BLOCK_FINISH) {
                g->member_done = true;
                continue;
            }
            /* output full: more may be pending; otherwise go on only while input is taken */
            if (g->st.avail_out == 0)
                continue;
            if (g->st.avail_in == 0 || g->st.avail_in == in_before)
                break;
        }
    }
    return 0;
}

int gunzip_finish(const struct gunzip *g, char *err, size_t errlen)
{
    if (g->member_done || !g->started)
        return 0;
    snprintf(err, errlen, "the answer's gzip body is cut short (its stream does not end)");
    return -1;
}
