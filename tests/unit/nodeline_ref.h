/*
 * nodeline_ref — the reference the fast path is held to, shared by tests/unit/test_nodeline.c and
 * tests/fuzz/fuzz_nodeline.c: a trace line decoded the general way, exactly as the trace reader
 * and replay do without the fast path (watch_event_parse; a "t"; kind Node; DELETED -> the
 * metadata.name string; ADDED/MODIFIED -> node_decode).
 */
#ifndef PROPSCALER_NODELINE_REF_H
#define PROPSCALER_NODELINE_REF_H

#include <stdbool.h>
#include <string.h>

#include "nodeline.h"
#include "watchevent.h"

/* 0: the line is a Node event replay applies, decoded into *out; -1: it is not. */
static inline int nodeline_reference(const char *line, size_t len, const struct node_count_opts *opts,
                                     struct nodeline *out)
{
    struct watch_event ev;
    char err[512];
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (watch_event_parse(line, len, &ev, err, sizeof err) != 0)
        return -1;
    if (!ev.has_t || !ev.kind || strcmp(ev.kind, "Node") != 0 || ev.type == WEV_BOOKMARK || ev.type == WEV_ERROR)
        goto done;
    out->t = ev.t;
    out->type = ev.type;
    if (ev.type == WEV_DELETED) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev.object, "metadata"), "name");
        if (!cJSON_IsString(name) || strlen(name->valuestring) > NODE_NAME_MAX)
            goto done;
        memcpy(out->node.name, name->valuestring, strlen(name->valuestring) + 1);
        rc = 0;
    } else if (node_decode(ev.object, opts, &out->node, err, sizeof err) == 0) {
        rc = 0;
    }
done:
    watch_event_release(&ev);
    return rc;
}

/* The fast path's answer equals the reference's: same type, the same t bit for bit, the same
 * node record (DELETED: the same name). */
static inline bool nodeline_equal(const struct nodeline *a, const struct nodeline *b)
{
    if (a->type != b->type || memcmp(&a->t, &b->t, sizeof a->t) != 0 || strcmp(a->node.name, b->node.name) != 0)
        return false;
    if (a->type == WEV_DELETED)
        return true;
    const struct node_obs *x = &a->node, *y = &b->node;
    return x->cpu_nano == y->cpu_nano && x->has_cpu == y->has_cpu && x->unschedulable == y->unschedulable &&
           x->ready == y->ready && x->counted == y->counted && x->schedulable == y->schedulable && x->tags == y->tags;
}

#endif
