/*
 * `propsim check FILE... [--target KIND/NAME]... [--output json]`: lint workload manifests for
 * the spread that keeps DNS-like add-ons off a few nodes.
 *
 * A Deployment or StatefulSet with 2+ replicas, or one scaled by an autoscaler (named by a
 * `--target=kind/name` argument of a CPA/propscaler container in the checked files, or by
 * --target here), should have podAntiAffinity (required or preferred) on kubernetes.io/hostname
 * whose selector matches its own pod labels (and whose namespaces include its own), or a hostname
 * topologySpreadConstraint. Each problem is reported with file, document and field path.
 * Exit codes: 0 clean, 1 findings, 2 unreadable input.
 */
#define _DEFAULT_SOURCE
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "fileio.h"
#include "selector.h"
#include "yamljson.h"

#define HOSTNAME_KEY "kubernetes.io/hostname"
#define MAX_TARGETS 256

struct checker {
    char *targets[MAX_TARGETS]; /* "deployment/name" lowercased */
    int n_targets;
    cJSON *findings;
    int workloads, errors;
    bool json;
};

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL; }

static void add_target(struct checker *c, const char *spec)
{
    /* "kind/name[,kind/name]" as CPA's --target */
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t && c->n_targets < MAX_TARGETS; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        for (char *p = t; *p; p++)
            *p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
        c->targets[c->n_targets++] = strdup(t);
    }
}

static bool is_target(const struct checker *c, const char *kind, const char *name)
{
    char want[512];
    snprintf(want, sizeof want, "%s/%s", kind, name);
    for (char *p = want; *p; p++)
        *p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    for (int i = 0; i < c->n_targets; i++)
        if (strcmp(c->targets[i], want) == 0)
            return true;
    return false;
}

/* Collect --target=... from every container's command/args (CPA and propscaler Deployments). */
static void scan_targets(struct checker *c, const cJSON *doc)
{
    const cJSON *ct;
    cJSON_ArrayForEach(ct, get(get(get(get(doc, "spec"), "template"), "spec"), "containers"))
    {
        static const char *lists[] = {"command", "args"};
        for (int l = 0; l < 2; l++) {
            const cJSON *a, *prev = NULL;
            cJSON_ArrayForEach(a, get(ct, lists[l]))
            {
                if (!cJSON_IsString(a))
                    continue;
                const char *v = a->valuestring;
                if (strncmp(v, "--target=", 9) == 0)
                    add_target(c, v + 9);
                else if (prev && cJSON_IsString(prev) && strcmp(prev->valuestring, "--target") == 0)
                    add_target(c, v);
                prev = a;
            }
        }
    }
}

static void finding(struct checker *c, const char *file, int doc, const char *kind, const char *ns, const char *name,
                    const char *severity, const char *path, const char *msg)
{
    if (strcmp(severity, "error") == 0)
        c->errors++;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "file", file);
    cJSON_AddNumberToObject(f, "document", doc);
    cJSON_AddStringToObject(f, "kind", kind);
    cJSON_AddStringToObject(f, "namespace", ns);
    cJSON_AddStringToObject(f, "name", name);
    cJSON_AddStringToObject(f, "severity", severity);
    cJSON_AddStringToObject(f, "path", path);
    cJSON_AddStringToObject(f, "message", msg);
    cJSON_AddItemToArray(c->findings, f);
    if (!c->json)
        printf("%s: document %d (%s %s/%s): %s: %s: %s\n", file, doc, kind, ns, name, severity, path, msg);
}

static char *compact(const cJSON *o)
{
    char *t = o ? cJSON_PrintUnformatted(o) : NULL;
    return t ? t : strdup("{}");
}

/* Does an affinity term spread this workload's own pods across hostnames? Reports why not. */
static bool term_ok(struct checker *c, const char *file, int doc, const char *kind, const char *ns, const char *name,
                    const cJSON *term, const cJSON *labels, const char *path)
{
    char p[512], msg[1024];
    const cJSON *tk = get(term, "topologyKey");
    if (!cJSON_IsString(tk) || strcmp(tk->valuestring, HOSTNAME_KEY) != 0) {
        snprintf(p, sizeof p, "%s.topologyKey", path);
        snprintf(msg, sizeof msg, "topologyKey is \"%s\", not %s: it does not keep two replicas off one node",
                 cJSON_IsString(tk) ? tk->valuestring : "", HOSTNAME_KEY);
        finding(c, file, doc, kind, ns, name, "warning", p, msg);
        return false;
    }
    const cJSON *sel = get(term, "labelSelector");
    if (!selector_object_matches(sel, labels)) {
        char *s = compact(sel), *l = compact(labels);
        snprintf(p, sizeof p, "%s.labelSelector", path);
        snprintf(msg, sizeof msg, "the selector %s does not match the pod's own labels %s: the term never applies to "
                 "its own replicas", s, l);
        free(s);
        free(l);
        finding(c, file, doc, kind, ns, name, "error", p, msg);
        return false;
    }
    const cJSON *nss = get(term, "namespaces");
    if (cJSON_IsArray(nss) && cJSON_GetArraySize(nss) > 0) {
        bool mine = false;
        const cJSON *n;
        cJSON_ArrayForEach(n, nss) mine = mine || (cJSON_IsString(n) && strcmp(n->valuestring, ns) == 0);
        if (!mine) {
            char *s = compact(nss);
            snprintf(p, sizeof p, "%s.namespaces", path);
            snprintf(msg, sizeof msg, "namespaces %s do not include the workload's own namespace \"%s\": the term never "
                     "sees its own replicas", s, ns);
            free(s);
            finding(c, file, doc, kind, ns, name, "error", p, msg);
            return false;
        }
    }
    return true;
}

static void check_workload(struct checker *c, const char *file, int doc, const cJSON *w)
{
    const char *kind = get(w, "kind")->valuestring;
    const cJSON *meta = get(w, "metadata"), *spec = get(w, "spec");
    const cJSON *n = get(meta, "name"), *nsj = get(meta, "namespace");
    const char *name = cJSON_IsString(n) ? n->valuestring : "(unnamed)";
    const char *ns = cJSON_IsString(nsj) ? nsj->valuestring : "default";
    const cJSON *rep = get(spec, "replicas");
    bool scaled = is_target(c, kind, name);
    long replicas = cJSON_IsNumber(rep) ? (long)rep->valuedouble : 1;
    if (replicas < 2 && !scaled)
        return;
    c->workloads++;
    const cJSON *tmpl = get(spec, "template");
    const cJSON *labels = get(get(tmpl, "metadata"), "labels");
    const cJSON *podspec = get(tmpl, "spec");
    bool spread = false;
    int errors_before = c->errors;
    const cJSON *anti = get(get(podspec, "affinity"), "podAntiAffinity");
    const cJSON *t;
    int i = 0;
    cJSON_ArrayForEach(t, get(anti, "requiredDuringSchedulingIgnoredDuringExecution"))
    {
        char path[256];
        snprintf(path, sizeof path, "spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[%d]", i++);
        spread |= term_ok(c, file, doc, kind, ns, name, t, labels, path);
    }
    i = 0;
    cJSON_ArrayForEach(t, get(anti, "preferredDuringSchedulingIgnoredDuringExecution"))
    {
        char path[256];
        snprintf(path, sizeof path, "spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[%d].podAffinityTerm", i++);
        spread |= term_ok(c, file, doc, kind, ns, name, get(t, "podAffinityTerm"), labels, path);
    }
    i = 0;
    cJSON_ArrayForEach(t, get(podspec, "topologySpreadConstraints"))
    {
        char path[256];
        snprintf(path, sizeof path, "spec.template.spec.topologySpreadConstraints[%d]", i++);
        spread |= term_ok(c, file, doc, kind, ns, name, t, labels, path);
    }
    if (!spread && c->errors == errors_before) { /* no term-specific error explains it already */
        char msg[512];
        snprintf(msg, sizeof msg, "%s with no podAntiAffinity or topologySpreadConstraint on %s that applies to its "
                 "own pods: its replicas can pile onto a few nodes (the scheduler may even prefer it); add "
                 "podAntiAffinity on %s whose labelSelector matches the pod labels",
                 scaled ? "scaled by an autoscaler" : "several replicas", HOSTNAME_KEY, HOSTNAME_KEY);
        finding(c, file, doc, kind, ns, name, "error", "spec.template.spec.affinity.podAntiAffinity", msg);
    }
}

int check_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'}, {"target", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    struct checker c = {.findings = cJSON_CreateArray()};
    optind = 1;
    int opt, rc = 0;
    while ((opt = getopt_long(argc, argv, "ho:t:", longopts, NULL)) != -1) {
        if (opt == 'o') {
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
                fprintf(stderr, "propsim check: --output: text or json\n");
                return 2;
            }
            c.json = strcmp(optarg, "json") == 0;
        } else if (opt == 't') {
            add_target(&c, optarg);
        } else if (opt == 'h') {
            puts("usage: propsim check FILE... [--target KIND/NAME]... [--output json]\n"
                 "Lints Deployments and StatefulSets for hostname spread (podAntiAffinity or topologySpreadConstraints).\n"
                 "Exit 0: clean; 1: findings; 2: unreadable input.");
            return 0;
        } else {
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "propsim check: give one or more manifest files\n");
        return 2;
    }
    /* two passes: find the autoscalers' targets in all files, then check the workloads */
    int nfiles = argc - optind;
    cJSON **docs = calloc((size_t)nfiles, sizeof *docs);
    for (int f = 0; f < nfiles && rc == 0; f++) {
        char *data = NULL, err[512];
        size_t len;
        if (fileio_read_all(argv[optind + f], 64u << 20, &data, &len, err, sizeof err) != 0) {
            fprintf(stderr, "propsim check: %s\n", err);
            rc = 2;
            break;
        }
        docs[f] = yamljson_parse(data, len, err, sizeof err);
        free(data);
        if (!docs[f]) {
            fprintf(stderr, "propsim check: %s: %s\n", argv[optind + f], err);
            rc = 2;
            break;
        }
        const cJSON *d;
        cJSON_ArrayForEach(d, docs[f]) scan_targets(&c, d);
    }
    for (int f = 0; f < nfiles && rc == 0; f++) {
        int idx = 0;
        const cJSON *d;
        cJSON_ArrayForEach(d, docs[f])
        {
            idx++;
            const cJSON *kind = get(d, "kind");
            if (cJSON_IsString(kind) && (strcmp(kind->valuestring, "Deployment") == 0 || strcmp(kind->valuestring, "StatefulSet") == 0))
                check_workload(&c, argv[optind + f], idx, d);
        }
    }
    if (rc == 0) {
        if (c.json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "checked", c.workloads);
            cJSON_AddNumberToObject(o, "errors", c.errors);
            cJSON_AddItemToObject(o, "findings", c.findings);
            c.findings = NULL;
            char *text = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
            puts(text ? text : "{}");
            cJSON_free(text);
        } else {
            printf("%d workload(s) checked, %d error(s), %d finding(s)\n", c.workloads, c.errors,
                   cJSON_GetArraySize(c.findings));
        }
        rc = c.errors > 0 ? 1 : 0;
    }
    for (int f = 0; f < nfiles; f++)
        cJSON_Delete(docs[f]);
    free(docs);
    cJSON_Delete(c.findings);
    for (int i = 0; i < c.n_targets; i++)
        free(c.targets[i]);
    return rc;
}
