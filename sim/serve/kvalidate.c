/* kvalidate — see kvalidate.h. */
#define _DEFAULT_SOURCE
#include "kvalidate.h"

#include "kevents.h"
#include "vertical.h"

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

/* A MicroTime field of `o`, when present, must have its wire form (the real server's decoder
 * refuses the body otherwise). */
static bool bad_micro_time(const cJSON *o, const char *field)
{
    const cJSON *t = get(o, field);
    return t && !cJSON_IsNull(t) && !(cJSON_IsString(t) && micro_time(t->valuestring));
}

static const char *name_of(const cJSON *body, const char *url_name)
{
    const cJSON *name = get(get(body, "metadata"), "name");
    return cJSON_IsString(name) ? name->valuestring : url_name;
}

unsigned kvalidate_decode(const struct kresource_def *d, const char *subresource, const char *url_name,
                          const cJSON *body, struct kvalid_verdict *v)
{
    memset(v, 0, sizeof *v);
    bool scale = subresource && strcmp(subresource, "scale") == 0;
    const char *want_kind = scale ? "Scale" : d->kind;
    char want_av[64];
    snprintf(want_av, sizeof want_av, "%s%s%s", scale ? "autoscaling" : d->group, scale || d->group[0] ? "/" : "",
             scale ? "v1" : d->version);
    const cJSON *kind = get(body, "kind"), *av = get(body, "apiVersion"), *meta = get(body, "metadata");
    const cJSON *name = get(meta, "name");
    if (!cJSON_IsObject(body)) {
        snprintf(v->message, sizeof v->message, "the body of the request is not a %s object", want_kind);
        return refuse(v, 400, NULL, NULL, NULL);
    }
    if (cJSON_IsString(kind) && kind->valuestring[0] && strcmp(kind->valuestring, want_kind) != 0) {
        snprintf(v->message, sizeof v->message, "%s in version \"%s\" cannot be handled as a %s: the kind does not match the URL",
                 kind->valuestring, d->version, want_kind);
        return refuse(v, 400, NULL, NULL, NULL);
    }
    if (cJSON_IsString(av) && av->valuestring[0] && strcmp(av->valuestring, want_av) != 0) {
        snprintf(v->message, sizeof v->message, "the API version in the data (%.100s) does not match the expected API version (%s)",
                 av->valuestring, want_av);
        return refuse(v, 400, NULL, NULL, NULL);
    }
    if (url_name && cJSON_IsString(name) && strcmp(name->valuestring, url_name) != 0) {
        snprintf(v->message, sizeof v->message, "the name of the object (%s) does not match the name on the URL (%s)",
                 name->valuestring, url_name);
        return refuse(v, 400, NULL, NULL, NULL);
    }
    if (scale)
        return 0;
    static const struct {
        const char *resource, *holder, *field, *path; /* holder NULL: the body itself */
    } micro_times[] = {
        {"leases", "spec", "acquireTime", "spec.acquireTime"},
        {"leases", "spec", "renewTime", "spec.renewTime"},
        {"events", NULL, "eventTime", "eventTime"},
        {"events", "series", "lastObservedTime", "series.lastObservedTime"},
    };
    for (size_t i = 0; i < sizeof micro_times / sizeof *micro_times; i++) {
        if (strcmp(d->resource, micro_times[i].resource) != 0)
            continue;
        if (bad_micro_time(micro_times[i].holder ? get(body, micro_times[i].holder) : body, micro_times[i].field)) {
            snprintf(v->message, sizeof v->message,
                     "%s in version \"%s\" cannot be handled as a %s: %s: a MicroTime is RFC 3339 with six fractional digits "
                     "(2006-01-02T15:04:05.000000Z07:00)", d->kind, d->version, d->kind, micro_times[i].path);
            return refuse(v, 400, NULL, NULL, NULL);
        }
    }
    return 0;
}

/* A container's requests may not exceed its limits (ValidateResourceRequirements): the first
 * request over its limit, as the real server words it. 0, or the verdict's code. */
static unsigned requests_within_limits(const struct kresource_def *d, const cJSON *body, const char *obj_name,
                                       struct kvalid_verdict *v)
{
    bool pod = strcmp(d->resource, "pods") == 0;
    static const char *const workloads[] = {"deployments", "statefulsets", "replicasets", "replicationcontrollers",
                                            "daemonsets"};
    bool workload = false;
    for (size_t i = 0; i < sizeof workloads / sizeof *workloads; i++)
        workload = workload || strcmp(d->resource, workloads[i]) == 0;
    if (!pod && !workload)
        return 0;
    const cJSON *podspec = pod ? get(body, "spec") : get(get(get(body, "spec"), "template"), "spec");
    static const char *const lists[] = {"initContainers", "containers"};
    for (int l = 0; l < 2; l++) {
        int i = 0;
        const cJSON *ct;
        cJSON_ArrayForEach(ct, get(podspec, lists[l]))
        {
            struct vertical_values q;
            char err[200];
            if (vertical_values_from_json(get(ct, "resources"), &q, err, sizeof err) != 0) {
                i++;
                continue; /* (a malformed quantity fails decoding, before validation) */
            }
            for (int r = 0; r < VRES_COUNT; r++) {
                if (!q.have[VKIND_REQUESTS][r] || !q.have[VKIND_LIMITS][r] ||
                    q.milli[VKIND_REQUESTS][r] <= q.milli[VKIND_LIMITS][r])
                    continue;
                char text[32];
                vertical_format((enum vertical_resource)r, q.milli[VKIND_REQUESTS][r], text, sizeof text);
                snprintf(v->message, sizeof v->message,
                         "%s%s%s \"%s\" is invalid: %s%s[%d].resources.requests: Invalid value: \"%s\": must be less than or "
                         "equal to %s limit", d->kind, d->group[0] ? "." : "", d->group, obj_name ? obj_name : "",
                         pod ? "spec." : "spec.template.spec.", lists[l], i, text, vertical_resource_name((enum vertical_resource)r));
                return refuse(v, 422, d->group, d->kind, obj_name);
            }
            i++;
        }
    }
    return 0;
}

unsigned kvalidate_object(const struct kresource_def *d, const char *subresource, const char *url_name, const char *ns,
                          const cJSON *body, bool create, struct kvalid_verdict *v)
{
    memset(v, 0, sizeof *v);
    bool scale = subresource && strcmp(subresource, "scale") == 0;
    const char *obj_name = name_of(body, url_name);
    const cJSON *own_ns = get(get(body, "metadata"), "namespace");
    if (d->namespaced && !scale && ns && cJSON_IsString(own_ns) && strcmp(own_ns->valuestring, ns) != 0) {
        snprintf(v->message, sizeof v->message, "the namespace of the provided object does not match the namespace sent on the request");
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
        const cJSON *dur = get(get(body, "spec"), "leaseDurationSeconds");
        if (cJSON_IsNumber(dur) && dur->valuedouble <= 0) {
            snprintf(v->message, sizeof v->message,
                     "Lease.coordination.k8s.io \"%s\" is invalid: spec.leaseDurationSeconds: Invalid value: %.0f: must be greater than 0",
                     obj_name ? obj_name : "", dur->valuedouble);
            return refuse(v, 422, "coordination.k8s.io", "Lease", obj_name);
        }
    } else if (strcmp(d->resource, "events") == 0) {
        /* validated in its core form, the way the real server validates both groups' Events */
        bool view = d->to_stored != NULL;
        cJSON *core = view ? d->to_stored(body) : NULL;
        int errors = kevents_validate(view ? core : body, ns, obj_name, view && create, v->message, sizeof v->message);
        cJSON_Delete(core);
        if (errors)
            return refuse(v, 422, "", "Event", obj_name);
    } else if (requests_within_limits(d, body, obj_name, v)) {
        return v->code;
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
