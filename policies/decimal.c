#include "decimal.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,
                                     1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19};

size_t decimal_parse(const char *s, size_t len, double *out)
{
    uint64_t n = 0;
    int digits = 0, frac = 0;
    bool dot = false;
    size_t i = 0;
    for (; i < len; i++) {
        char ch = s[i];
        if (ch >= '0' && ch <= '9') {
            if (++digits > 19) /* n stays below 10^19 < 2^64 */
                return 0;
            n = n * 10 + (uint64_t)(ch - '0');
            if (dot)
                frac++;
        } else if (ch == '.' && !dot && digits > 0) {
            dot = true;
        } else {
            break;
        }
    }
    if (digits == 0 || (dot && frac == 0) || n > (UINT64_C(1) << 53))
        return 0;
    *out = (double)n / pow10_exact[frac];
    return i;
}

/* Unsigned decimal digits of v, right-aligned ending at `end`; returns the first digit. */
static char *utoa_back(uint64_t v, char *end)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

size_t decimal_format_i64(int64_t v, char *buf)
{
    char tmp[24];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char *p = utoa_back(u, tmp + sizeof tmp);
    if (v < 0)
        *--p = '-';
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(buf, p, n);
    buf[n] = '\0';
    return n;
}

size_t decimal_format6(double v, char *buf)
{
    if (!(v >= 0 && v < 9007199254740992.0) || signbit(v)) { /* negative (-0 too), NaN, or beyond 2^53 */
        int n = snprintf(buf, DECIMAL_BUF, "%.6f", v);
        return n < 0 ? 0 : (size_t)n < DECIMAL_BUF ? (size_t)n : DECIMAL_BUF - 1;
    }
    uint64_t ip = (uint64_t)v;
    double f = v - (double)ip; /* exact: the bits below the binary point */
    uint64_t q = 0;            /* f * 10^6, rounded half to even */
    if (f > 0) {
        int e;
        double mant = frexp(f, &e); /* f = mant * 2^e, mant in [0.5, 1), e <= 0 */
        uint64_t m = (uint64_t)ldexp(mant, 53);
        int shift = 53 - e; /* f = m / 2^shift, shift >= 54 */
        if (shift < 74) { /* else f * 10^6 < 2^73 / 2^74 = 0.5: rounds to 0 */
            unsigned __int128 p = (unsigned __int128)m * 1000000u;
            unsigned __int128 qq = p >> shift, rem = p - (qq << shift), half = (unsigned __int128)1 << (shift - 1);
            q = (uint64_t)qq;
            if (rem > half || (rem == half && (q & 1)))
                q++;
            if (q == 1000000) {
                q = 0;
                ip++;
            }
        }
    }
    char tmp[32];
    char *end = tmp + sizeof tmp;
    for (int d = 0; d < 6; d++) {
        *--end = (char)('0' + q % 10);
        q /= 10;
    }
    *--end = '.';
    char *p = utoa_back(ip, end);
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(buf, p, n);
    buf[n] = '\0';
    return n;
}
