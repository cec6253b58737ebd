/*
 * nodejson_ref — what the tree-free decoders are held to, shared by tests/unit/test_nodejson.c and
 * tests/fuzz/fuzz_nodejson.c. Each check returns the fast path's answer (1 accepted, 0 declined)
 * or -1 when the contract is broken (why names how); the reference is always cJSON + the general
 * decoders, exactly as the controller reads bytes when the fast path declines.
 */
#ifndef PROPSCALER_NODEJSON_REF_H
#define PROPSCALER_NODEJSON_REF_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kanswer.h"
#include "liststream.h"
#include "nodejson.h"
#include "nodeline_ref.h"
#include "placement.h"
#include "watchevent.h"

/* cJSON's reading of bytes as one value with nothing but whitespace after (as the controller
 * reads an item or an answer). */
static inline cJSON *ref_parse(const char *json, size_t len)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    for (const char *p = end; root && p < json + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            cJSON_Delete(root);
            return NULL;
        }
    return root;
}

static inline bool ref_same_obs(const struct node_obs *a, const struct node_obs *b)
{
    return strcmp(a->name, b->name) == 0 && a->cpu_nano == b->cpu_nano && a->has_cpu == b->has_cpu &&
           a->unschedulable == b->unschedulable && a->ready == b->ready && a->counted == b->counted &&
           a->schedulable == b->schedulable;
}

/* Two trees the same, member for member in order (cJSON_Compare looks members up by name, which
 * a duplicate key defeats). */
static inline bool ref_same_tree(const cJSON *a, const cJSON *b)
{
    char *pa = a ? cJSON_PrintUnformatted(a) : NULL, *pb = b ? cJSON_PrintUnformatted(b) : NULL;
    bool same = pa && pb && strcmp(pa, pb) == 0;
    free(pa);
    free(pb);
    return same;
}

/* A span equals a cJSON getter's subtree (both absent, or the span parses to the same value). */
static inline bool ref_same_span(struct json_span s, const cJSON *want)
{
    if (!s.p || !s.len)
        return want == NULL;
    cJSON *got = cJSON_ParseWithLength(s.p, s.len);
    bool same = got && want && ref_same_tree(got, want);
    cJSON_Delete(got);
    return same;
}

static inline const cJSON *ref_get(const cJSON *o, const char *k)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

/* One Node object's bytes. */
static inline int nodejson_check(const char *json, size_t len, const struct node_count_opts *opts, char *why,
                                 size_t whylen)
{
    struct node_obs fast, ref;
    struct nodejson_extra x;
    memset(&x, 0, sizeof x);
    int rc = nodejson_decode(json, len, opts, &fast, &x);
    if (rc != 1)
        return rc == 0 ? 0 : (snprintf(why, whylen, "nodejson_decode returned %d", rc), -1);
    cJSON *root = ref_parse(json, len);
    char err[512];
    if (!root) {
        snprintf(why, whylen, "accepted bytes cJSON refuses");
        return -1;
    }
    int out = 1;
    if (node_decode(root, opts, &ref, err, sizeof err) != 0) {
        snprintf(why, whylen, "accepted a node node_decode refuses: %s", err);
        out = -1;
    } else if (!ref_same_obs(&fast, &ref)) {
        snprintf(why, whylen, "records differ: %s/%s cpu %lld/%lld ready %d/%d unsched %d/%d counted %d/%d", fast.name,
                 ref.name, (long long)fast.cpu_nano, (long long)ref.cpu_nano, fast.ready, ref.ready, fast.unschedulable,
                 ref.unschedulable, fast.counted, ref.counted);
        out = -1;
    } else {
        const cJSON *meta = ref_get(root, "metadata"), *rv = ref_get(meta, "resourceVersion");
        if (!ref_same_span(x.labels, ref_get(meta, "labels")) ||
            !ref_same_span(x.taints, ref_get(ref_get(root, "spec"), "taints"))) {
            snprintf(why, whylen, "the labels or taints span differs from cJSON's subtree");
            out = -1;
        } else if (cJSON_IsString(rv) ? !x.resource_version.p || strlen(rv->valuestring) != x.resource_version.len ||
                                            memcmp(rv->valuestring, x.resource_version.p, x.resource_version.len) != 0
                                      : x.resource_version.p != NULL) {
            snprintf(why, whylen, "the resourceVersion differs from cJSON's");
            out = -1;
        }
    }
    cJSON_Delete(root);
    return out;
}

/* One watch event line's envelope: the general reader (nodejson_event_envelope), and the fixed
 * shape (nodejson_event_shape) whose object the strict decoder accepts. */
static inline int envelope_check(const char *line, size_t len, char *why, size_t whylen)
{
    enum watch_event_type type, stype;
    struct json_span obj, sobj;
    struct node_obs node;
    bool general = nodejson_event_envelope(line, len, &type, &obj) == 1;
    bool shaped = nodejson_event_shape(line, len, &stype, &sobj) == 1;
    if (shaped && nodejson_decode(sobj.p, sobj.len, NULL, &node, NULL) == 1 &&
        (!general || stype != type || sobj.p != obj.p || sobj.len != obj.len)) {
        snprintf(why, whylen, general ? "the fixed shape with a decodable object differs from the general envelope"
                                      : "the fixed shape with a decodable object, which the general envelope refuses");
        return -1;
    }
    if (!general)
        return 0;
    struct watch_event ev;
    char err[512];
    if (watch_event_parse(line, len, &ev, err, sizeof err) != 0) {
        snprintf(why, whylen, "an envelope watch_event_parse refuses: %s", err);
        return -1;
    }
    int out = 1;
    if (ev.type != type || ev.has_t || !ref_same_span(obj, ev.object)) {
        snprintf(why, whylen, "the envelope differs from watch_event_parse's reading");
        out = -1;
    }
    watch_event_release(&ev);
    return out;
}

/* One trace line, against the trace reader's general path (nodeline_ref.h). */
static inline int trace_line_check(const char *line, size_t len, const struct node_count_opts *opts, char *why,
                                   size_t whylen)
{
    struct nodeline fast, ref;
    if (nodejson_trace_line(line, len, opts, &fast) != 1)
        return 0;
    if (nodeline_reference(line, len, opts, &ref) != 0) {
        snprintf(why, whylen, "a trace line the general path refuses");
        return -1;
    }
    if (!nodeline_equal(&fast, &ref)) {
        snprintf(why, whylen, "a trace line read otherwise than by the general path (t %.17g/%.17g, %s/%s)", fast.t, ref.t,
                 fast.node.name, ref.node.name);
        return -1;
    }
    return 1;
}

/* A LIST page, fed in chunks of the given sizes (cycled): the items the stream hands out and the
 * skeleton's verdict, against kanswer's reading of the whole page. */
struct ref_items {
    cJSON *array;
    bool bad;            /* an item cJSON refuses */
    bool prefix_differs; /* item_at: nodejson_decode_prefix read a node otherwise than alone */
    int heads;           /* times the head callback was called */
    char head_token[1024]; /* the token kanswer_list_head_token read from the head ("" none) */
    size_t head_len;
    char head_start[64]; /* the head's first bytes, compared with the skeleton's */
};

/* liststream's head, read as the controller's reflector reads it */
static inline void ref_head(void *ctx, const char *head, size_t len)
{
    struct ref_items *it = ctx;
    it->heads++;
    it->head_len = len;
    memcpy(it->head_start, head, len < sizeof it->head_start ? len : sizeof it->head_start);
    if (!kanswer_list_head_token(head, len, it->head_token, sizeof it->head_token))
        it->head_token[0] = '\0';
}

static inline int ref_collect(void *ctx, const char *json, size_t len)
{
    struct ref_items *it = ctx;
    cJSON *o = ref_parse(json, len);
    if (!o) {
        it->bad = true;
        return 1;
    }
    cJSON_AddItemToArray(it->array, o);
    return 0;
}

/* The item_at path (liststream_item_at_fn) as the controller uses it: a node read in place by
 * nodejson_decode_prefix, which must read it as nodejson_decode reads its bytes alone. */
static inline int ref_collect_at(void *ctx, const char *p, size_t avail, size_t *len)
{
    struct ref_items *it = ctx;
    struct nodeline a = {0}, b = {0};
    if (nodejson_decode_prefix(p, avail, NULL, &a.node, NULL, len) != 1)
        return 0;
    if (nodejson_decode(p, *len, NULL, &b.node, NULL) != 1 || !nodeline_equal(&a, &b)) {
        it->bad = true; /* liststream_check reports it */
        it->prefix_differs = true;
    }
    return ref_collect(ctx, p, *len) == 0 ? 1 : 0;
}

/* Feeds the page in chunks, with or without the item_at path: 0 or the stream's verdict. */
static inline int ref_stream(const char *page, size_t len, const size_t *chunks, size_t n_chunks, bool at,
                             struct ref_items *got, struct liststream *s)
{
    liststream_init(s, (size_t)16 << 20, ref_collect, got);
    s->head = ref_head;
    if (at)
        s->item_at = ref_collect_at;
    int rc = 0;
    for (size_t off = 0, k = 0; off < len && rc == 0; k++) {
        size_t n = chunks[k % n_chunks];
        if (n > len - off)
            n = len - off;
        rc = liststream_feed(s, page + off, n);
        off += n;
    }
    return rc;
}

static inline int liststream_check(const char *page, size_t len, const size_t *chunks, size_t n_chunks, char *why,
                                   size_t whylen)
{
    struct ref_items got = {.array = cJSON_CreateArray()}, got_at = {.array = cJSON_CreateArray()};
    struct liststream s, s_at;
    int rc = ref_stream(page, len, chunks, n_chunks, false, &got, &s);
    int rc_at = ref_stream(page, len, chunks, n_chunks, true, &got_at, &s_at);
    const char *skel = NULL, *skel_at = NULL;
    size_t skel_len = 0, skel_at_len = 0;
    cJSON *sroot = NULL, *wroot = NULL;
    struct kanswer_list spage, wpage;
    struct kresp resp = {.status = 200, .content_type = "application/json"};
    char err[700];
    bool stream_ok = rc == 0 && !got.bad && liststream_finish(&s, &skel, &skel_len) == 0 &&
                     kanswer_list_skeleton(&resp, skel, skel_len, "NodeList", s.items, &sroot, &spage, err, sizeof err) == 0;
    bool at_ok = rc_at == 0 && !got_at.bad && liststream_finish(&s_at, &skel_at, &skel_at_len) == 0;
    /* the item_at path: the same items, skeleton and count wherever the plain cut accepts */
    bool at_same = !got_at.prefix_differs && at_ok == (rc == 0 && !got.bad && skel != NULL) &&
                   (!at_ok || (skel_len == skel_at_len && memcmp(skel, skel_at, skel_len) == 0 && s.items == s_at.items &&
                               ref_same_tree(got.array, got_at.array)));
    liststream_release(&s_at);
    cJSON_Delete(got_at.array);
    if (!at_same) {
        snprintf(why, whylen, "the item_at path (nodejson_decode_prefix) differs from the plain cut%s",
                 got_at.prefix_differs ? ": a node read otherwise than alone" : "");
        cJSON_Delete(got.array);
        liststream_release(&s);
        return -1;
    }
    resp.body = page;
    resp.len = len;
    bool whole_ok = kanswer_object(&resp, "NodeList", &wroot, err, sizeof err) == 0 &&
                    kanswer_list_page(wroot, &wpage, err, sizeof err) == 0;
    int out = stream_ok ? 1 : 0;
    /* the head: told once at most, a prefix of the skeleton ending at the items' '['; on a page
     * accepted whole, a token read from it is the page's continue token (what makes asking for the
     * next page early safe: the reflector still compares the two at the page's end) */
    bool head_ok = got.heads <= 1 && (got.heads == 0 || !skel ||
                                      (got.head_len <= skel_len &&
                                       memcmp(got.head_start, skel, got.head_len < sizeof got.head_start ? got.head_len : sizeof got.head_start) == 0 &&
                                       skel[got.head_len - 1] == '['));
    if (head_ok && stream_ok && got.head_token[0] && strcmp(got.head_token, spage.continue_token) != 0)
        head_ok = false;
    if (!head_ok) {
        snprintf(why, whylen, "the page's head (told %d times, token \"%.40s\") disagrees with its whole skeleton",
                 got.heads, got.head_token);
        out = -1;
    } else if (stream_ok && !whole_ok) {
        snprintf(why, whylen, "a page the stream accepts is refused whole");
        out = -1;
    } else if (stream_ok) {
        bool same = strcmp(spage.resource_version, wpage.resource_version) == 0 &&
                    strcmp(spage.continue_token, wpage.continue_token) == 0 && spage.remaining == wpage.remaining;
        int n = cJSON_GetArraySize(got.array);
        same = same && n == cJSON_GetArraySize(wpage.items);
        for (int i = 0; same && i < n; i++)
            same = ref_same_tree(cJSON_GetArrayItem(got.array, i), cJSON_GetArrayItem(wpage.items, i));
        if (!same) {
            snprintf(why, whylen, "the stream's items or metadata differ from the whole page's");
            out = -1;
        }
    }
    cJSON_Delete(sroot);
    cJSON_Delete(wroot);
    cJSON_Delete(got.array);
    liststream_release(&s);
    return out;
}

#endif
