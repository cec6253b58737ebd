#include "liststream.h"

#include <stdio.h>
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

int liststream_feed(struct liststream *s, const char *data, size_t len)
{
    if (s->error[0])
        return -1;
    const char *p = data, *e = data + len;
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
    if (s->in_item)
        return fail(s, "the answer ended inside an item");
    *skeleton = buf_str(&s->skeleton);
    *len = s->skeleton.len;
    return 0;
}
