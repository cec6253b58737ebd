#include "kanswer.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

int kanswer_object(const struct kresp *r, const char *kind, cJSON **out, char *err, size_t errlen)
{
    char what[400];
    *out = NULL;
    const char *end = NULL;
    cJSON *root = r->len ? cJSON_ParseWithLengthOpts(r->body, r->len, &end, 0) : NULL;
    if (root && end) {
        /* cJSON stops at the end of the first value: only whitespace may follow */
        for (const char *p = end; p < r->body + r->len; p++)
            if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
                cJSON_Delete(root);
                root = NULL;
                break;
            }
    }
    if (!root) {
        kresp_describe(r, what, sizeof what);
        snprintf(err, errlen, "the answer is not JSON (%s)", what);
        return -1;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        kresp_describe(r, what, sizeof what);
        snprintf(err, errlen, "the answer is not a JSON object (%s)", what);
        return -1;
    }
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(root, "kind");
    if (kind && (!cJSON_IsString(k) || strcmp(k->valuestring, kind) != 0)) {
        kresp_describe(r, what, sizeof what);
        snprintf(err, errlen, "expected kind %s, got %s%s%s (%s)", kind, cJSON_IsString(k) ? "\"" : "",
                 cJSON_IsString(k) ? k->valuestring : "no kind", cJSON_IsString(k) ? "\"" : "", what);
        cJSON_Delete(root);
        return -1;
    }
    *out = root;
    return 0;
}

int kanswer_list_skeleton(const struct kresp *answer, const char *skeleton, size_t len, const char *kind, size_t items,
                          cJSON **root, struct kanswer_list *page, char *err, size_t errlen)
{
    struct kresp sk = *answer;
    sk.body = skeleton;
    sk.len = len;
    if (kanswer_object(&sk, kind, root, err, errlen) != 0)
        return -1;
    if (kanswer_list_page(*root, page, err, errlen) != 0) {
        cJSON_Delete(*root);
        *root = NULL;
        return -1;
    }
    size_t placeholders = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, page->items)
    {
        if (it->child) /* an object with members was not cut out: the page was not read as a whole parse would */
            placeholders = (size_t)-1;
        else if (placeholders != (size_t)-1)
            placeholders++;
    }
    if (placeholders != items) {
        snprintf(err, errlen, "the page's items could not be cut out as they arrived (%zu handed out)", items);
        cJSON_Delete(*root);
        *root = NULL;
        return -1;
    }
    return 0;
}

int kanswer_list_page(const cJSON *root, struct kanswer_list *page, char *err, size_t errlen)
{
    memset(page, 0, sizeof *page);
    page->remaining = -1;
    if (!cJSON_HasObjectItem(root, "items")) {
        snprintf(err, errlen, "the list has no \"items\" (refused: it would read as an empty collection)");
        return -1;
    }
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
    if (!items || (!cJSON_IsArray(items) && !cJSON_IsNull(items))) {
        snprintf(err, errlen, "the list's \"items\" is not an array");
        return -1;
    }
    const cJSON *it;
    const cJSON *array = cJSON_IsArray(items) ? items : NULL;
    cJSON_ArrayForEach(it, array)
    {
        if (!cJSON_IsObject(it)) {
            snprintf(err, errlen, "an element of the list's \"items\" is not an object");
            return -1;
        }
    }
    page->items = cJSON_IsArray(items) ? items : NULL;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion");
    if (!cJSON_IsString(rv) || !rv->valuestring[0] || strlen(rv->valuestring) >= 64) {
        snprintf(err, errlen, "the list has no valid metadata.resourceVersion");
        return -1;
    }
    page->resource_version = rv->valuestring;
    const cJSON *cont = cJSON_GetObjectItemCaseSensitive(meta, "continue");
    if (cont && !cJSON_IsNull(cont) && (!cJSON_IsString(cont) || strlen(cont->valuestring) >= 1024)) {
        snprintf(err, errlen, "the list's metadata.continue is not a string of under 1024 bytes");
        return -1;
    }
    page->continue_token = cJSON_IsString(cont) ? cont->valuestring : "";
    const cJSON *rem = cJSON_GetObjectItemCaseSensitive(meta, "remainingItemCount");
    if (rem && !cJSON_IsNull(rem)) {
        double v = cJSON_IsNumber(rem) ? rem->valuedouble : -1;
        if (!(v >= 0 && v <= 9e15 && v == floor(v))) {
            snprintf(err, errlen, "the list's metadata.remainingItemCount is not a non-negative integer");
            return -1;
        }
        page->remaining = (long long)v;
    }
    return 0;
}

int kanswer_scale_replicas(const cJSON *scale, int32_t *replicas, char *err, size_t errlen)
{
    *replicas = 0;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(scale, "spec");
    if (spec && !cJSON_IsObject(spec)) {
        snprintf(err, errlen, "the Scale's spec is not an object");
        return -1;
    }
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(spec, "replicas");
    if (!rep || cJSON_IsNull(rep))
        return 0; /* omitempty: 0 replicas */
    if (!cJSON_IsNumber(rep)) {
        snprintf(err, errlen, "the Scale's spec.replicas is not a number");
        return -1;
    }
    double v = rep->valuedouble;
    if (!(v >= 0 && v <= 2147483647.0) || v != floor(v)) {
        snprintf(err, errlen, "the Scale's spec.replicas (%.17g) is not an integer from 0 to 2147483647", v);
        return -1;
    }
    *replicas = (int32_t)v;
    return 0;
}

int kanswer_lease(const cJSON *lease, struct kanswer_lease *out, char *err, size_t errlen)
{
    out->holder = "";
    out->renew_time = "";
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
    if (spec && !cJSON_IsObject(spec) && !cJSON_IsNull(spec)) {
        snprintf(err, errlen, "the Lease's spec is not an object");
        return -1;
    }
    const cJSON *holder = cJSON_GetObjectItemCaseSensitive(spec, "holderIdentity");
    const cJSON *renew = cJSON_GetObjectItemCaseSensitive(spec, "renewTime");
    if ((holder && !cJSON_IsNull(holder) && !cJSON_IsString(holder)) ||
        (renew && !cJSON_IsNull(renew) && !cJSON_IsString(renew))) {
        snprintf(err, errlen, "the Lease's spec.holderIdentity or spec.renewTime is not a string");
        return -1;
    }
    if (cJSON_IsString(holder)) {
        if (strlen(holder->valuestring) >= 256) {
            snprintf(err, errlen, "the Lease's spec.holderIdentity is longer than 255 bytes");
            return -1;
        }
        out->holder = holder->valuestring;
    }
    if (cJSON_IsString(renew)) {
        if (strlen(renew->valuestring) >= 64) {
            snprintf(err, errlen, "the Lease's spec.renewTime is longer than 63 bytes");
            return -1;
        }
        out->renew_time = renew->valuestring;
    }
    return 0;
}

int kanswer_list_head_token(const char *head, size_t len, char *token, size_t cap)
{
    if (cap == 0 || len < 2 || len > ((size_t)64 << 10)) /* a head is a few hundred bytes */
        return 0;
    char *doc = malloc(len + 3);
    if (!doc)
        return 0;
    memcpy(doc, head, len);
    memcpy(doc + len, "]}", 3);
    cJSON *root = cJSON_ParseWithLength(doc, len + 2);
    free(doc);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(meta, "continue");
    int ok = cJSON_IsString(t) && t->valuestring[0] && strlen(t->valuestring) < cap;
    if (ok)
        snprintf(token, cap, "%s", t->valuestring);
    cJSON_Delete(root);
    return ok;
}
