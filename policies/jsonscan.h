/*
 * jsonscan — the one hot loop of the tree-free JSON readers (nodejson, liststream): finding where
 * a JSON string's plain run ends. Eight bytes are tested at a time (the classic "has a byte equal
 * to / less than" word tricks: exact about whether any byte matches, so a match falls back to the
 * byte loop that finds it); most of a Node's bytes are plain string contents.
 *
 * Pure, header-only.
 */
#ifndef PROPSCALER_JSONSCAN_H
#define PROPSCALER_JSONSCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The first byte in [p, e) that is '"' or '\\' or, with `control`, below 0x20; e when none. */
static inline const char *json_string_stop(const char *p, const char *e, bool control)
{
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
