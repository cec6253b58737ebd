#include "serve_hostile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {
    "none", "list-no-items", "list-wrong-kind", "list-items-not-array", "scale-huge", "scale-string", "scale-fraction",
    "html", "truncated", "protobuf", "deep", "huge", "endless-list", "gzip-corrupt",
};

int serve_hostile_parse(const char *name)
{
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i]) == 0)
            return (int)i;
    return -1;
}

const char *serve_hostile_names(void)
{
    return "none, list-no-items, list-wrong-kind, list-items-not-array, scale-huge, scale-string, scale-fraction, html, "
           "truncated, protobuf, deep, huge, endless-list, gzip-corrupt";
}

/* A copy of the n bytes snprintf wrote into tmp (NULL when it did not fit). */
static char *kept(const char *tmp, int n, size_t cap, size_t *len)
{
    if (n <= 0 || (size_t)n >= cap)
        return NULL;
    *len = (size_t)n;
    return strdup(tmp);
}

static char *filled(size_t n, const char *head, const char *tail, char fill, size_t *len)
{
    size_t hl = strlen(head), tl = strlen(tail);
    char *b = malloc(hl + n + tl + 1);
    if (!b)
        return NULL;
    memcpy(b, head, hl);
    memset(b + hl, fill, n);
    memcpy(b + hl + n, tail, tl + 1);
    *len = hl + n + tl;
    return b;
}

bool serve_hostile_answer(enum hostile_mode mode, bool is_list, bool is_scale, const char *kind, uint64_t rv, char **body,
                          size_t *len, const char **ctype)
{
    unsigned long long v = (unsigned long long)rv;
    char *b = NULL, tmp[512];
    *ctype = "application/json";
    switch (mode) {
    case HOSTILE_NONE: return false;
    case HOSTILE_GZIP_CORRUPT: return false; /* the true answer, corrupted as it is sent (serve_http.c) */
    case HOSTILE_LIST_NO_ITEMS:
        if (!is_list)
            return false;
        b = kept(tmp, snprintf(tmp, sizeof tmp, "{\"kind\":\"%sList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"%llu\"}}", kind, v), sizeof tmp, len);
        break;
    case HOSTILE_LIST_WRONG_KIND:
        if (!is_list)
            return false;
        b = kept(tmp, snprintf(tmp, sizeof tmp, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"%llu\"},\"items\":[]}",
                    v), sizeof tmp, len);
        break;
    case HOSTILE_LIST_ITEMS_NOT_ARRAY:
        if (!is_list)
            return false;
        b = kept(tmp, snprintf(tmp, sizeof tmp, "{\"kind\":\"%sList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"%llu\"},\"items\":{}}",
                    kind, v), sizeof tmp, len);
        break;
    case HOSTILE_SCALE_HUGE:
    case HOSTILE_SCALE_STRING:
    case HOSTILE_SCALE_FRACTION: {
        if (!is_scale)
            return false;
        const char *rep = mode == HOSTILE_SCALE_HUGE ? "1e300" : mode == HOSTILE_SCALE_STRING ? "\"7\"" : "2.5";
        b = kept(tmp, snprintf(tmp, sizeof tmp, "{\"kind\":\"Scale\",\"apiVersion\":\"autoscaling/v1\",\"metadata\":{\"name\":\"x\",\"resourceVersion\":"
                    "\"1\"},\"spec\":{\"replicas\":%s},\"status\":{\"replicas\":1}}", rep), sizeof tmp, len);
        break;
    }
    case HOSTILE_HTML:
        *ctype = "text/html";
        b = kept(tmp, snprintf(tmp, sizeof tmp, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
                    "<hr><center>nginx</center></body></html>\n"), sizeof tmp, len);
        break;
    case HOSTILE_TRUNCATED:
        b = kept(tmp, snprintf(tmp, sizeof tmp, "{\"kind\":\"%sList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"%llu\"},\"items\":[{\"metadata\""
                    ":{\"name\":\"n1\"},\"status\":{\"allocatable\":{\"cp", kind, v), sizeof tmp, len);
        break;
    case HOSTILE_PROTOBUF: {
        static const char pb[] = "k8s\0\n\x0b\n\x02v1\x12\x05Scale\x12\x10\n\x0e\n\x05x\x1a\x00\x22\x00";
        *ctype = "application/vnd.kubernetes.protobuf";
        b = malloc(sizeof pb);
        if (b) {
            memcpy(b, pb, sizeof pb);
            *len = sizeof pb - 1;
        }
        break;
    }
    case HOSTILE_DEEP: b = filled(100000, "", "", '[', len); break;
    case HOSTILE_ENDLESS_LIST: {
        if (!is_list)
            return false;
        static unsigned long page; /* (one page at a time: the answers are not meant to be consistent) */
        unsigned long p = __atomic_fetch_add(&page, 1, __ATOMIC_RELAXED);
        size_t cap = 500 * 64 + 256, n = 0;
        b = malloc(cap);
        if (!b)
            return false;
        n += (size_t)snprintf(b + n, cap - n, "{\"kind\":\"%sList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":"
                              "\"%llu\",\"continue\":\"endless-%lu\"},\"items\":[", kind, v, p);
        for (int i = 0; i < 500; i++)
            n += (size_t)snprintf(b + n, cap - n, "%s{\"metadata\":{\"name\":\"e%lu-%d\"}}", i ? "," : "", p, i);
        n += (size_t)snprintf(b + n, cap - n, "]}");
        *len = n;
        break;
    }
    case HOSTILE_HUGE:
        if (!is_list)
            return false;
        b = filled((size_t)100 << 20, "{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"1\"},"
                   "\"items\":[{\"metadata\":{\"name\":\"", "\"}}]}", 'x', len);
        break;
    }
    if (!b)
        return false;
    *body = b;
    return true;
}
