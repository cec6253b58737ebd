#include <ctype.h>
#define _DEFAULT_SOURCE
#include "kfilter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kobj_label(const void *ctx, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive((const cJSON *)ctx, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

void kfilter_release(struct kfilter *f)
{
    selector_free(f->labels);
    for (int i = 0; i < f->n_terms; i++)
        free(f->terms[i].value);
    f->labels = NULL;
    f->n_terms = 0;
}

int kfilter_add_namespace(struct kfilter *f, const char *ns)
{
    if (f->n_terms == KFILTER_MAX_TERMS)
        return -1;
    char *v = strdup(ns);
    if (!v)
        return -1;
    f->terms[f->n_terms++] = (struct kfilter_term){.path = "metadata.namespace", .value = v};
    return 0;
}

/* The fields kube-apiserver 1.20 selects on, per resource (metadata.name and metadata.namespace
 * for all). "source" is source.component. events.k8s.io/v1 Events select on their own field
 * names (regarding.*, reportingController), read from the view's shape. */
static const struct {
    const char *group, *resource, *field, *path;
} fields[] = {
    {"", "events", "involvedObject.kind", "involvedObject.kind"},
    {"", "events", "involvedObject.namespace", "involvedObject.namespace"},
    {"", "events", "involvedObject.name", "involvedObject.name"},
    {"", "events", "involvedObject.uid", "involvedObject.uid"},
    {"", "events", "involvedObject.apiVersion", "involvedObject.apiVersion"},
    {"", "events", "involvedObject.resourceVersion", "involvedObject.resourceVersion"},
    {"", "events", "involvedObject.fieldPath", "involvedObject.fieldPath"},
    {"", "events", "reason", "reason"},
    {"", "events", "reportingComponent", "reportingComponent"},
    {"", "events", "source", "source.component"},
    {"", "events", "type", "type"},
    {"", "pods", "spec.nodeName", "spec.nodeName"},
    {"", "pods", "spec.restartPolicy", "spec.restartPolicy"},
    {"", "pods", "spec.schedulerName", "spec.schedulerName"},
    {"", "pods", "spec.serviceAccountName", "spec.serviceAccountName"},
    {"", "pods", "status.phase", "status.phase"},
    {"", "pods", "status.podIP", "status.podIP"},
    {"", "pods", "status.nominatedNodeName", "status.nominatedNodeName"},
    {"", "nodes", "spec.unschedulable", "spec.unschedulable"},
    {"events.k8s.io", "events", "regarding.kind", "regarding.kind"},
    {"events.k8s.io", "events", "regarding.namespace", "regarding.namespace"},
    {"events.k8s.io", "events", "regarding.name", "regarding.name"},
    {"events.k8s.io", "events", "regarding.uid", "regarding.uid"},
    {"events.k8s.io", "events", "regarding.apiVersion", "regarding.apiVersion"},
    {"events.k8s.io", "events", "regarding.resourceVersion", "regarding.resourceVersion"},
    {"events.k8s.io", "events", "regarding.fieldPath", "regarding.fieldPath"},
    {"events.k8s.io", "events", "reason", "reason"},
    {"events.k8s.io", "events", "reportingController", "reportingController"},
    {"events.k8s.io", "events", "type", "type"},
};

static const char *field_path(const char *group, const char *resource, const char *field)
{
    if (strcmp(field, "metadata.name") == 0 || strcmp(field, "metadata.namespace") == 0)
        return strcmp(field, "metadata.name") == 0 ? "metadata.name" : "metadata.namespace";
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (resource && strcmp(fields[i].group, group ? group : "") == 0 && strcmp(fields[i].resource, resource) == 0 &&
            strcmp(fields[i].field, field) == 0)
            return fields[i].path;
    return NULL;
}

int kfilter_init(struct kfilter *f, const struct api_request *r, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    if (r->label_selector && selector_parse(r->label_selector, &f->labels, err, errlen) != 0)
        return -1;
    if (!r->field_selector || !r->field_selector[0])
        return 0;
    char *copy = strdup(r->field_selector), *save = NULL;
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = -1;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *op = strpbrk(tok, "!=");
        size_t skip;
        bool negate = false;
        if (op && op[0] == '!' && op[1] == '=') {
            negate = true;
            skip = 2;
        } else if (op && op[0] == '=') {
            skip = op[1] == '=' ? 2 : 1;
        } else {
            snprintf(err, errlen, "invalid selector: '%s'; can't understand '%s'", r->field_selector, tok);
            goto done;
        }
        *op = '\0';
        const char *path = field_path(r->group, r->resource, tok);
        if (!path) {
            snprintf(err, errlen, "field label not supported: %s", tok);
            goto done;
        }
        if (f->n_terms == KFILTER_MAX_TERMS) {
            snprintf(err, errlen, "invalid selector: more than %d terms", KFILTER_MAX_TERMS);
            goto done;
        }
        struct kfilter_term *t = &f->terms[f->n_terms];
        t->value = strdup(op + skip);
        if (!t->value) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        t->path = path;
        t->negate = negate;
        f->n_terms++;
        if (strncmp(path, "metadata.", 9) != 0)
            f->needs_object = true;
    }
    rc = 0;
done:
    free(copy);
    return rc;
}

/* The field's value as the API server formats it: strings as they are, booleans as Go prints
 * them, absent as "" (spec.unschedulable: "false"). Writes into buf when it must format. */
static const char *field_value(const cJSON *obj, const char *path, char *buf, size_t buflen)
{
    const cJSON *v = obj;
    char part[64];
    for (const char *p = path; v && *p;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof part)
            return "";
        memcpy(part, p, n);
        part[n] = '\0';
        v = cJSON_GetObjectItemCaseSensitive(v, part);
        p += n + (dot ? 1 : 0);
    }
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsBool(v) || strcmp(path, "spec.unschedulable") == 0)
        return cJSON_IsTrue(v) ? "true" : "false";
    if (cJSON_IsNumber(v)) {
        snprintf(buf, buflen, "%.17g", v->valuedouble);
        return buf;
    }
    return "";
}

bool kfilter_is_empty(const struct kfilter *f)
{
    return f->n_terms == 0 && (!f->labels || selector_is_empty(f->labels));
}

bool kfilter_match(const struct kfilter *f, const struct kobj *o)
{
    if (!o)
        return false;
    cJSON *obj = f->needs_object ? cJSON_ParseWithLength(o->text, o->len) : NULL;
    bool ok = true;
    for (int i = 0; ok && i < f->n_terms; i++) {
        const struct kfilter_term *t = &f->terms[i];
        char buf[64];
        const char *have = strcmp(t->path, "metadata.name") == 0        ? o->name
                           : strcmp(t->path, "metadata.namespace") == 0 ? o->ns
                                                                         : field_value(obj, t->path, buf, sizeof buf);
        ok = (strcmp(have, t->value) == 0) != t->negate;
    }
    cJSON_Delete(obj);
    return ok && selector_matches(f->labels, kobj_label, o->labels);
}

static bool unhex(const char *p, size_t n, char *out, size_t outlen)
{
    if (n % 2 || n / 2 >= outlen)
        return false;
    for (size_t i = 0; i < n; i += 2) {
        unsigned v;
        if (!isxdigit((unsigned char)p[i]) || !isxdigit((unsigned char)p[i + 1]) || sscanf(p + i, "%2x", &v) != 1 || v == 0)
            return false;
        out[i / 2] = (char)v;
    }
    out[n / 2] = '\0';
    return true;
}

/* "HEXNS.HEXNAME" at the end of a token */
static bool parse_key(const char *p, struct kcontinue *out)
{
    const char *dot = strchr(p, '.');
    return dot && unhex(p, (size_t)(dot - p), out->ns, sizeof out->ns) &&
           unhex(dot + 1, strlen(dot + 1), out->name, sizeof out->name) && out->name[0];
}

int kfilter_parse_continue(const char *token, struct kcontinue *out)
{
    memset(out, 0, sizeof *out);
    if (strncmp(token, "propsim-inc-", 12) == 0) {
        out->inconsistent = true;
        return parse_key(token + 12, out) ? 0 : -1;
    }
    int used = 0;
    if (sscanf(token, "propsim-%lu-%lu-%llu-%n", &out->snapshot, &out->offset, &out->rv, &used) != 3 || used == 0)
        return -1;
    return parse_key(token + used, out) ? 0 : -1;
}

static char *put_hex(char *p, const char *s)
{
    for (; *s; s++)
        p += sprintf(p, "%02x", (unsigned char)*s);
    return p;
}

void kfilter_format_continue(const struct kcontinue *k, char *out)
{
    char *p = out;
    if (k->inconsistent)
        p += sprintf(p, "propsim-inc-");
    else
        p += sprintf(p, "propsim-%lu-%lu-%llu-", k->snapshot, k->offset, k->rv);
    p = put_hex(p, k->ns);
    *p++ = '.';
    p = put_hex(p, k->name);
    *p = '\0';
}
