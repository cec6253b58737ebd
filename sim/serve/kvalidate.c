/* kvalidate — see kvalidate.h. */
#define _DEFAULT_SOURCE
#include "kvalidate.h"

#include <stdio.h>
#include <string.h>

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static unsigned refuse(struct kvalid_verdict *v, unsigned code, const char *group, const char *kind, const char *name)
{
    v->code = code;
    v->reason = code == 400 ? "BadRequest" : "Invalid";
    v->group = group;
    v->kind = kind;
    snprintf(v->name, sizeof v->name, "%s", name ? name : "");
    return code;
}

/* metav1.MicroTime's wire form: RFC 3339 with exactly six fractional digits. */
static bool micro_time(const char *s)
{
    int n = 0;
    char frac[8] = "";
    if (sscanf(s, "%*4d-%*2d-%*2dT%*2d:%*2d:%*2d.%7[0-9]%n", frac, &n) != 1 || strlen(frac) != 6)
        return false;
    const char *zone = s + n;
    return strcmp(zone, "Z") == 0 || ((zone[0] == '+' || zone[0] == '-') && strlen(zone) == 6 && zone[3] == ':');
}

/* A ConfigMap key: [-._a-zA-Z0-9]+, at most 253 bytes, not "." or "..". */
static bool config_key(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 253 || strcmp(k, ".") == 0 || strcmp(k, "..") == 0)
        return false;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '.' || *p == '_'))
            return false;
    return true;
}

unsigned kvalidate_body(const struct kresource_def *d, const char *subresource, const char *url_name,
                        const cJSON *body, struct kvalid_verdict *v)
{
    memset(v, 0, sizeof *v);
    bool scale = subresource && strcmp(subresource, "scale") == 0;
    const char *want_kind = scale ? "Scale" : d->kind;
    const cJSON *kind = get(body, "kind"), *meta = get(body, "metadata");
    const cJSON *name = get(meta, "name");
    const char *obj_name = cJSON_IsString(name) ? name->valuestring : url_name;
    if (!cJSON_IsObject(body)) {
        snprintf(v->message, sizeof v->message, "the body of the request is not a %s object", want_kind);
        return refuse(v, 400, NULL, NULL, NULL);
    }
    if (cJSON_IsString(kind) && kind->valuestring[0] && strcmp(kind->valuestring, want_kind) != 0) {
        snprintf(v->message, sizeof v->message, "%s in version \"%s\" cannot be handled as a %s: the kind does not match the URL",
                 kind->valuestring, d->version, want_kind);
        return refuse(v, 400, NULL, NULL, NULL);
    }
    if (url_name && cJSON_IsString(name) && strcmp(name->valuestring, url_name) != 0) {
        snprintf(v->message, sizeof v->message, "the name of the object (%s) does not match the name on the URL (%s)",
                 name->valuestring, url_name);
        return refuse(v, 400, NULL, NULL, NULL);
    }
    if (scale) {
        const cJSON *r = get(get(body, "spec"), "replicas");
        if (cJSON_IsNumber(r) && r->valuedouble < 0) {
            snprintf(v->message, sizeof v->message,
                     "Scale.autoscaling \"%s\" is invalid: spec.replicas: Invalid value: %.0f: must be greater than or equal to 0",
                     obj_name ? obj_name : "", r->valuedouble);
            return refuse(v, 422, "autoscaling", "Scale", obj_name);
        }
        return 0;
    }
    if (strcmp(d->resource, "leases") == 0) {
        const cJSON *spec = get(body, "spec");
        static const char *const times[] = {"acquireTime", "renewTime"};
        for (int i = 0; i < 2; i++) {
            const cJSON *t = get(spec, times[i]);
            if (t && !cJSON_IsNull(t) && !(cJSON_IsString(t) && micro_time(t->valuestring))) {
                snprintf(v->message, sizeof v->message,
                         "Lease in version \"v1\" cannot be handled as a Lease: spec.%s: a MicroTime is RFC 3339 with six "
                         "fractional digits (2006-01-02T15:04:05.000000Z07:00)", times[i]);
                return refuse(v, 400, NULL, NULL, NULL);
            }
        }
        const cJSON *dur = get(spec, "leaseDurationSeconds");
        if (cJSON_IsNumber(dur) && dur->valuedouble <= 0) {
            snprintf(v->message, sizeof v->message,
                     "Lease.coordination.k8s.io \"%s\" is invalid: spec.leaseDurationSeconds: Invalid value: %.0f: must be greater than 0",
                     obj_name ? obj_name : "", dur->valuedouble);
            return refuse(v, 422, "coordination.k8s.io", "Lease", obj_name);
        }
    } else if (strcmp(d->resource, "events") == 0) {
        const cJSON *ns = get(get(body, "involvedObject"), "namespace"), *own = get(meta, "namespace");
        if (cJSON_IsString(ns) && ns->valuestring[0] && cJSON_IsString(own) && own->valuestring[0] &&
            strcmp(ns->valuestring, own->valuestring) != 0) {
            snprintf(v->message, sizeof v->message,
                     "Event \"%s\" is invalid: involvedObject.namespace: Invalid value: \"%s\": does not match event.namespace",
                     obj_name ? obj_name : "", ns->valuestring);
            return refuse(v, 422, "", "Event", obj_name);
        }
    } else if (strcmp(d->resource, "configmaps") == 0) {
        static const char *const maps[] = {"data", "binaryData"};
        for (int i = 0; i < 2; i++) {
            const cJSON *e;
            cJSON_ArrayForEach(e, get(body, maps[i]))
            {
                if (e->string && !config_key(e->string)) {
                    snprintf(v->message, sizeof v->message,
                             "ConfigMap \"%s\" is invalid: %s[%s]: Invalid value: \"%s\": a valid config key must consist of "
                             "alphanumeric characters, '-', '_' or '.'", obj_name ? obj_name : "", maps[i], e->string, e->string);
                    return refuse(v, 422, "", "ConfigMap", obj_name);
                }
            }
        }
    }
    return 0;
}
