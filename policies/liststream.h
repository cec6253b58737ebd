/*
 * liststream — a LIST answer cut into its items while it arrives, so that no page is ever held
 * whole: memory is bounded by one item (plus the page's few bytes outside its items).
 *
 * Fed the body chunk by chunk (from libcurl's write callback), it follows the JSON structure
 * (strings, escapes, nesting) and hands each element of the top-level object's first "items"
 * array that is an object to `item`, as that object's bytes, the moment its closing brace
 * arrives. Everything else is kept as the "skeleton": the page with each such item replaced by
 * `{}`. At the end the caller judges the skeleton as it judged a whole page (kanswer_object +
 * kanswer_list_page: kind, JSON validity, metadata.resourceVersion/continue/remainingItemCount)
 * and each item by parsing it; a page is accepted when all of them are.
 *
 * Why that equals parsing the page whole with cJSON: the page is the skeleton with every `{}`
 * placeholder replaced by its item's text, and replacing one valid JSON object by another keeps a
 * document valid and changes only that element. The cut follows cJSON's reading exactly: the
 * first member named "items" (cJSON's getters take the first), containers nested at most
 * CJSON_NESTING_LIMIT deep counted from the page (an item parsed alone must not pass a depth the
 * page would not), and a top-level key written with an escape (which cJSON would decode, maybe to
 * "items") refuses the page rather than guess. The number of items handed out is checked against
 * the skeleton's.
 *
 * Ownership: caller-owned struct; liststream_init()/liststream_release(). Pure: no I/O.
 */
#ifndef PROPSCALER_LISTSTREAM_H
#define PROPSCALER_LISTSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Called with one item's complete bytes (not NUL-terminated). Non-zero stops the stream (the
 * caller then knows why: liststream_feed returns 1). */
typedef int (*liststream_item_fn)(void *ctx, const char *json, size_t len);

/* Optional, tried first at each item's opening brace: the consumer reads the item straight from
 * the bytes received, p[0..avail) (the rest of this chunk). 1: it read and applied one complete
 * JSON object of *len bytes (one that `item` would have been handed whole); 0: declined (the item
 * does not end in this chunk, or the consumer cannot read it so): it is cut out and handed to
 * `item` as usual. Saves the scan for the item's end and the copy of its bytes. */
typedef int (*liststream_item_at_fn)(void *ctx, const char *p, size_t avail, size_t *len);

/* Optional: called once, when the page's items array opens, with the skeleton so far (the page's
 * bytes before its items: `{"kind":..,"metadata":{..},"items":[`, not NUL-terminated). A page whose
 * metadata comes first (kube-apiserver writes kind, apiVersion, metadata, items) thus tells its
 * continue token before its items arrive: the next page can be asked for while this one streams.
 * What it says is provisional: the whole skeleton is judged at the end. */
typedef void (*liststream_head_fn)(void *ctx, const char *head, size_t len);

/* The skeleton's own cap: the page's metadata and kind, 3 bytes per item. */
#define LISTSTREAM_MAX_SKELETON ((size_t)4 << 20)

struct liststream {
    liststream_item_fn item;
    liststream_item_at_fn item_at; /* NULL unless set after liststream_init */
    liststream_head_fn head;       /* NULL unless set after liststream_init */
    void *ctx;
    struct buf skeleton, current; /* the page outside its items; the item being received */
    size_t items;                 /* handed out */
    size_t fed;                   /* bytes seen, for messages */
    int depth;                    /* containers open */
    bool in_string, escape;
    bool top_object;              /* the document is an object (depth 1 is its members) */
    bool expect_key;              /* at depth 1: the next string is a key */
    bool in_key;                  /* inside a depth-1 key */
    char key[8];                  /* its first bytes */
    size_t key_len;
    bool key_escaped;
    bool items_key_seen;          /* the first "items" key has been read */
    bool await_items_value;       /* its value comes next */
    bool in_items;                /* inside that array (depth 2) */
    bool in_item;                 /* copying an item (depth >= 3) */
    bool head_told;               /* `head` was called */
    bool carry;                   /* item_at declined an item the chunk cut: its bytes so far are
                                   * in `current`, tried again with the next chunk appended */
    char error[200];
};

/* max_item: the cap on one item's bytes (the response cap). */
void liststream_init(struct liststream *s, size_t max_item, liststream_item_fn item, void *ctx);
void liststream_release(struct liststream *s);
/* 0: go on; -1: the page is refused (s->error says why); 1: the item callback said stop. */
int liststream_feed(struct liststream *s, const char *data, size_t len);
/* After the last byte: reads an item still carried (item_at declined it at the last chunk's end:
 * `item` may be called here), then -1 (s->error) when the body ended inside an item or an item was
 * refused; else 0, and *skeleton / *len give the skeleton (NUL-terminated, borrowed) to judge as a
 * page. */
int liststream_finish(struct liststream *s, const char **skeleton, size_t *len);

#endif
