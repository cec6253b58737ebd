#include "quantity.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Enough for QUANTITY_MAX_LEN digits, 60 doublings (~19 digits) and a safety margin. */
#define DIGITS_CAP (QUANTITY_MAX_LEN + 32)

static int fail(char *err, size_t errlen, const char *s, size_t len, const char *why)
{
    if (err && errlen) {
        int shown = len > 64 ? 64 : (int)len;
        snprintf(err, errlen, "invalid quantity \"%.*s%s\": %s", shown, s, len > 64 ? "..." : "", why);
    }
    return -1;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Multiply a big-endian decimal digit string (values 0..9) by 2, in place. */
static size_t digits_double(unsigned char *d, size_t n)
{
    unsigned carry = 0;
    for (size_t i = n; i-- > 0;) {
        unsigned v = (unsigned)d[i] * 2u + carry;
        d[i] = (unsigned char)(v % 10u);
        carry = v / 10u;
    }
    if (carry) {
        memmove(d + 1, d, n);
        d[0] = (unsigned char)carry;
        n++;
    }
    return n;
}

/* The value in units of 10^-scale (9: nano-units, 3: milli-units), rounded up away from zero. */
static int parse_scaled(const char *s, size_t len, long scale, int64_t *out, char *err, size_t errlen)
{
    if (len == 0)
        return fail(err, errlen, s, len, "empty; expected a number such as \"4\" or \"3920m\"");
    if (len > QUANTITY_MAX_LEN)
        return fail(err, errlen, s, len, "too long");

    size_t i = 0;
    bool negative = false;
    if (s[i] == '+' || s[i] == '-') {
        negative = s[i] == '-';
        i++;
    }
    unsigned char digits[DIGITS_CAP];
    size_t nd = 0;    /* significant digits collected (leading zeros skipped) */
    size_t nfrac = 0; /* digits after the decimal point, including skipped zeros */
    size_t seen = 0;  /* all digits seen, to reject "." and "" */
    for (; i < len && is_digit(s[i]); i++, seen++)
        if (nd || s[i] != '0')
            digits[nd++] = (unsigned char)(s[i] - '0');
    if (i < len && s[i] == '.') {
        i++;
        for (; i < len && is_digit(s[i]); i++, seen++, nfrac++)
            if (nd || s[i] != '0')
                digits[nd++] = (unsigned char)(s[i] - '0');
    }
    if (seen == 0)
        return fail(err, errlen, s, len, "expected digits");

    /* Suffix. */
    const char *suf = s + i;
    size_t suflen = len - i;
    long exp10 = 0;
    int exp2 = 0;
    if (suflen == 0) {
    } else if (suflen == 2 && suf[1] == 'i' && suf[0] && strchr("KMGTPE", suf[0])) {
        exp2 = 10 * (int)(strchr("KMGTPE", suf[0]) - "KMGTPE" + 1);
    } else if (suflen == 1 && suf[0] && strchr("numkMGTPE", suf[0])) { /* strchr matches NUL too */
        static const char names[] = "numkMGTPE";
        static const int pows[] = {-9, -6, -3, 3, 6, 9, 12, 15, 18};
        exp10 = pows[strchr(names, suf[0]) - names];
    } else if (suf[0] == 'e' || suf[0] == 'E') {
        size_t j = 1;
        bool eneg = false;
        if (j < suflen && (suf[j] == '+' || suf[j] == '-')) {
            eneg = suf[j] == '-';
            j++;
        }
        if (j >= suflen)
            return fail(err, errlen, s, len, "exponent has no digits");
        long e = 0;
        for (; j < suflen; j++) {
            if (!is_digit(suf[j]))
                return fail(err, errlen, s, len, "unexpected character in exponent");
            if (e < 100000)
                e = e * 10 + (suf[j] - '0');
        }
        exp10 = eneg ? -e : e;
    } else {
        return fail(err, errlen, s, len,
                    "unknown suffix; expected one of n u m k M G T P E Ki Mi Gi Ti Pi Ei or an exponent like e3");
    }

    if (nd == 0) { /* zero, whatever the suffix */
        *out = 0;
        return 0;
    }
    for (int k = 0; k < exp2; k++)
        nd = digits_double(digits, nd);

    /* value (in nano-units) = digits * 10^e */
    long e = exp10 + scale - (long)nfrac;
    uint64_t mag = 0;
    bool round_up = false;
    size_t keep = nd;
    if (e < 0) {
        size_t drop = (size_t)(-e) >= nd ? nd : (size_t)(-e);
        keep = nd - drop;
        for (size_t k = keep; k < nd; k++)
            if (digits[k]) {
                round_up = true;
                break;
            }
        e = 0;
    }
    const char *too_large = scale == 9 ? "too large (more than 9.2e9 units)" : "too large (more than 9.2e15 units)";
    if ((long)keep + e > 19)
        return fail(err, errlen, s, len, too_large);
    for (size_t k = 0; k < keep; k++)
        mag = mag * 10u + digits[k];
    for (long k = 0; k < e; k++)
        mag *= 10u;
    if (round_up)
        mag += 1u;
    if (mag > (uint64_t)INT64_MAX)
        return fail(err, errlen, s, len, too_large);
    *out = negative ? -(int64_t)mag : (int64_t)mag;
    return 0;
}

int quantity_parse_nano(const char *s, size_t len, int64_t *nano_out, char *err, size_t errlen)
{
    return parse_scaled(s, len, 9, nano_out, err, errlen);
}

int64_t quantity_nano_to_units_ceil(int64_t nano)
{
    int64_t q = nano / NANO_PER_UNIT, r = nano % NANO_PER_UNIT;
    if (r > 0)
        q++;
    else if (r < 0)
        q--;
    return q;
}

int64_t quantity_nano_to_milli_ceil(int64_t nano)
{
    int64_t q = nano / 1000000, r = nano % 1000000;
    if (r > 0)
        q++;
    else if (r < 0)
        q--;
    return q;
}

int quantity_parse_milli(const char *s, size_t len, int64_t *milli_out, char *err, size_t errlen)
{
    return parse_scaled(s, len, 3, milli_out, err, errlen);
}
