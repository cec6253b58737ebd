/*
 * kanswer — the API server's answers, read strictly before anything is taken from them.
 *
 * A hostile or broken server (a proxy's HTML page, a truncated body, protobuf, a list without
 * `items`, a Scale whose replicas are 1e300 or "7") must never be read as a cluster or a replica
 * count: each reader here either returns a fully checked value or fails with a message naming
 * what was received (status, content type, first bytes) and what was wrong with it. Pure
 * functions: no I/O, no globals; fuzzed by tests/fuzz/fuzz_kanswer.c.
 *
 * Ownership: kanswer_object() gives the caller a cJSON tree to cJSON_Delete(); every other
 * reader borrows from the tree it is given (strings point into it).
 */
#ifndef PROPSCALER_KANSWER_H
#define PROPSCALER_KANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "kclient.h"

/* The body as one JSON object (nothing but whitespace after it) whose "kind" is `kind` (NULL:
 * any kind). 0 and *out set, or -1 with err saying what arrived. */
int kanswer_object(const struct kresp *r, const char *kind, cJSON **out, char *err, size_t errlen);

/* One page of a LIST. items is the array (NULL for an explicit `"items": null`, Go's empty
 * slice); resource_version is required; continue_token is "" on the last page. remaining is
 * metadata.remainingItemCount, -1 when absent (the server omits it with selectors). */
struct kanswer_list {
    const cJSON *items;
    const char *resource_version;
    const char *continue_token;
    long long remaining;
};
int kanswer_list_page(const cJSON *root, struct kanswer_list *page, char *err, size_t errlen);
/* A LIST page that streamed in (liststream.h): its skeleton (the page with each object item
 * replaced by {}) judged as kanswer_object + kanswer_list_page judge a whole page, and it must hold
 * exactly `items` such placeholders (the items handed out as they arrived). `answer` is the
 * response (status, content type) the skeleton came from. On success *root owns the skeleton's
 * tree (page borrows from it; page->items then lists the placeholders). */
int kanswer_list_skeleton(const struct kresp *answer, const char *skeleton, size_t len, const char *kind, size_t items,
                          cJSON **root, struct kanswer_list *page, char *err, size_t errlen);

/* The continue token a LIST page's head tells (liststream's head: the bytes before its items,
 * ending `"items":[`): the head closed as `]}` and read as kanswer_list_page reads metadata.continue
 * (the first "metadata", its first "continue"). 1 with the token in `token` when it is a non-empty
 * string shorter than `cap`; 0 otherwise (no token, or a head that does not parse so). Provisional:
 * the page's whole skeleton is judged at its end. */
int kanswer_list_head_token(const char *head, size_t len, char *token, size_t cap);

/* spec.replicas of a Scale: an integer from 0 to 2^31-1 (absent means 0, as the API's omitempty
 * encoding of 0 does). A string, a fraction, a negative or an out-of-range number is an error. */
int kanswer_scale_replicas(const cJSON *scale, int32_t *replicas, char *err, size_t errlen);

/* The fields of a coordination.k8s.io/v1 Lease that leader election reads. */
struct kanswer_lease {
    const char *holder;     /* "" when nobody holds it */
    const char *renew_time; /* "" when absent */
};
int kanswer_lease(const cJSON *lease, struct kanswer_lease *out, char *err, size_t errlen);

#endif
