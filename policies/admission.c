#include "admission.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

const char *admission_subject_name(enum admission_subject s)
{
    switch (s) {
    case ADMISSION_NODE: return "Node";
    case ADMISSION_NODECLAIM: return "NodeClaim";
    case ADMISSION_MACHINE: return "Machine";
    case ADMISSION_OTHER: break;
    }
    return "object";
}

/* The string at o[key], or NULL when absent, null or not a string. */
static const char *str_at(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Copy an optional string field; -1 (err set) when present but not a string or too long. */
static int copy_field(const cJSON *o, const char *key, const char *path, char *out, size_t outlen, char *err,
                      size_t errlen)
{
    out[0] = '\0';
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v)) {
        snprintf(err, errlen, "%s: expected a string", path);
        return -1;
    }
    size_t n = strlen(v->valuestring);
    if (n >= outlen) {
        snprintf(err, errlen, "%s: %zu bytes, longer than %zu", path, n, outlen - 1);
        return -1;
    }
    memcpy(out, v->valuestring, n + 1);
    return 0;
}

static const char *const removal_taints[] = {"ToBeDeletedByClusterAutoscaler", "karpenter.sh/disrupted",
                                             "karpenter.sh/disruption"};

/* The removal mark an object's spec.taints carry, or NULL. */
static const char *removal_mark(const cJSON *obj)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    const cJSON *taints = cJSON_GetObjectItemCaseSensitive(spec, "taints");
    if (!cJSON_IsArray(taints))
        return NULL;
    const cJSON *t;
    cJSON_ArrayForEach(t, taints)
    {
        const char *key = str_at(t, "key");
        for (size_t i = 0; key && i < sizeof removal_taints / sizeof *removal_taints; i++)
            if (strcmp(key, removal_taints[i]) == 0)
                return removal_taints[i];
    }
    return NULL;
}

static bool has_allow_annotation(const cJSON *obj)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *v = str_at(cJSON_GetObjectItemCaseSensitive(md, "annotations"), "propscaler.io/allow-removal");
    return v && v[0];
}

static const char *uid_of(const cJSON *obj)
{
    return str_at(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "uid");
}

static void copy_name(char *out, size_t outlen, const char *name)
{
    snprintf(out, outlen, "%s", name && strlen(name) < outlen ? name : "");
}

int admission_request_parse(const char *body, size_t len, struct admission_request *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (len > ADMISSION_MAX_BODY) {
        snprintf(err, errlen, "body of %zu bytes, more than %u", len, ADMISSION_MAX_BODY);
        return -1;
    }
    cJSON *doc = cJSON_ParseWithLength(body, len);
    if (!doc) {
        snprintf(err, errlen, "not JSON: expected an AdmissionReview (admission.k8s.io/v1)");
        return -1;
    }
    int rc = -1;
    const char *api = str_at(doc, "apiVersion"), *kind = str_at(doc, "kind");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(doc, "request");
    if (!kind || strcmp(kind, "AdmissionReview") != 0) {
        snprintf(err, errlen, "kind: expected AdmissionReview, got %s%.64s%s", kind ? "\"" : "", kind ? kind : "none",
                 kind ? "\"" : "");
        goto done;
    }
    if (!api || strcmp(api, "admission.k8s.io/v1") != 0) {
        snprintf(err, errlen, "apiVersion: expected admission.k8s.io/v1 (set admissionReviewVersions: [v1]), got "
                 "%s%.64s%s", api ? "\"" : "", api ? api : "none", api ? "\"" : "");
        goto done;
    }
    if (!cJSON_IsObject(req)) {
        snprintf(err, errlen, "request: missing or not an object");
        goto done;
    }
    if (copy_field(req, "uid", "request.uid", r->uid, sizeof r->uid, err, errlen) != 0)
        goto done;
    if (!r->uid[0]) {
        snprintf(err, errlen, "request.uid: missing");
        goto done;
    }
    if (copy_field(req, "operation", "request.operation", r->operation, sizeof r->operation, err, errlen) != 0 ||
        copy_field(req, "name", "request.name", r->name, sizeof r->name, err, errlen) != 0 ||
        copy_field(req, "subResource", "request.subResource", r->sub_resource, sizeof r->sub_resource, err, errlen) != 0 ||
        copy_field(cJSON_GetObjectItemCaseSensitive(req, "userInfo"), "username", "request.userInfo.username",
                   r->username, sizeof r->username, err, errlen) != 0)
        goto done;
    if (!r->operation[0]) {
        snprintf(err, errlen, "request.operation: missing");
        goto done;
    }
    const cJSON *dry = cJSON_GetObjectItemCaseSensitive(req, "dryRun");
    if (dry && !cJSON_IsBool(dry) && !cJSON_IsNull(dry)) {
        snprintf(err, errlen, "request.dryRun: expected true or false");
        goto done;
    }
    r->dry_run = cJSON_IsTrue(dry);
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(req, "resource");
    const char *group = str_at(res, "group"), *resource = str_at(res, "resource");
    if (!resource) {
        snprintf(err, errlen, "request.resource.resource: missing");
        goto done;
    }
    group = group ? group : "";
    if (!group[0] && strcmp(resource, "nodes") == 0)
        r->subject = ADMISSION_NODE;
    else if (strcmp(group, "karpenter.sh") == 0 && strcmp(resource, "nodeclaims") == 0)
        r->subject = ADMISSION_NODECLAIM;
    else if (strcmp(group, "cluster.x-k8s.io") == 0 && strcmp(resource, "machines") == 0)
        r->subject = ADMISSION_MACHINE;
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(req, "object");
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(req, "oldObject");
    bool del = strcmp(r->operation, "DELETE") == 0, upd = strcmp(r->operation, "UPDATE") == 0;
    if (r->subject == ADMISSION_OTHER || r->sub_resource[0]) {
        /* not ours to judge: admitted */
    } else if (del) {
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(old, "status");
        if (r->subject == ADMISSION_NODE)
            copy_name(r->node, sizeof r->node, r->name);
        else if (r->subject == ADMISSION_NODECLAIM)
            copy_name(r->node, sizeof r->node, str_at(status, "nodeName"));
        else
            copy_name(r->node, sizeof r->node, str_at(cJSON_GetObjectItemCaseSensitive(status, "nodeRef"), "name"));
        r->removal = r->node[0] != '\0';
        r->node_override = has_allow_annotation(old);
        if (r->subject == ADMISSION_NODE)
            copy_name(r->node_uid, sizeof r->node_uid, uid_of(old));
        if (!r->node[0] && r->subject == ADMISSION_NODE) {
            snprintf(err, errlen, "request.name: missing for a DELETE of a Node");
            goto done;
        }
    } else if (upd && r->subject == ADMISSION_NODE) {
        if (!cJSON_IsObject(obj)) {
            snprintf(err, errlen, "request.object: missing for an UPDATE of a Node");
            goto done;
        }
        /* the new object's mark decides, whatever the old one says: a mark already there (a
         * later update of a marked node) is judged again and counted once; and the kube-apiserver
         * 1.20.2 built by tests/kube sends the new object as oldObject in UPDATE reviews, which
         * an old-versus-new test would take for "no change" */
        const char *mark = removal_mark(obj);
        if (mark) {
            r->removal = true;
            snprintf(r->mark, sizeof r->mark, "%s", mark);
            const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
            copy_name(r->node, sizeof r->node, r->name[0] ? r->name : str_at(md, "name"));
            r->node_override = has_allow_annotation(obj);
            copy_name(r->node_uid, sizeof r->node_uid, uid_of(obj));
            if (!r->node[0]) {
                snprintf(err, errlen, "request.name: missing for an UPDATE of a Node");
                goto done;
            }
        }
    }
    rc = 0;
done:
    cJSON_Delete(doc);
    return rc;
}

char *admission_response(const char *uid, bool allowed, const char *message, const char *warning)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *resp = cJSON_AddObjectToObject(doc, "response");
    cJSON_AddStringToObject(doc, "apiVersion", "admission.k8s.io/v1");
    cJSON_AddStringToObject(doc, "kind", "AdmissionReview");
    cJSON_AddStringToObject(resp, "uid", uid ? uid : "");
    cJSON_AddBoolToObject(resp, "allowed", allowed);
    if (!allowed) {
        cJSON *st = cJSON_AddObjectToObject(resp, "status");
        cJSON_AddNumberToObject(st, "code", 403);
        cJSON_AddStringToObject(st, "reason", "Forbidden");
        cJSON_AddStringToObject(st, "message", message ? message : "");
    }
    if (warning) {
        cJSON *w = cJSON_AddArrayToObject(resp, "warnings");
        cJSON_AddItemToArray(w, cJSON_CreateString(warning));
    }
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return text;
}
