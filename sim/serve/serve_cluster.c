/* Cluster contents for `propsim serve`: realistic generated nodes, trace playback, manifests. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "fileio.h"
#include "serve.h"
#include "yamljson.h"

/* The images a GKE node reports (status.images): most of a real Node's bytes. */
static void add_images(cJSON *status, long i)
{
    static const char *images[][2] = {
        {"gke.gcr.io/gke-metrics-agent", "1.12.4-gke.0"}, {"gke.gcr.io/fluent-bit", "v1.8.12-gke.29"},
        {"gke.gcr.io/kube-proxy-amd64", "v1.32.0-gke.1200"}, {"gke.gcr.io/csi-node-driver-registrar", "v2.9.4-gke.31"},
        {"gke.gcr.io/gcp-compute-persistent-disk-csi-driver", "v1.15.1-gke.0"}, {"gke.gcr.io/netd", "v0.6.2-gke.6"},
        {"gke.gcr.io/ip-masq-agent", "v2.9.3-gke.12"}, {"gke.gcr.io/prometheus-to-sd", "v0.11.12-gke.11"},
        {"gke.gcr.io/gke-metadata-server", "20241105_2300_RC0"}, {"gke.gcr.io/cluster-proportional-autoscaler", "v1.8.11-gke.8"},
        {"gke.gcr.io/coredns", "v1.11.3-gke.0"}, {"gke.gcr.io/pause", "3.10@sha256"},
    };
    cJSON *arr = cJSON_AddArrayToObject(status, "images");
    for (size_t k = 0; k < sizeof images / sizeof *images; k++) {
        char digest[200], tagged[160];
        unsigned long h = (unsigned long)(k * 2654435761u + 97);
        snprintf(digest, sizeof digest, "%s@sha256:%016lx%016lx%016lx%016lx", images[k][0], h, h * 31, h * 131, h * 1031);
        snprintf(tagged, sizeof tagged, "%s:%s", images[k][0], images[k][1]);
        cJSON *img = cJSON_CreateObject();
        cJSON *names = cJSON_AddArrayToObject(img, "names");
        cJSON_AddItemToArray(names, cJSON_CreateString(digest));
        cJSON_AddItemToArray(names, cJSON_CreateString(tagged));
        cJSON_AddNumberToObject(img, "sizeBytes", (double)(20000000 + (long)k * 7340033 + i % 7));
        cJSON_AddItemToArray(arr, img);
    }
}

/* A Node shaped and sized like a real one (~5.8 KB as JSON, as a GKE node: labels, annotations
 * holding escaped JSON, 5 conditions, 3 addresses, images; 4 vCPU with 3920m allocatable). */
static cJSON *make_node(long i)
{
    static const char *zones[] = {"us-central1-a", "us-central1-b", "us-central1-c"};
    char name[96], tmp[256];
    snprintf(name, sizeof name, "node-pool-%04ld-%05lx", i / 1000, (unsigned long)(i * 2654435761u) & 0xfffff);
    cJSON *n = cJSON_CreateObject();
    cJSON_AddStringToObject(n, "kind", "Node");
    cJSON_AddStringToObject(n, "apiVersion", "v1");
    cJSON *meta = cJSON_AddObjectToObject(n, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON *labels = cJSON_AddObjectToObject(meta, "labels");
    cJSON_AddStringToObject(labels, "beta.kubernetes.io/arch", "amd64");
    cJSON_AddStringToObject(labels, "beta.kubernetes.io/instance-type", "e2-standard-4");
    cJSON_AddStringToObject(labels, "beta.kubernetes.io/os", "linux");
    cJSON_AddStringToObject(labels, "kubernetes.io/arch", "amd64");
    cJSON_AddStringToObject(labels, "kubernetes.io/hostname", name);
    cJSON_AddStringToObject(labels, "kubernetes.io/os", "linux");
    cJSON_AddStringToObject(labels, "node.kubernetes.io/instance-type", "e2-standard-4");
    cJSON_AddStringToObject(labels, "topology.kubernetes.io/region", "us-central1");
    cJSON_AddStringToObject(labels, "topology.kubernetes.io/zone", zones[i % 3]);
    snprintf(tmp, sizeof tmp, "pool-%ld", i / 1000);
    cJSON_AddStringToObject(labels, "cloud.google.com/gke-nodepool", tmp);
    static const char *gke[][2] = {{"cloud.google.com/gke-boot-disk", "pd-balanced"},
                                   {"cloud.google.com/gke-container-runtime", "containerd"},
                                   {"cloud.google.com/gke-cpu-scaling-level", "4"},
                                   {"cloud.google.com/gke-logging-variant", "DEFAULT"},
                                   {"cloud.google.com/gke-max-pods-per-node", "110"},
                                   {"cloud.google.com/gke-os-distribution", "cos"},
                                   {"cloud.google.com/machine-family", "e2"},
                                   {"cloud.google.com/private-node", "false"},
                                   {"failure-domain.beta.kubernetes.io/region", "us-central1"}};
    for (size_t k = 0; k < sizeof gke / sizeof *gke; k++)
        cJSON_AddStringToObject(labels, gke[k][0], gke[k][1]);
    cJSON_AddStringToObject(labels, "failure-domain.beta.kubernetes.io/zone", zones[i % 3]);
    cJSON *ann = cJSON_AddObjectToObject(meta, "annotations");
    snprintf(tmp, sizeof tmp, "{\"pd.csi.storage.gke.io\":\"projects/propsim/zones/%s/instances/%s\"}", zones[i % 3], name);
    cJSON_AddStringToObject(ann, "csi.volume.kubernetes.io/nodeid", tmp);
    snprintf(tmp, sizeof tmp, "%lu", (unsigned long)(i * 2654435761u) * 7919u);
    cJSON_AddStringToObject(ann, "container.googleapis.com/instance_id", tmp);
    cJSON_AddStringToObject(ann, "node.alpha.kubernetes.io/ttl", "0");
    cJSON_AddStringToObject(ann, "node.gke.io/last-applied-node-labels",
                            "cloud.google.com/gke-boot-disk=pd-balanced,cloud.google.com/gke-container-runtime=containerd,"
                            "cloud.google.com/gke-cpu-scaling-level=4,cloud.google.com/gke-logging-variant=DEFAULT,"
                            "cloud.google.com/gke-max-pods-per-node=110,cloud.google.com/gke-os-distribution=cos");
    cJSON_AddStringToObject(ann, "volumes.kubernetes.io/controller-managed-attach-detach", "true");
    snprintf(tmp, sizeof tmp, "%08lx-%04lx-4%03lx-8000-%012lx", (unsigned long)(i * 2654435761u) & 0xffffffffu,
             (unsigned long)i & 0xffff, (unsigned long)i & 0xfff, (unsigned long)(i * 40503u));
    cJSON_AddStringToObject(meta, "uid", tmp);
    cJSON_AddStringToObject(meta, "creationTimestamp", "2026-11-24T07:00:00Z");
    cJSON *spec = cJSON_AddObjectToObject(n, "spec");
    snprintf(tmp, sizeof tmp, "10.%ld.%ld.0/24", (i >> 8) & 255, i & 255);
    cJSON_AddStringToObject(spec, "podCIDR", tmp);
    snprintf(tmp, sizeof tmp, "gce://propsim/us-central1-a/%s", name);
    cJSON_AddStringToObject(spec, "providerID", tmp);
    cJSON *status = cJSON_AddObjectToObject(n, "status");
    cJSON *cap = cJSON_AddObjectToObject(status, "capacity");
    cJSON_AddStringToObject(cap, "cpu", "4");
    cJSON_AddStringToObject(cap, "ephemeral-storage", "98831908Ki");
    cJSON_AddStringToObject(cap, "memory", "16393244Ki");
    cJSON_AddStringToObject(cap, "pods", "110");
    cJSON *alloc = cJSON_AddObjectToObject(status, "allocatable");
    cJSON_AddStringToObject(alloc, "cpu", "3920m");
    cJSON_AddStringToObject(alloc, "ephemeral-storage", "47093746742");
    cJSON_AddStringToObject(alloc, "memory", "13201948Ki");
    cJSON_AddStringToObject(alloc, "pods", "110");
    cJSON *conds = cJSON_AddArrayToObject(status, "conditions");
    static const char *types[] = {"NetworkUnavailable", "MemoryPressure", "DiskPressure", "PIDPressure", "Ready"};
    static const char *reasons[] = {"RouteCreated", "KubeletHasSufficientMemory", "KubeletHasNoDiskPressure",
                                    "KubeletHasSufficientPID", "KubeletReady"};
    static const char *messages[] = {"NodeController create implicit route", "kubelet has sufficient memory available",
                                     "kubelet has no disk pressure", "kubelet has sufficient PID available",
                                     "kubelet is posting ready status. AppArmor enabled"};
    for (int k = 0; k < 5; k++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "type", types[k]);
        cJSON_AddStringToObject(c, "status", k == 4 ? "True" : "False");
        cJSON_AddStringToObject(c, "lastHeartbeatTime", "2026-11-24T08:00:00Z");
        cJSON_AddStringToObject(c, "lastTransitionTime", "2026-11-24T07:00:00Z");
        cJSON_AddStringToObject(c, "reason", reasons[k]);
        cJSON_AddStringToObject(c, "message", messages[k]);
        cJSON_AddItemToArray(conds, c);
    }
    cJSON *addrs = cJSON_AddArrayToObject(status, "addresses");
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "type", "InternalIP");
    snprintf(tmp, sizeof tmp, "10.128.%ld.%ld", (i >> 8) & 255, i & 255);
    cJSON_AddStringToObject(a, "address", tmp);
    cJSON_AddItemToArray(addrs, a);
    a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "type", "ExternalIP");
    snprintf(tmp, sizeof tmp, "34.%ld.%ld.%ld", 64 + (i >> 16) % 64, (i >> 8) & 255, i & 255);
    cJSON_AddStringToObject(a, "address", tmp);
    cJSON_AddItemToArray(addrs, a);
    a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "type", "Hostname");
    cJSON_AddStringToObject(a, "address", name);
    cJSON_AddItemToArray(addrs, a);
    cJSON *info = cJSON_AddObjectToObject(status, "nodeInfo");
    /* every field a kubelet reports: typed clients (the Python client's models) refuse a Node
     * whose nodeInfo lacks one */
    cJSON_AddStringToObject(info, "architecture", "amd64");
    snprintf(tmp, sizeof tmp, "%08lx-4000-4000-8000-%012lx", (unsigned long)(i * 2654435761u) & 0xffffffffu, (unsigned long)i);
    cJSON_AddStringToObject(info, "bootID", tmp);
    snprintf(tmp, sizeof tmp, "%032lx", (unsigned long)(i * 40503u + 1));
    cJSON_AddStringToObject(info, "machineID", tmp);
    snprintf(tmp, sizeof tmp, "%08lx-0000-4000-8000-%012lx", (unsigned long)i, (unsigned long)(i * 2654435761u));
    cJSON_AddStringToObject(info, "systemUUID", tmp);
    cJSON_AddStringToObject(info, "containerRuntimeVersion", "containerd://1.7.24");
    cJSON_AddStringToObject(info, "kernelVersion", "6.6.56+");
    cJSON_AddStringToObject(info, "kubeProxyVersion", "v1.32.0");
    cJSON_AddStringToObject(info, "kubeletVersion", "v1.32.0");
    cJSON_AddStringToObject(info, "operatingSystem", "linux");
    cJSON_AddStringToObject(info, "osImage", "Container-Optimized OS from Google");
    cJSON *de = cJSON_AddObjectToObject(status, "daemonEndpoints");
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(de, "kubeletEndpoint"), "Port", 10250);
    add_images(status, i);
    return n;
}

int serve_generate_nodes(struct serve_ctx *ctx, long n, char *err, size_t errlen)
{
    struct kresource *r = kstore_find(ctx->store, "", "nodes");
    for (long i = 0; i < n; i++) {
        cJSON *node = make_node(i);
        if (!node || kstore_create(ctx->store, r, NULL, node, NULL, err, errlen) != KS_OK)
            return -1;
    }
    return 0;
}

static struct kresource *resource_for(struct serve_ctx *ctx, const cJSON *obj, char *err, size_t errlen)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(obj, "apiVersion");
    if (!cJSON_IsString(kind)) {
        snprintf(err, errlen, "object has no kind");
        return NULL;
    }
    for (size_t i = 0; i < kstore_resource_count(); i++) {
        const struct kresource_def *d = kstore_resource_def(i);
        if (strcmp(d->kind, kind->valuestring) != 0)
            continue;
        if (cJSON_IsString(av)) {
            char want[64];
            snprintf(want, sizeof want, "%s%s%s", d->group, d->group[0] ? "/" : "", d->version);
            if (strcmp(want, av->valuestring) != 0)
                continue;
        }
        return kstore_find(ctx->store, d->group, d->resource);
    }
    snprintf(err, errlen, "kind %s (%s) is not served by propsim", kind->valuestring,
             cJSON_IsString(av) ? av->valuestring : "no apiVersion");
    return NULL;
}

static const char *object_namespace(const cJSON *obj)
{
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "namespace");
    return cJSON_IsString(ns) && ns->valuestring[0] ? ns->valuestring : "default";
}

static const char *object_name(const cJSON *obj)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "name");
    return cJSON_IsString(n) ? n->valuestring : "";
}

int serve_apply_event(struct serve_ctx *ctx, const char *type, const void *object_json, char *err, size_t errlen)
{
    const cJSON *obj = object_json;
    struct kresource *r = resource_for(ctx, obj, err, errlen);
    if (!r)
        return -1;
    const char *ns = object_namespace(obj);
    const struct kresource_def *d = kresource_def(r);
    if (strcmp(type, "DELETED") == 0) {
        enum kstore_status st = kstore_delete(ctx->store, r, ns, object_name(obj), NULL);
        if (st == KS_OK && strcmp(d->resource, "nodes") == 0)
            serve_evict_node(ctx, object_name(obj));
        if (st == KS_OK)
            serve_reconcile_pods(ctx, d, ns, object_name(obj));
        return st == KS_OK || st == KS_NOT_FOUND ? 0 : -1;
    }
    if (strcmp(type, "ADDED") != 0 && strcmp(type, "MODIFIED") != 0) {
        snprintf(err, errlen, "unknown event type \"%s\" (expected ADDED, MODIFIED or DELETED)", type);
        return -1;
    }
    cJSON *copy = cJSON_Duplicate(obj, 1);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* a recorded object carries its old resourceVersion/uid: the emulator assigns its own */
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(copy, "metadata");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "resourceVersion");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "uid");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "managedFields");
    if (d->has_scale)
        serve_settle_status(copy);
    enum kstore_status st = kstore_update(ctx->store, r, ns, object_name(obj), copy, true, NULL, err, errlen);
    if (st == KS_OK) {
        serve_reconcile_pods(ctx, d, ns, object_name(obj));
        if (strcmp(d->resource, "nodes") == 0) {
            serve_node_lifecycle_for(ctx, obj);
            serve_retry_pending(ctx);
        }
    }
    return st == KS_OK ? 0 : -1;
}

int serve_apply_file(struct serve_ctx *ctx, const char *path, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len;
    if (fileio_read_all(path, 64u << 20, &data, &len, err, errlen) != 0)
        return -1;
    char perr[512];
    cJSON *docs = yamljson_parse(data, len, perr, sizeof perr);
    free(data);
    if (!docs) {
        snprintf(err, errlen, "%s: %s", path, perr);
        return -1;
    }
    int rc = 0, index = 0;
    const cJSON *doc;
    cJSON_ArrayForEach(doc, docs)
    {
        index++;
        if (cJSON_IsNull(doc))
            continue;
        char kerr[256];
        if (!resource_for(ctx, doc, kerr, sizeof kerr)) {
            /* RBAC, ServiceAccounts...: real manifests carry them; the emulator does not serve them */
            fprintf(stderr, "propsim serve: %s (document %d): skipped: %s\n", path, index, kerr);
            continue;
        }
        if (serve_apply_event(ctx, "ADDED", doc, perr, sizeof perr) != 0) {
            snprintf(err, errlen, "%s (document %d): %s", path, index, perr);
            rc = -1;
            break;
        }
    }
    cJSON_Delete(docs);
    return rc;
}

static void sleep_seconds(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait for permission to apply the next event: not paused, or a step is available. *waited:
 * the seconds spent waiting (paused time, which does not count as trace time). */
static bool may_apply(struct serve_ctx *ctx, double *waited)
{
    double from = now_s();
    pthread_mutex_lock(&ctx->play_mu);
    while (!ctx->stopping && ctx->paused && ctx->step_budget <= 0)
        pthread_cond_wait(&ctx->play_cv, &ctx->play_mu);
    *waited = now_s() - from;
    if (ctx->paused && ctx->step_budget > 0)
        ctx->step_budget--;
    bool ok = !ctx->stopping;
    pthread_mutex_unlock(&ctx->play_mu);
    return ok;
}

void *serve_trace_thread(void *arg)
{
    struct serve_ctx *ctx = arg;
    gzFile f = gzopen(ctx->trace_path, "rb");
    if (!f) {
        fprintf(stderr, "propsim serve: cannot open trace %s\n", ctx->trace_path);
        ctx->trace_done = true;
        return NULL;
    }
    size_t cap = 1 << 16;
    char *line = malloc(cap);
    long lineno = 0, bad = 0;
    double start = now_s(), paused_at = 0, paused_total = 0;
    /* the events of one trace instant reach watches together (kstore_hold): a same-time group is
     * one burst on the wire, never spread by this thread's scheduling */
    bool holding = false;
    double held_t = 0;
    while (line && !ctx->stopping) {
        /* read one line, growing the buffer (capped at 16 MiB) */
        size_t len = 0;
        bool got = false, complete = false;
        for (;;) {
            if (!gzgets(f, line + len, (int)(cap - len)))
                break;
            got = true;
            len += strlen(line + len);
            if (len > 0 && line[len - 1] == '\n') {
                complete = true;
                break;
            }
            if (cap - len > 1)
                continue;
            if (cap >= (16u << 20)) {
                fprintf(stderr, "propsim serve: %s:%ld: line longer than 16 MiB, skipped\n", ctx->trace_path, lineno + 1);
                break;
            }
            char *bigger = realloc(line, cap * 2);
            if (!bigger)
                break;
            line = bigger;
            cap *= 2;
        }
        if (!got)
            break;
        lineno++;
        if (!complete && gzeof(f)) {
            /* a truncated last line (recording crashed): report, ignore */
            cJSON *probe = cJSON_ParseWithLength(line, len);
            if (!probe) {
                fprintf(stderr, "propsim serve: %s:%ld: truncated last line ignored\n", ctx->trace_path, lineno);
                break;
            }
            cJSON_Delete(probe);
        }
        const char *end = NULL;
        cJSON *ev = cJSON_ParseWithLengthOpts(line, len, &end, 0);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(ev, "t");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
        const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
        if (cJSON_IsString(type) && strcmp(type->valuestring, "END") == 0) {
            cJSON_Delete(ev); /* the recording's end: nothing after it is played */
            break;
        }
        if (!ev || !cJSON_IsNumber(t) || !(t->valuedouble >= 0) || !isfinite(t->valuedouble) || !cJSON_IsString(type) ||
            !cJSON_IsObject(obj)) {
            if (len > 1 || (len == 1 && line[0] != '\n')) {
                bad++;
                fprintf(stderr, "propsim serve: %s:%ld: not a trace event (want {\"t\":..,\"type\":..,\"object\":{..}}), skipped\n",
                        ctx->trace_path, lineno);
            }
            cJSON_Delete(ev);
            continue;
        }
        pthread_mutex_lock(&ctx->play_mu);
        bool will_pause = ctx->paused;
        pthread_mutex_unlock(&ctx->play_mu);
        if (holding && (t->valuedouble != held_t || will_pause)) { /* the instant is over, or a step waits */
            kstore_release(ctx->store);
            holding = false;
        }
        double waited = 0;
        if (!may_apply(ctx, &waited)) {
            cJSON_Delete(ev);
            break;
        }
        if (paused_at <= 0)
            paused_total += waited; /* held before this event (--paused, /propsim/pause): not trace time */
        pthread_mutex_lock(&ctx->play_mu);
        bool paused = ctx->paused;
        pthread_mutex_unlock(&ctx->play_mu);
        if (paused) {
            if (paused_at <= 0)
                paused_at = now_s();
        } else {
            if (paused_at > 0) {
                paused_total += now_s() - paused_at;
                paused_at = 0;
            }
            if (ctx->speed > 0)
                sleep_seconds(t->valuedouble / ctx->speed - (now_s() - start - paused_total));
        }
        if (!holding && !paused) {
            kstore_hold(ctx->store);
            holding = true;
            held_t = t->valuedouble;
        }
        char err[512];
        if (serve_apply_event(ctx, type->valuestring, obj, err, sizeof err) != 0) {
            bad++;
            fprintf(stderr, "propsim serve: %s:%ld: %s, skipped\n", ctx->trace_path, lineno, err);
        }
        __atomic_add_fetch(&ctx->trace_events_applied, 1, __ATOMIC_RELAXED);
        cJSON_Delete(ev);
    }
    if (holding)
        kstore_release(ctx->store);
    free(line);
    gzclose(f);
    if (bad)
        fprintf(stderr, "propsim serve: %s: %ld bad line(s) skipped\n", ctx->trace_path, bad);
    ctx->trace_done = true;
    return NULL;
}
