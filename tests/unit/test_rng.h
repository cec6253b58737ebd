/* test_rng — the unit tests' deterministic random numbers (xorshift64): the same cases on every
 * run and machine, so a failure names a case that can be replayed. Each test file includes it
 * once and sets its own seed with TEST_RNG_SEED before the include (default below). */
#ifndef PROPSCALER_TEST_RNG_H
#define PROPSCALER_TEST_RNG_H

#include <stdint.h>

#ifndef TEST_RNG_SEED
#define TEST_RNG_SEED 0x9e3779b97f4a7c15u
#endif

static uint64_t rng_state = TEST_RNG_SEED;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

#endif
