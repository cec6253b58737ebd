#include "liststream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jsonscan.h"

void liststream_init(struct liststream *s, size_t max_item, liststream_item_fn item, void *ctx)
{
    memset(s, 0, sizeof *s);
    s->item = item;
    s->ctx = ctx;
    buf_init(&s->skeleton, LISTSTREAM_MAX_SKELETON);
    buf_init(&s->current, max_item);
}

void liststream_release(struct liststream *s)
{
    buf_release(&s->skeleton);
    buf_release(&s->current);
    memset(s, 0, sizeof *s);
}

/* An item start with fewer bytes left in the chunk than this is carried to the next chunk (a
 * Node is ~6 KB; libcurl hands out at most 16 KB at a time). */
#define ITEM_CARRY_MAX ((size_t)64 << 10)

static int fail(struct liststream *s, const char *what)
{
    snprintf(s->error, sizeof s->error, "%s (byte %zu of the answer)", what, s->fed + 1);
    return -1;
}

static int too_deep(struct liststream *s)
{
    char msg[120];
    snprintf(msg, sizeof msg, "the answer nests containers more than %d deep", CJSON_NESTING_LIMIT);
    return fail(s, msg);
}

/* Inside an item: follow its structure up to its closing brace or the end of the chunk; the
 * bytes are appended to `current`. Returns the bytes consumed; *done when the item is whole. */
static size_t item_bytes(struct liststream *s, const char *p, const char *e, bool *done)
{
    const char *q = p;
    *done = false;
    while (q < e) {
        if (s->in_string) {
            if (s->escape) {
                s->escape = false;
                q++;
                continue;
            }
            q = json_string_stop(q, e, false);
            if (q >= e)
                break;
            if (*q == '\\')
                s->escape = true;
            else
                s->in_string = false;
            q++;
            continue;
        }
        char c = *q++;
        if (c == '"') {
            s->in_string = true;
        } else if (c == '{' || c == '[') {
            if (s->depth >= CJSON_NESTING_LIMIT) {
                s->fed += (size_t)(q - p) - 1;
                too_deep(s);
                return 0;
            }
            s->depth++;
        } else if (c == '}' || c == ']') {
            if (--s->depth == 2) {
                *done = true;
                break;
            }
        }
    }
    return (size_t)(q - p);
}

static void key_closed(struct liststream *s)
{
    s->in_key = false;
    if (s->key_escaped) {
        fail(s, "a top-level key is written with an escape: the page is refused rather than read another way "
                "than a whole-page parser would");
        return;
    }
    if (s->key_len == 5 && memcmp(s->key, "items", 5) == 0 && !s->items_key_seen) {
        s->items_key_seen = true;
        s->await_items_value = true; /* after the ':' */
    }
}

/* One byte outside the items, kept in the skeleton. */
static int skeleton_byte(struct liststream *s, char c)
{
    if (s->in_string) {
        if (s->escape) {
            s->escape = false;
        } else if (c == '\\') {
            s->escape = true;
            s->key_escaped = s->key_escaped || s->in_key;
        } else if (c == '"') {
            s->in_string = false;
            if (s->in_key)
                key_closed(s);
        } else if (s->in_key) {
            if (s->key_len < sizeof s->key)
                s->key[s->key_len++] = c;
            else
                s->key_len = sizeof s->key + 1; /* too long to be "items" */
        }
        return 0;
    }
    bool value_start = (unsigned char)c > 32 && c != ':'; /* cJSON takes any byte <= 32 as whitespace */
    bool items_array = false;
    if (s->await_items_value && value_start) {
        items_array = c == '[';
        s->await_items_value = false;
    }
    switch (c) {
    case '"':
        s->in_string = true;
        if (s->depth == 1 && s->top_object && s->expect_key) {
            s->in_key = true;
            s->key_len = 0;
            s->key_escaped = false;
            s->expect_key = false;
        }
        break;
    case '{':
    case '[':
        if (s->depth >= CJSON_NESTING_LIMIT)
            return too_deep(s);
        s->depth++;
        if (s->depth == 1) {
            s->top_object = c == '{';
            s->expect_key = s->top_object;
        }
        if (s->depth == 2 && items_array)
            s->in_items = true;
        break;
    case '}':
    case ']':
        if (s->depth > 0) /* below 0 the skeleton is not JSON anyway: its parse says so */
            s->depth--;
        if (s->depth < 2)
            s->in_items = false;
        break;
    case ',':
        if (s->depth == 1 && s->top_object)
            s->expect_key = true;
        break;
    default:
        break;
    }
    return 0;
}

/* An item the chunk cut, held in `current` (s->carry): tried with item_at again now that the next
 * chunk is appended; else cut out the usual way from its start. Returns the bytes of `data` the
 * item took (the rest is the page after it), -1 on error, -2 when the item callback said stop.
 * An item that ends inside the bytes carried (one item_at declined for its shape, not its cut)
 * leaves *rest: the carried bytes after it, to be read before `data` (heap; the caller frees). */
static long carried_item(struct liststream *s, const char *data, size_t len, char **rest, size_t *rest_len)
{
    size_t had = s->current.len, fed = s->fed; /* fed: the answer's bytes up to this chunk */
    s->carry = false;
    if (buf_append(&s->current, data, len) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "an item is larger than the %zu KiB response cap (--max-response-size)",
                 s->current.cap_limit >> 10);
        return fail(s, msg);
    }
    size_t item_len = 0;
    int rc = 0;
    if (s->item_at(s->ctx, s->current.data, s->current.len, &item_len) == 1 && item_len >= 2 &&
        item_len <= s->current.len) {
        s->items++;
    } else {
        /* declined (not a node it reads, or longer than these bytes): follow its structure from
         * its opening brace, as when an item is first cut */
        s->depth++;
        s->in_item = true;
        s->fed -= had - 1;
        bool done;
        size_t n = item_bytes(s, s->current.data + 1, s->current.data + s->current.len, &done);
        if (s->error[0])
            return -1;
        s->fed += n;
        if (!done)
            return (long)len; /* all of it is the item so far */
        s->in_item = false;
        s->fed = fed;
        item_len = 1 + n;
        s->items++;
        rc = s->item(s->ctx, s->current.data, item_len);
    }
    s->fed += item_len - had;
    long took = 0;
    if (item_len < had) {
        *rest_len = had - item_len;
        *rest = malloc(*rest_len);
        if (!*rest)
            return fail(s, "out of memory");
        memcpy(*rest, s->current.data + item_len, *rest_len);
    } else {
        took = (long)(item_len - had);
    }
    buf_reset(&s->current);
    return rc != 0 ? -2 : took;
}

int liststream_feed(struct liststream *s, const char *data, size_t len)
{
    if (s->error[0])
        return -1;
    const char *p = data, *e = data + len;
    if (s->carry && len > 0) {
        char *rest = NULL;
        size_t rest_len = 0;
        long took = carried_item(s, data, len, &rest, &rest_len);
        if (took < 0) {
            free(rest);
            return took == -2 ? 1 : -1;
        }
        if (rest) { /* the carried bytes after the item first, then this chunk (it may carry again) */
            int rc = liststream_feed(s, rest, rest_len);
            free(rest);
            return rc != 0 ? rc : liststream_feed(s, data, len);
        }
        p += took;
    }
    while (p < e) {
        if (s->in_item) {
            bool done;
            size_t n = item_bytes(s, p, e, &done);
            if (s->error[0])
                return -1;
            if (buf_append(&s->current, p, n) != 0) {
                char msg[160];
                snprintf(msg, sizeof msg, "an item is larger than the %zu KiB response cap (--max-response-size)",
                         s->current.cap_limit >> 10);
                return fail(s, msg);
            }
            p += n;
            s->fed += n;
            if (!done)
                continue;
            s->in_item = false;
            s->items++;
            int rc = s->item(s->ctx, s->current.data, s->current.len);
            buf_reset(&s->current);
            if (rc != 0)
                return 1;
            continue;
        }
        char c = *p;
        if (s->in_items && !s->in_string && s->depth == 2 && c == '{') { /* an item starts */
            if (buf_append(&s->skeleton, "{}", 2) != 0)
                return fail(s, "the page outside its items is larger than the skeleton cap");
            size_t used = 0;
            if (s->item_at && s->item_at(s->ctx, p, (size_t)(e - p), &used) == 1 && used >= 2 &&
                used <= (size_t)(e - p) && used <= s->current.cap_limit) {
                /* read in place: what the cut below would have handed over */
                s->items++;
                p += used;
                s->fed += used;
                continue;
            }
            if (s->item_at && (size_t)(e - p) < ITEM_CARRY_MAX) {
                /* most likely cut by the chunk's end: keep its bytes and try again with the next
                 * chunk's (one copy, instead of scanning it here and decoding it again) */
                if (buf_append(&s->current, p, (size_t)(e - p)) != 0)
                    return fail(s, "out of memory");
                s->fed += (size_t)(e - p);
                s->carry = true;
                return 0;
            }
            if (buf_append(&s->current, "{", 1) != 0)
                return fail(s, "out of memory");
            s->depth++;
            s->in_item = true;
            p++;
            s->fed++;
            continue;
        }
        if (buf_append(&s->skeleton, &c, 1) != 0)
            return fail(s, "the page outside its items is larger than the skeleton cap");
        if (skeleton_byte(s, c) != 0 || s->error[0])
            return -1;
        p++;
        s->fed++;
        if (s->in_items && !s->head_told) {
            s->head_told = true;
            if (s->head)
                s->head(s->ctx, s->skeleton.data, s->skeleton.len);
        }
    }
    return 0;
}

int liststream_finish(struct liststream *s, const char **skeleton, size_t *len)
{
    if (s->error[0])
        return -1;
    while (s->carry) {
        /* the last chunk ended on a carried item: one item_at declined for its shape, not its cut
         * (or a cut answer): read it the usual way now (the bytes after it may carry another) */
        char *rest = NULL;
        size_t rest_len = 0;
        long took = carried_item(s, "", 0, &rest, &rest_len);
        int rc = took == -2 ? 1 : took < 0 ? -1 : rest ? liststream_feed(s, rest, rest_len) : 0;
        free(rest);
        if (rc == 1 && !s->error[0])
            fail(s, "the consumer refused an item");
        if (rc != 0 || s->error[0])
            return -1;
    }
    if (s->in_item || s->carry)
        return fail(s, "the answer ended inside an item");
    *skeleton = buf_str(&s->skeleton);
    *len = s->skeleton.len;
    return 0;
}
