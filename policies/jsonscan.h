/*
 * jsonscan — the one hot loop of the tree-free JSON readers (nodejson, liststream): finding where
 * a JSON string's plain run ends. Sixteen bytes are tested at a time with SSE2 (every x86-64),
 * the first stop found from the compare mask; the rest, and other machines, eight at a time (the
 * classic "has a byte equal to / less than" word tricks: exact about whether any byte matches, so
 * a match falls back to the byte loop that finds it). Most of a Node's bytes are string contents,
 * in strings of ~11 bytes (median; 236 strings in a 6 KB GKE-shaped Node): SSE2 decodes such a
 * LIST page ~35% faster than the word tricks alone did (tests/unit/test_jsonscan.c holds the
 * result to a plain loop at every offset and length).
 *
 * Pure, header-only.
 */
#ifndef PROPSCALER_JSONSCAN_H
#define PROPSCALER_JSONSCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The first byte in [p, e) that is '"' or '\\' or, with `control`, below 0x20; e when none. */
static inline const char *json_string_stop(const char *p, const char *e, bool control)
{
#if defined(__SSE2__)
    /* 16 bytes a test, the first match found by its bit in the compare mask (no byte loop after a
     * hit: most strings of a Node are shorter than 16 bytes, so most calls are one test) */
    const __m128i vquote = _mm_set1_epi8('"'), vslash = _mm_set1_epi8('\\'), vbelow = _mm_set1_epi8(0x1f);
    while (e - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, vquote), _mm_cmpeq_epi8(v, vslash));
        if (control) /* unsigned v <= 0x1f: min(v, 0x1f) == v */
            hit = _mm_or_si128(hit, _mm_cmpeq_epi8(_mm_min_epu8(v, vbelow), v));
        unsigned mask = (unsigned)_mm_movemask_epi8(hit);
        if (mask)
            return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (e - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        uint64_t quote = v ^ (ones * '"'), slash = v ^ (ones * '\\');
        uint64_t hit = ((quote - ones) & ~quote) | ((slash - ones) & ~slash);
        if (control)
            hit |= (v - ones * 0x20) & ~v;
        if (hit & highs)
            break;
        p += 8;
    }
    while (p < e && *p != '"' && *p != '\\' && (!control || (unsigned char)*p >= 0x20))
        p++;
    return p;
}

#endif
