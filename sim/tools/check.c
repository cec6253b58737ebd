/*
 * `propsim check FILE... [--target KIND/NAME]... [--output json]`: lint workload manifests for
 * the spread that keeps DNS-like add-ons off a few nodes.
 *
 * A Deployment or StatefulSet with 2+ replicas, or one scaled by an autoscaler (named by a
 * `--target=kind/name` argument of a CPA/propscaler container in the checked files, or by
 * --target here), should have podAntiAffinity (required or preferred) on kubernetes.io/hostname
 * whose selector matches its own pod labels (and whose namespaces include its own), or a hostname
 * topologySpreadConstraint. An autoscaled workload with a fixed spec.replicas fights every
 * `kubectl apply` and GitOps sync (a warning). Each problem is reported with its rule, severity,
 * file, document and field path, as text, JSON or SARIF 2.1.0 (for CI code scanning).
 * Inputs: files, directories (their *.yaml, *.yml and *.json, recursively, in name order) and `-`
 * (standard input); one that cannot be read or parsed is reported and the others are still checked.
 * Exit codes: 0 clean, 1 findings at or above --fail-on (error by default), 2 unusable input (an
 * unreadable file, a malformed --target or one that names no checked workload).
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "fileio.h"
#include "selector.h"
#include "yamljson.h"

#define HOSTNAME_KEY "kubernetes.io/hostname"
#define MAX_TARGETS 256

enum check_output { OUT_TEXT, OUT_JSON, OUT_SARIF };

struct checker {
    char *targets[MAX_TARGETS]; /* "deployment/name" lowercased */
    int n_targets;
    int n_cli_targets;          /* the first n come from --target: each must name a checked workload */
    bool cli_target_seen[MAX_TARGETS];
    cJSON *findings;
    int workloads, errors, warnings;
    enum check_output output;
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

static bool is_target(struct checker *c, const char *kind, const char *name)
{
    char want[512];
    snprintf(want, sizeof want, "%s/%s", kind, name);
    for (char *p = want; *p; p++)
        *p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    bool found = false;
    for (int i = 0; i < c->n_targets; i++)
        if (strcmp(c->targets[i], want) == 0) {
            found = true;
            if (i < c->n_cli_targets)
                c->cli_target_seen[i] = true;
        }
    return found;
}

/* A --target as CPA takes it: kind/name with a kind propsim check knows (checked at parse). */
static bool target_well_formed(const char *t)
{
    const char *slash = strchr(t, '/');
    if (!slash || !slash[1] || strchr(slash + 1, '/'))
        return false;
    static const char *const kinds[] = {"deployment", "statefulset", "replicaset", "replicationcontroller"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if ((size_t)(slash - t) == strlen(kinds[i]) && strncmp(t, kinds[i], strlen(kinds[i])) == 0)
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

static void finding_rule(struct checker *c, const char *rule, const char *file, int doc, const char *kind,
                         const char *ns, const char *name, const char *severity, const char *path, const char *msg)
{
    if (strcmp(severity, "error") == 0)
        c->errors++;
    else
        c->warnings++;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "rule", rule);
    cJSON_AddStringToObject(f, "file", file);
    cJSON_AddNumberToObject(f, "document", doc);
    cJSON_AddStringToObject(f, "kind", kind);
    cJSON_AddStringToObject(f, "namespace", ns);
    cJSON_AddStringToObject(f, "name", name);
    cJSON_AddStringToObject(f, "severity", severity);
    cJSON_AddStringToObject(f, "path", path);
    cJSON_AddStringToObject(f, "message", msg);
    cJSON_AddItemToArray(c->findings, f);
    if (c->output == OUT_TEXT)
        printf("%s: document %d (%s %s/%s): %s: %s: %s\n", file, doc, kind, ns, name, severity, path, msg);
}

/* the spread rule's findings */
static void finding(struct checker *c, const char *file, int doc, const char *kind, const char *ns, const char *name,
                    const char *severity, const char *path, const char *msg)
{
    finding_rule(c, "hostname-spread", file, doc, kind, ns, name, severity, path, msg);
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
    if (scaled && rep) {
        char msg[400];
        snprintf(msg, sizeof msg, "a fixed replica count (%ld) on a workload an autoscaler sizes: every kubectl apply or "
                 "GitOps sync sets it back, and the autoscaler scales it again; remove spec.replicas from the manifest",
                 replicas);
        finding_rule(c, "fixed-replicas", file, doc, kind, ns, name, "warning", "spec.replicas", msg);
    }
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

/* The files to check: FILE as it is, `-` for standard input, a directory's manifests
 * recursively (sorted, so reports are stable). */
static int is_manifest_name(const char *n)
{
    size_t l = strlen(n);
    return (l > 5 && strcmp(n + l - 5, ".yaml") == 0) || (l > 4 && strcmp(n + l - 4, ".yml") == 0) ||
           (l > 5 && strcmp(n + l - 5, ".json") == 0);
}

static void add_input(char ***list, int *n, int *cap, const char *path, int depth)
{
    struct stat st;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode) && depth < 32) {
        struct dirent **ents = NULL;
        int k = scandir(path, &ents, NULL, alphasort);
        for (int i = 0; i < k; i++) {
            const char *e = ents[i]->d_name;
            if (e[0] != '.') {
                size_t len = strlen(path) + strlen(e) + 2;
                char *child = malloc(len);
                if (child) {
                    snprintf(child, len, "%s/%s", path, e);
                    struct stat cs;
                    if (stat(child, &cs) == 0 && (S_ISDIR(cs.st_mode) || is_manifest_name(e)))
                        add_input(list, n, cap, child, depth + 1);
                    free(child);
                }
            }
            free(ents[i]);
        }
        free(ents);
        return;
    }
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        char **grown = realloc(*list, (size_t)nc * sizeof *grown);
        if (!grown)
            return;
        *list = grown;
        *cap = nc;
    }
    (*list)[(*n)++] = strdup(path);
}

static void print_sarif(const struct checker *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "version", "2.1.0");
    cJSON_AddStringToObject(o, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
    cJSON *run = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "runs"), run);
    cJSON *driver = cJSON_AddObjectToObject(cJSON_AddObjectToObject(run, "tool"), "driver");
    cJSON_AddStringToObject(driver, "name", "propsim check");
    cJSON_AddStringToObject(driver, "version", PROPSCALER_VERSION);
    static const char *const rules[][2] = {
        {"hostname-spread", "Replicas spread across nodes: podAntiAffinity or a topologySpreadConstraint on "
                            "kubernetes.io/hostname that applies to the workload's own pods"},
        {"fixed-replicas", "No fixed spec.replicas on a workload an autoscaler sizes"},
    };
    cJSON *rl = cJSON_AddArrayToObject(driver, "rules");
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "id", rules[i][0]);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "shortDescription"), "text", rules[i][1]);
        cJSON_AddItemToArray(rl, r);
    }
    cJSON *results = cJSON_AddArrayToObject(run, "results");
    const cJSON *f;
    cJSON_ArrayForEach(f, c->findings)
    {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "ruleId", get(f, "rule")->valuestring);
        cJSON_AddStringToObject(r, "level", get(f, "severity")->valuestring);
        char text[1400];
        snprintf(text, sizeof text, "%s: %s", get(f, "path")->valuestring, get(f, "message")->valuestring);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "message"), "text", text);
        cJSON *loc = cJSON_CreateObject();
        cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(loc, "physicalLocation"), "artifactLocation"),
                                "uri", get(f, "file")->valuestring);
        cJSON *logical = cJSON_CreateObject();
        char fq[800];
        snprintf(fq, sizeof fq, "%s/%s/%s (document %d)", get(f, "kind")->valuestring, get(f, "namespace")->valuestring,
                 get(f, "name")->valuestring, (int)get(f, "document")->valuedouble);
        cJSON_AddStringToObject(logical, "fullyQualifiedName", fq);
        cJSON_AddStringToObject(logical, "kind", "resource");
        cJSON_AddItemToArray(cJSON_AddArrayToObject(loc, "logicalLocations"), logical);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(r, "locations"), loc);
        cJSON_AddItemToArray(results, r);
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    puts(text ? text : "{}");
    cJSON_free(text);
}

int check_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'}, {"target", required_argument, NULL, 't'},
        {"fail-on", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    struct checker c = {.findings = cJSON_CreateArray()};
    optind = 1;
    int opt, rc = 0;
    bool fail_on_warning = false;
    while ((opt = getopt_long(argc, argv, "ho:t:", longopts, NULL)) != -1) {
        if (opt == 'o') {
            if (strcmp(optarg, "json") == 0)
                c.output = OUT_JSON;
            else if (strcmp(optarg, "sarif") == 0)
                c.output = OUT_SARIF;
            else if (strcmp(optarg, "text") == 0)
                c.output = OUT_TEXT;
            else {
                fprintf(stderr, "propsim check: --output: text, json or sarif, not \"%s\"\n", optarg);
                rc = 2;
                goto out;
            }
        } else if (opt == 'f') {
            if (strcmp(optarg, "warning") != 0 && strcmp(optarg, "error") != 0) {
                fprintf(stderr, "propsim check: --fail-on: error or warning, not \"%s\"\n", optarg);
                rc = 2;
                goto out;
            }
            fail_on_warning = strcmp(optarg, "warning") == 0;
        } else if (opt == 't') {
            int before = c.n_targets;
            add_target(&c, optarg);
            for (int i = before; i < c.n_targets; i++)
                if (!target_well_formed(c.targets[i])) {
                    fprintf(stderr, "propsim check: --target \"%s\": expected KIND/NAME with KIND deployment, statefulset, "
                            "replicaset or replicationcontroller (as CPA's --target)\n", c.targets[i]);
                    rc = 2;
                    goto out;
                }
            c.n_cli_targets = c.n_targets;
        } else if (opt == 'h') {
            puts("usage: propsim check FILE|DIR|-... [--target KIND/NAME]... [--output text|json|sarif] [--fail-on error|warning]\n"
                 "Lints Deployments and StatefulSets: replicas spread across nodes (podAntiAffinity or\n"
                 "topologySpreadConstraints on kubernetes.io/hostname; rule hostname-spread) and no fixed\n"
                 "spec.replicas on an autoscaled workload (fixed-replicas). Directories are read recursively\n"
                 "(*.yaml, *.yml, *.json); - is standard input. Autoscaled workloads are the --target of CPA or\n"
                 "propscaler containers in the checked files, and those given here (each must name one).\n"
                 "Exit 0: clean; 1: findings at or above --fail-on (default error); 2: unusable input.");
            goto out;
        } else {
            rc = 2;
            goto out;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "propsim check: give one or more manifest files or directories (- for standard input)\n");
        rc = 2;
        goto out;
    }
    char **files = NULL;
    int nfiles = 0, cap = 0;
    for (int a = optind; a < argc; a++)
        add_input(&files, &nfiles, &cap, argv[a], 0);
    /* two passes: find the autoscalers' targets in all files, then check the workloads; a file
     * that cannot be read or parsed is said and skipped */
    cJSON **docs = calloc((size_t)nfiles + 1, sizeof *docs);
    bool unusable = false;
    for (int f = 0; f < nfiles && docs; f++) {
        char *data = NULL, err[512];
        size_t len;
        const char *path = strcmp(files[f], "-") == 0 ? "/dev/stdin" : files[f];
        if (fileio_read_all(path, 64u << 20, &data, &len, err, sizeof err) != 0) {
            fprintf(stderr, "propsim check: %s\n", err);
            unusable = true;
            continue;
        }
        docs[f] = yamljson_parse(data, len, err, sizeof err);
        free(data);
        if (!docs[f]) {
            fprintf(stderr, "propsim check: %s: %s\n", files[f], err);
            unusable = true;
            continue;
        }
        const cJSON *d;
        cJSON_ArrayForEach(d, docs[f]) scan_targets(&c, d);
    }
    for (int f = 0; f < nfiles && docs; f++) {
        int idx = 0;
        const cJSON *d;
        cJSON_ArrayForEach(d, docs[f])
        {
            idx++;
            const cJSON *kind = get(d, "kind");
            if (cJSON_IsString(kind) && (strcmp(kind->valuestring, "Deployment") == 0 || strcmp(kind->valuestring, "StatefulSet") == 0))
                check_workload(&c, files[f], idx, d);
        }
    }
    for (int i = 0; i < c.n_cli_targets; i++)
        if (!c.cli_target_seen[i]) {
            fprintf(stderr, "propsim check: --target %s names no Deployment or StatefulSet in the checked files\n", c.targets[i]);
            unusable = true;
        }
    if (c.output == OUT_SARIF) {
        print_sarif(&c);
    } else if (c.output == OUT_JSON) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "checked", c.workloads);
        cJSON_AddNumberToObject(o, "errors", c.errors);
        cJSON_AddNumberToObject(o, "warnings", c.warnings);
        cJSON_AddItemToObject(o, "findings", c.findings);
        c.findings = NULL;
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        puts(text ? text : "{}");
        cJSON_free(text);
    } else {
        printf("%d workload(s) checked, %d error(s), %d finding(s)\n", c.workloads, c.errors, c.errors + c.warnings);
    }
    rc = unusable ? 2 : (c.errors > 0 || (fail_on_warning && c.warnings > 0)) ? 1 : 0;
    for (int f = 0; f < nfiles; f++) {
        if (docs)
            cJSON_Delete(docs[f]);
        free(files[f]);
    }
    free(files);
    free(docs);
out:
    cJSON_Delete(c.findings);
    for (int i = 0; i < c.n_targets; i++)
        free(c.targets[i]);
    return rc;
}
