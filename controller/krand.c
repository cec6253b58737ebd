#define _DEFAULT_SOURCE
#include "krand.h"

#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t state;

static uint64_t kernel_seed(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v || v == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ 0x9e3779b97f4a7c15ull;
    }
    return v;
}

double krand_unit(void)
{
    if (!state)
        state = kernel_seed();
    /* xorshift64* */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    uint64_t x = state * 0x2545f4914f6cdd1dull;
    return (double)(x >> 11) / 9007199254740992.0;
}

double krand_jitter(double lo, double spread) { return lo * (1.0 - spread + 2.0 * spread * krand_unit()); }

int krand_hex(char *out, size_t bytes)
{
    unsigned char raw[64];
    if (bytes > sizeof raw)
        bytes = sizeof raw;
    int rc = 0;
    if (getrandom(raw, bytes, 0) != (ssize_t)bytes) {
        rc = -1;
        for (size_t i = 0; i < bytes; i++)
            raw[i] = (unsigned char)(kernel_seed() >> 24);
    }
    for (size_t i = 0; i < bytes; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    out[2 * bytes] = '\0';
    return rc;
}
