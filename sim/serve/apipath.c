#include "apipath.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hexdigit.h"

char *apipath_url_decode(const char *s, size_t len, bool plus_is_space)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi = i + 2 < len ? hex_digit_value(s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_digit_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) { /* malformed, or an encoded NUL */
                free(out);
                return NULL;
            }
            out[w++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (s[i] == '+' && plus_is_space) {
            out[w++] = ' ';
        } else {
            out[w++] = s[i];
        }
    }
    out[w] = '\0';
    return out;
}

void apipath_release(struct api_request *r)
{
    free(r->group);
    free(r->version);
    free(r->namespace_);
    free(r->resource);
    free(r->name);
    free(r->subresource);
    free(r->label_selector);
    free(r->field_selector);
    free(r->continue_token);
    free(r->resource_version);
    free(r->resource_version_match);
    memset(r, 0, sizeof *r);
}

/* A path segment is a DNS-ish name: no empty segments, no "." or "..", printable ASCII. */
static bool valid_segment(const char *s)
{
    if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strlen(s) > 253)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == '/')
            return false;
    return true;
}

/* As kube-apiserver converts a boolean query parameter (apimachinery's
 * Convert_Slice_string_To_bool): only "false" (any case) and "0" are false; anything else,
 * the empty value included, is true (watch=True, watch=1, watch=). */
static bool parse_bool_param(const char *v) { return !(strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0); }

static int parse_long(const char *v, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < 0)
        return -1;
    *out = n;
    return 0;
}

int apipath_set_param(struct api_request *r, const char *key_raw, size_t klen, const char *val_raw, size_t vlen,
                      char *err, size_t errlen)
{
    char *key = apipath_url_decode(key_raw, klen, true);
    char *val = apipath_url_decode(val_raw, vlen, true);
    if (!key || !val) {
        free(key);
        free(val);
        snprintf(err, errlen, "malformed query string");
        return -1;
    }
    char **slot = NULL;
    int rc = 0;
    if (strcmp(key, "labelSelector") == 0)
        slot = &r->label_selector;
    else if (strcmp(key, "fieldSelector") == 0)
        slot = &r->field_selector;
    else if (strcmp(key, "continue") == 0)
        slot = &r->continue_token;
    else if (strcmp(key, "resourceVersion") == 0)
        slot = &r->resource_version;
    else if (strcmp(key, "resourceVersionMatch") == 0)
        slot = &r->resource_version_match;
    else if (strcmp(key, "limit") == 0)
        rc = parse_long(val, &r->limit);
    else if (strcmp(key, "timeoutSeconds") == 0)
        rc = parse_long(val, &r->timeout_seconds);
    else if (strcmp(key, "watch") == 0)
        r->watch = parse_bool_param(val);
    else if (strcmp(key, "allowWatchBookmarks") == 0)
        r->allow_bookmarks = parse_bool_param(val);
    else if (strcmp(key, "sendInitialEvents") == 0)
        r->send_initial_events = parse_bool_param(val);
    else if (strcmp(key, "dryRun") == 0)
        r->dry_run = val[0] != '\0';
    if (rc != 0)
        snprintf(err, errlen, "invalid value for %s: \"%.64s\" (expected a non-negative integer)", key, val);
    if (slot && rc == 0) {
        free(*slot);
        *slot = val;
        val = NULL;
    }
    free(key);
    free(val);
    return rc;
}

static int parse_query(const char *query, struct api_request *r, char *err, size_t errlen)
{
    if (!query)
        return 0;
    const char *p = query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        if (len > 0 && apipath_set_param(r, p, klen, eq ? eq + 1 : "", eq ? len - klen - 1 : 0, err, errlen) != 0)
            return -1;
        p += len;
        if (*p == '&')
            p++;
    }
    return 0;
}

int apipath_parse(const char *url, const char *query, struct api_request *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t ulen = strlen(url);
    if (ulen == 0 || ulen > APIPATH_MAX_URL || url[0] != '/') {
        snprintf(err, errlen, "the server could not find the requested resource");
        return -1;
    }
    char *segs[12];
    int n = 0;
    char *path = apipath_url_decode(url, ulen, false);
    if (!path) {
        snprintf(err, errlen, "malformed path");
        return -1;
    }
    /* split on '/', ignoring one trailing slash */
    size_t plen = strlen(path);
    if (plen > 1 && path[plen - 1] == '/')
        path[--plen] = '\0';
    char *save = NULL;
    for (char *tok = strtok_r(path + 1, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (n == 12 || !valid_segment(tok)) {
            free(path);
            snprintf(err, errlen, "the server could not find the requested resource");
            return -1;
        }
        segs[n++] = tok;
    }
    /* strtok_r collapses "//": reject paths that had empty segments */
    if (strstr(url, "//")) {
        free(path);
        snprintf(err, errlen, "the server could not find the requested resource");
        return -1;
    }
    int rc = -1;
    int i = 0;
    if (n == 1 && strcmp(segs[0], "version") == 0) {
        out->kind = AP_VERSION;
        rc = 0;
        goto query;
    }
    if (n >= 1 && strcmp(segs[0], "api") == 0) {
        if (n == 1) {
            out->kind = AP_DISCOVERY_API;
            rc = 0;
            goto query;
        }
        out->group = strdup("");
        out->version = strdup(segs[1]);
        i = 2;
    } else if (n >= 1 && strcmp(segs[0], "apis") == 0) {
        if (n == 1) {
            out->kind = AP_DISCOVERY_APIS;
            rc = 0;
            goto query;
        }
        out->group = strdup(segs[1]);
        if (n == 2) {
            out->kind = AP_DISCOVERY_GROUP;
            rc = 0;
            goto query;
        }
        out->version = strdup(segs[2]);
        i = 3;
    } else {
        snprintf(err, errlen, "the server could not find the requested resource");
        goto done;
    }
    if (i == n) {
        out->kind = AP_DISCOVERY_GV;
        rc = 0;
        goto query;
    }
    out->kind = AP_RESOURCE;
    /* namespaces/{ns}/{resource}...; a bare namespaces/{ns} is the Namespace object itself */
    if (strcmp(segs[i], "namespaces") == 0 && n - i >= 3) {
        out->namespace_ = strdup(segs[i + 1]);
        i += 2;
    }
    out->resource = strdup(segs[i++]);
    if (i < n)
        out->name = strdup(segs[i++]);
    if (i < n)
        out->subresource = strdup(segs[i++]);
    if (i < n) {
        snprintf(err, errlen, "the server could not find the requested resource");
        goto done;
    }
    rc = 0;
query:
    if (rc == 0 && parse_query(query, out, err, errlen) != 0)
        rc = -1;
done:
    free(path);
    if (rc == 0 && ((out->group && !out->version && out->kind != AP_DISCOVERY_GROUP) ||
                    (out->kind == AP_RESOURCE && !out->resource))) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    if (rc != 0)
        apipath_release(out);
    return rc;
}
