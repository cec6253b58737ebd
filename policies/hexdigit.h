/*
 * hexdigit — the value of one hexadecimal digit, for the decoders of outside bytes that meet
 * them (JSON's \uXXXX in nodejson, a URL's %XX in propsim serve's apipath).
 * Pure, header-only.
 */
#ifndef PROPSCALER_HEXDIGIT_H
#define PROPSCALER_HEXDIGIT_H

/* 0-15, or -1 when c is not a hexadecimal digit (either case). */
static inline int hex_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
