/*
 * buf — a growable byte buffer with a hard cap.
 *
 * Ownership: a struct buf is caller-owned storage; buf_init() prepares it, buf_release() frees
 * its heap memory, buf_take() hands the NUL-terminated bytes to the caller (who free()s them)
 * and leaves the buffer empty.
 *
 * Invariants: data is NULL or NUL-terminated at data[len]; len <= cap_limit. Every append
 * either adds all its bytes or fails (returns -1) and leaves the contents untouched; after a
 * failure `failed` stays set so a sequence of appends can be checked once at the end.
 */
#ifndef PROPSCALER_BUF_H
#define PROPSCALER_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t alloc;
    size_t cap_limit; /* maximum len; appends past it fail */
    bool failed;      /* sticky: an append failed (cap reached or out of memory) */
};

void buf_init(struct buf *b, size_t cap_limit);
void buf_release(struct buf *b);
char *buf_take(struct buf *b);
void buf_reset(struct buf *b);

int buf_append(struct buf *b, const void *bytes, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Direct writes for hot loops: buf_space() makes room for n more bytes and returns where they
 * go (NULL on failure, with `failed` set); buf_advance() then counts the bytes written there
 * (at most n) and keeps the NUL terminator. */
char *buf_space(struct buf *b, size_t n);
void buf_advance(struct buf *b, size_t n);

/* Remove the first n bytes (a reader's consumed input; all of them when n >= len), keeping the
 * allocation for what is appended next. */
void buf_drop_front(struct buf *b, size_t n);

/* Borrowed view of the contents: "" when empty, never NULL. */
const char *buf_str(const struct buf *b);

/* Outside bytes made safe to quote in a message: at most `show` of the `len` bytes, `"` and `\`
 * escaped, anything outside printable ASCII as \xHH (a type "MODIFIED\x01" must not print as
 * MODIFIED). Returns whether all `len` bytes were shown; out is always NUL-terminated. */
bool text_for_message(const char *s, size_t len, size_t show, char *out, size_t outlen);

#endif
