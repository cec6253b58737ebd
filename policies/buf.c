#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t cap_limit)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap_limit = cap_limit;
    b->failed = false;
}

void buf_release(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
}

char *buf_take(struct buf *b)
{
    char *d = b->data;
    if (!d)
        d = calloc(1, 1);
    b->data = NULL;
    b->len = b->alloc = 0;
    return d;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data)
        b->data[0] = '\0';
}

/* Make room for n more bytes plus the terminating NUL. Grows geometrically. */
static int buf_reserve(struct buf *b, size_t n)
{
    if (n > b->cap_limit || b->len > b->cap_limit - n) {
        b->failed = true;
        return -1;
    }
    size_t need = b->len + n + 1;
    if (need <= b->alloc)
        return 0;
    size_t alloc = b->alloc ? b->alloc : 64;
    while (alloc < need)
        alloc = alloc > ((size_t)-1) / 2 ? need : alloc * 2;
    char *d = realloc(b->data, alloc);
    if (!d) {
        b->failed = true;
        return -1;
    }
    b->data = d;
    b->alloc = alloc;
    return 0;
}

int buf_append(struct buf *b, const void *bytes, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_puts(struct buf *b, const char *s) { return buf_append(b, s, strlen(s)); }

char *buf_space(struct buf *b, size_t n)
{
    return buf_reserve(b, n) == 0 ? b->data + b->len : NULL;
}

void buf_advance(struct buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_drop_front(struct buf *b, size_t n)
{
    if (n >= b->len)
        n = b->len;
    if (!b->data)
        return;
    memmove(b->data, b->data + n, b->len - n + 1); /* with the NUL */
    b->len -= n;
}

int buf_putc(struct buf *b, char c) { return buf_append(b, &c, 1); }

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, copy);
    va_end(copy);
    if (n < 0) {
        b->failed = true;
        return -1;
    }
    if ((size_t)n < sizeof small)
        return buf_append(b, small, (size_t)n);
    if (buf_reserve(b, (size_t)n) != 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *buf_str(const struct buf *b) { return b->data ? b->data : ""; }

bool text_for_message(const char *s, size_t len, size_t show, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t w = 0, i = 0;
    if (outlen == 0)
        return false;
    for (; i < len && i < show; i++) {
        unsigned char ch = (unsigned char)s[i];
        size_t need = ch == '"' || ch == '\\' ? 2 : ch >= 0x20 && ch < 0x7f ? 1 : 4;
        if (w + need >= outlen)
            break;
        if (need == 2) {
            out[w++] = '\\';
            out[w++] = (char)ch;
        } else if (need == 1) {
            out[w++] = (char)ch;
        } else {
            out[w++] = '\\';
            out[w++] = 'x';
            out[w++] = hex[ch >> 4];
            out[w++] = hex[ch & 15];
        }
    }
    out[w] = '\0';
    return i == len;
}
