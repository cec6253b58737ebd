#define _DEFAULT_SOURCE /* getopt_long */
#include "eval.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cmfile.h"
#include "fileio.h"
#include "nodes.h"
#include "params.h"
#include "quantity.h"
#include "replicas.h"
#include "selector.h"
#include "targets.h"
#include "vertical.h"
#include "yamljson.h"

#define EVAL_MAX_FILE (512u << 20)

static void usage(FILE *out)
{
    fputs("usage: propsim eval (--params JSON | --configmap FILE | --targets-file FILE [--configmap FILE])\n"
          "                    (--nodes N --cores C [--schedulable-nodes N] [--schedulable-cores C]\n"
          "                     | --nodes-file FILE... [--nodelabels SELECTOR])\n"
          "                    [--output text|json]\n"
          "\n"
          "Computes the replica count cluster-proportional-autoscaler would choose.\n"
          "  --params JSON           params as CPA's --default-params, e.g.\n"
          "                          '{\"linear\":{\"coresPerReplica\":256,\"nodesPerReplica\":16}}'\n"
          "  --configmap FILE        a params ConfigMap (YAML or JSON; the first ConfigMap in the file)\n"
          "  --nodes N, --cores C    cluster totals; schedulable counts default to the totals\n"
          "  --nodes-file FILE       Node, NodeList or List objects (JSON or YAML; repeatable; - = stdin)\n"
          "  --nodelabels SELECTOR   count only nodes matching this label selector (as CPA's flag)\n"
          "  --output json           one JSON object instead of text\n"
          "  --targets-file FILE     every target of a targets file instead of --params/--configmap: replicas\n"
          "                          and container resources (a target whose params are in a ConfigMap\n"
          "                          reads it from --configmap FILE, matched by name)\n"
          "Opt-in divergences from CPA (off by default, see docs/DIVERGENCES.md):\n"
          "  --legacy-schedulable    count cordon state only, ignore Ready (CPA before 1.10.1)\n"
          "  --ignore-taint SPEC     do not count nodes with this taint (key[=value][:effect]; repeatable)\n"
          "  --max-cores-per-node Q  count at most Q cores of any one node (a quantity: 64, 64000m)\n"
          "  --spof-respects-max     preventSinglePointFailure never exceeds max\n"
          "  --refuse-empty-ladder   an empty ladder is an error instead of 0 replicas\n",
          out);
}

static int parse_count(const char *flag, const char *text, int64_t *out)
{
    char *end;
    if (!text[0] || text[0] == '-' || text[0] == '+') {
        fprintf(stderr, "propsim eval: %s: expected a non-negative integer, got \"%s\"\n", flag, text);
        return -1;
    }
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*end || errno) {
        fprintf(stderr, "propsim eval: %s: expected a non-negative integer, got \"%s\"\n", flag, text);
        return -1;
    }
    *out = v;
    return 0;
}

/* Read a YAML/JSON file into an array of documents; NULL after printing why. */
static cJSON *load_documents(const char *path)
{
    char *data = NULL;
    size_t len;
    char err[512];
    if (fileio_read_all(path, EVAL_MAX_FILE, &data, &len, err, sizeof err) != 0) {
        fprintf(stderr, "propsim eval: %s\n", err);
        return NULL;
    }
    cJSON *docs = yamljson_parse(data, len, err, sizeof err);
    free(data);
    if (!docs)
        fprintf(stderr, "propsim eval: %s: %s\n", path, err);
    return docs;
}

/* Find the first ConfigMap among the documents and copy its string data. */
static int load_configmap(const char *path, struct cm_data *out)
{
    cJSON *docs = load_documents(path);
    if (!docs)
        return -1;
    int rc = -1, index = 0;
    const cJSON *doc, *cm = NULL;
    cJSON_ArrayForEach(doc, docs)
    {
        index++;
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
        if (cJSON_IsString(kind) && strcmp(kind->valuestring, "ConfigMap") == 0) {
            cm = doc;
            break;
        }
    }
    if (!cm) {
        fprintf(stderr, "propsim eval: %s: no document with kind: ConfigMap\n", path);
        goto done;
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(cm, "data"), *e;
    if (d && !cJSON_IsObject(d) && !cJSON_IsNull(d)) {
        fprintf(stderr, "propsim eval: %s (document %d): data must be a map of strings\n", path, index);
        goto done;
    }
    cJSON_ArrayForEach(e, d)
    {
        if (!cJSON_IsString(e)) {
            fprintf(stderr, "propsim eval: %s (document %d): data.%s must be a string; quote the value\n", path,
                    index, e->string);
            goto done;
        }
        if (cm_data_set(out, e->string, e->valuestring, strlen(e->valuestring)) != 0) {
            fprintf(stderr, "propsim eval: out of memory\n");
            goto done;
        }
    }
    rc = 0;
done:
    cJSON_Delete(docs);
    return rc;
}

static int add_node(struct node_set *set, const cJSON *obj, const struct node_count_opts *opts,
                    const char *path, int doc, int item, size_t *filtered)
{
    struct node_obs n;
    char err[512];
    if (node_decode(obj, opts, &n, err, sizeof err) != 0) {
        if (item >= 0)
            fprintf(stderr, "propsim eval: %s (document %d, items[%d]): %s\n", path, doc, item, err);
        else
            fprintf(stderr, "propsim eval: %s (document %d): %s\n", path, doc, err);
        return -1;
    }
    if (!n.counted)
        (*filtered)++;
    if (node_set_upsert(set, &n) != 0) {
        fprintf(stderr, "propsim eval: out of memory\n");
        return -1;
    }
    return 0;
}

static int load_nodes(const char *path, struct node_set *set, const struct node_count_opts *opts, size_t *filtered)
{
    cJSON *docs = load_documents(path);
    if (!docs)
        return -1;
    int rc = 0, index = 0;
    const cJSON *doc;
    cJSON_ArrayForEach(doc, docs)
    {
        index++;
        if (cJSON_IsNull(doc))
            continue;
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
        const char *k = cJSON_IsString(kind) ? kind->valuestring : NULL;
        if (k && (strcmp(k, "NodeList") == 0 || strcmp(k, "List") == 0)) {
            const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items"), *it;
            if (!cJSON_IsArray(items) && !cJSON_IsNull(items) && items) {
                fprintf(stderr, "propsim eval: %s (document %d): items must be a list\n", path, index);
                rc = -1;
                break;
            }
            int i = 0;
            cJSON_ArrayForEach(it, items)
            {
                if ((rc = add_node(set, it, opts, path, index, i++, filtered)) != 0)
                    break;
            }
        } else {
            rc = add_node(set, doc, opts, path, index, -1, filtered);
        }
        if (rc)
            break;
    }
    cJSON_Delete(docs);
    return rc;
}

struct eval_args {
    const char *targets_file;
    const char *params_json;
    const char *configmap_file;
    const char *node_files[64];
    int n_node_files;
    const char *nodelabels;
    int64_t nodes, cores, sched_nodes, sched_cores;
    bool has_nodes, has_cores, has_sched_nodes, has_sched_cores;
    bool json;
    struct policy_opts popts;
};

static void print_text(const struct params *p, const struct cluster_summary *s, const struct replica_calc *c,
                       const char *source)
{
    char why[512];
    replicas_explain(p, c, why, sizeof why);
    printf("Cluster status: SchedulableNodes[%lld], TotalNodes[%lld], SchedulableCores[%lld], TotalCores[%lld]\n",
           (long long)s->schedulable_nodes, (long long)s->total_nodes, (long long)s->schedulable_cores,
           (long long)s->total_cores);
    printf("Source:   %s\n", source);
    printf("Params:   %s\n", params_mode_name(p->mode));
    printf("Rule:     %s\n", why);
    if (c->flags & RC_EMPTY_LADDER)
        printf("Warning:  both ladders are empty: CPA scales the target to 0 replicas "
               "(--refuse-empty-ladder makes this an error)\n");
    if (c->flags & RC_SATURATED)
        printf("Warning:  the answer exceeds 2147483647; CPA's int32 conversion would wrap, propscaler saturates\n");
    printf("Replicas: %d\n", c->replicas);
}

static int print_json(const struct params *p, const struct cluster_summary *s, const struct replica_calc *c,
                      const char *source)
{
    char why[512];
    replicas_explain(p, c, why, sizeof why);
    cJSON *o = cJSON_CreateObject();
    cJSON *warnings = cJSON_CreateArray();
    if (!o || !warnings) {
        cJSON_Delete(o);
        cJSON_Delete(warnings);
        return -1;
    }
    cJSON_AddNumberToObject(o, "replicas", c->replicas);
    cJSON_AddStringToObject(o, "mode", params_mode_name(p->mode));
    cJSON_AddNumberToObject(o, "totalNodes", (double)s->total_nodes);
    cJSON_AddNumberToObject(o, "schedulableNodes", (double)s->schedulable_nodes);
    cJSON_AddNumberToObject(o, "totalCores", (double)s->total_cores);
    cJSON_AddNumberToObject(o, "schedulableCores", (double)s->schedulable_cores);
    cJSON_AddBoolToObject(o, "includeUnschedulableNodes", c->used_total);
    cJSON_AddNumberToObject(o, "nodesUsed", (double)c->nodes);
    cJSON_AddNumberToObject(o, "coresUsed", (double)c->cores);
    cJSON_AddNumberToObject(o, "fromCores", (double)c->from_cores);
    cJSON_AddNumberToObject(o, "fromNodes", (double)c->from_nodes);
    cJSON_AddBoolToObject(o, "preventSinglePointFailureApplied", (c->flags & RC_SPOF_APPLIED) != 0);
    cJSON_AddStringToObject(o, "source", source);
    cJSON_AddStringToObject(o, "explanation", why);
    if (c->flags & RC_EMPTY_LADDER)
        cJSON_AddItemToArray(warnings, cJSON_CreateString("both ladders are empty: CPA scales the target to 0 replicas"));
    if (c->flags & RC_SATURATED)
        cJSON_AddItemToArray(warnings, cJSON_CreateString("saturated at 2147483647 (CPA would wrap around)"));
    cJSON_AddItemToObject(o, "warnings", warnings);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return -1;
    puts(text);
    cJSON_free(text);
    return 0;
}

/* One target's answer: its cluster numbers (its own node filter over --nodes-file, or the given
 * numbers), its replicas and its container resources. */
static cJSON *eval_one_target(const struct eval_args *a, const struct target_config *t,
                              const struct node_count_opts *base_opts, bool *failed)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "target", t->label);
    cJSON_AddStringToObject(o, "kind", workload_kind_title(t->kind));
    cJSON_AddStringToObject(o, "namespace", t->ns);
    cJSON_AddStringToObject(o, "name", t->name);
    struct cluster_summary s = {0};
    char err[2048];
    if (a->n_node_files) {
        struct node_count_opts no = t->nodes; /* borrowed: its taints and selector stay the target's */
        no.legacy_schedulable = base_opts->legacy_schedulable;
        struct node_set *set = node_set_new();
        size_t filtered = 0;
        for (int i = 0; set && i < a->n_node_files; i++)
            if (load_nodes(a->node_files[i], set, &no, &filtered) != 0) {
                node_set_free(set);
                cJSON_Delete(o);
                return NULL;
            }
        if (!set) {
            cJSON_Delete(o);
            return NULL;
        }
        node_set_summary(set, &s);
        node_set_free(set);
        cJSON_AddNumberToObject(o, "filteredOut", (double)filtered);
    } else {
        s.total_nodes = a->nodes;
        s.total_cores = a->cores;
        s.schedulable_nodes = a->has_sched_nodes ? a->sched_nodes : a->nodes;
        s.schedulable_cores = a->has_sched_cores ? a->sched_cores : a->cores;
    }
    cJSON_AddNumberToObject(o, "totalNodes", (double)s.total_nodes);
    cJSON_AddNumberToObject(o, "schedulableNodes", (double)s.schedulable_nodes);
    cJSON_AddNumberToObject(o, "totalCores", (double)s.total_cores);
    cJSON_AddNumberToObject(o, "schedulableCores", (double)s.schedulable_cores);
    if (t->replicas != REPLICAS_NONE) {
        cJSON *r = cJSON_AddObjectToObject(o, "replicas");
        struct params p;
        params_init(&p);
        int prc = 0;
        if (t->replicas == REPLICAS_CONFIGMAP) {
            char src[400];
            snprintf(src, sizeof src, "ConfigMap %s", t->configmap);
            cJSON_AddStringToObject(r, "source", src);
            const char *paths[1] = {a->configmap_file};
            prc = cmfile_params(paths, a->configmap_file ? 1 : 0, t->configmap, &p, err, sizeof err);
            if (prc != 0 && !a->configmap_file)
                snprintf(err, sizeof err, "its params are in ConfigMap %s: give that ConfigMap with --configmap FILE",
                         t->configmap);
        } else {
            cJSON_AddStringToObject(r, "source", "inline");
            prc = params_copy(&p, &t->params);
            if (prc != 0)
                snprintf(err, sizeof err, "out of memory");
        }
        struct replica_calc calc;
        if (prc == 0)
            prc = replicas_compute(&p, &s, &a->popts, &calc, err, sizeof err);
        if (prc != 0) {
            cJSON_AddStringToObject(r, "error", err);
            fprintf(stderr, "propsim eval: %s: replicas: %s\n", t->label, err);
            *failed = true;
        } else {
            char why[512];
            replicas_explain(&p, &calc, why, sizeof why);
            cJSON_AddNumberToObject(r, "replicas", calc.replicas);
            cJSON_AddStringToObject(r, "mode", params_mode_name(p.mode));
            cJSON_AddStringToObject(r, "explanation", why);
        }
        params_release(&p);
    }
    if (t->vertical) {
        struct vertical_answer va;
        vertical_compute(&t->vpolicy, s.total_nodes, s.total_cores, &va);
        cJSON *v = vertical_answer_json(&t->vpolicy, &va);
        if (!v) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddNumberToObject(v, "threshold", t->vpolicy.threshold_percent);
        cJSON_AddStringToObject(v, "estimator", t->vpolicy.estimator == VEST_EXPONENTIAL ? "exponential" : "linear");
        cJSON_AddItemToObject(o, "vertical", v);
    }
    return o;
}

static void print_target_text(const cJSON *o)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "replicas");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "vertical");
    printf("%s: %g nodes (%g schedulable), %g cores (%g schedulable)\n",
           cJSON_GetObjectItemCaseSensitive(o, "target")->valuestring,
           cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "totalNodes")),
           cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "schedulableNodes")),
           cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "totalCores")),
           cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "schedulableCores")));
    if (r) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "error");
        if (e)
            printf("  replicas: cannot say: %s\n", e->valuestring);
        else
            printf("  replicas: %g (%s)\n", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "replicas")),
                   cJSON_GetObjectItemCaseSensitive(r, "explanation")->valuestring);
    }
    if (v) {
        printf("  resources for %g nodes, %g cores (threshold %g%%):\n",
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(v, "nodes")),
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(v, "cores")),
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(v, "threshold")));
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "containers"))
        {
            const cJSON *res = cJSON_GetObjectItemCaseSensitive(c, "resources"), *kind;
            cJSON_ArrayForEach(kind, res)
            {
                printf("    %s %s:", cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring, kind->string);
                const cJSON *q;
                cJSON_ArrayForEach(q, kind)
                printf(" %s=%s", q->string, q->valuestring);
                printf("\n");
            }
        }
    }
}

static int eval_targets(const struct eval_args *a, const struct node_count_opts *base_opts)
{
    char *data = NULL, err[4096];
    size_t len;
    if (fileio_read_all(a->targets_file, EVAL_MAX_FILE, &data, &len, err, sizeof err) != 0) {
        fprintf(stderr, "propsim eval: %s\n", err);
        return 2;
    }
    struct targets_config tc;
    targets_config_init(&tc);
    struct targets_defaults d = {.ns = "default"};
    int rc = targets_parse(data, len, &d, &tc, err, sizeof err);
    free(data);
    if (rc != 0) {
        fprintf(stderr, "propsim eval: %s: %s\n", a->targets_file, err);
        return 2;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *list = root ? cJSON_AddArrayToObject(root, "targets") : NULL;
    bool failed = false;
    rc = list ? 0 : 1;
    for (size_t i = 0; rc == 0 && i < tc.n; i++) {
        cJSON *one = eval_one_target(a, &tc.targets[i], base_opts, &failed);
        if (!one)
            rc = 2; /* a nodes file could not be read (said) or out of memory */
        else
            cJSON_AddItemToArray(list, one);
    }
    if (rc == 0) {
        if (a->json) {
            char *text = cJSON_PrintUnformatted(root);
            if (text)
                puts(text);
            else
                rc = 1;
            cJSON_free(text);
        } else {
            const cJSON *one;
            cJSON_ArrayForEach(one, list) print_target_text(one);
        }
        if (rc == 0 && failed)
            rc = 2; /* each failure is said in its target's answer */
        if (fflush(stdout) != 0)
            rc = 1;
    }
    cJSON_Delete(root);
    targets_config_release(&tc);
    return rc;
}

int eval_main(int argc, char **argv)
{
    enum { O_PARAMS = 256, O_CONFIGMAP, O_NODES, O_CORES, O_SNODES, O_SCORES, O_NODES_FILE, O_NODELABELS,
           O_OUTPUT, O_LEGACY, O_TAINT, O_MAXCORES, O_SPOF_MAX, O_REFUSE_EMPTY, O_HELP, O_TARGETS };
    static const struct option longopts[] = {
        {"params", required_argument, NULL, O_PARAMS},
        {"configmap", required_argument, NULL, O_CONFIGMAP},
        {"nodes", required_argument, NULL, O_NODES},
        {"cores", required_argument, NULL, O_CORES},
        {"schedulable-nodes", required_argument, NULL, O_SNODES},
        {"schedulable-cores", required_argument, NULL, O_SCORES},
        {"nodes-file", required_argument, NULL, O_NODES_FILE},
        {"nodelabels", required_argument, NULL, O_NODELABELS},
        {"output", required_argument, NULL, O_OUTPUT},
        {"legacy-schedulable", no_argument, NULL, O_LEGACY},
        {"ignore-taint", required_argument, NULL, O_TAINT},
        {"max-cores-per-node", required_argument, NULL, O_MAXCORES},
        {"spof-respects-max", no_argument, NULL, O_SPOF_MAX},
        {"refuse-empty-ladder", no_argument, NULL, O_REFUSE_EMPTY},
        {"targets-file", required_argument, NULL, O_TARGETS},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    struct eval_args a = {0};
    struct node_count_opts nopts;
    node_count_opts_init(&nopts);
    struct cm_data cm;
    cm_data_init(&cm);
    struct params params;
    params_init(&params);
    struct selector *sel = NULL;
    struct node_set *set = NULL;
    char err[4096];
    int rc = 2;

    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case O_PARAMS: a.params_json = optarg; break;
        case O_TARGETS: a.targets_file = optarg; break;
        case O_CONFIGMAP: a.configmap_file = optarg; break;
        case O_NODES:
            if (parse_count("--nodes", optarg, &a.nodes) != 0)
                goto done;
            a.has_nodes = true;
            break;
        case O_CORES:
            if (parse_count("--cores", optarg, &a.cores) != 0)
                goto done;
            a.has_cores = true;
            break;
        case O_SNODES:
            if (parse_count("--schedulable-nodes", optarg, &a.sched_nodes) != 0)
                goto done;
            a.has_sched_nodes = true;
            break;
        case O_SCORES:
            if (parse_count("--schedulable-cores", optarg, &a.sched_cores) != 0)
                goto done;
            a.has_sched_cores = true;
            break;
        case O_NODES_FILE:
            if (a.n_node_files == (int)(sizeof a.node_files / sizeof a.node_files[0])) {
                fprintf(stderr, "propsim eval: too many --nodes-file arguments (at most 64)\n");
                goto done;
            }
            a.node_files[a.n_node_files++] = optarg;
            break;
        case O_NODELABELS: a.nodelabels = optarg; break;
        case O_OUTPUT:
            if (strcmp(optarg, "json") == 0)
                a.json = true;
            else if (strcmp(optarg, "text") != 0) {
                fprintf(stderr, "propsim eval: --output: expected text or json, got \"%s\"\n", optarg);
                goto done;
            }
            break;
        case O_LEGACY: nopts.legacy_schedulable = true; break;
        case O_TAINT:
            if (node_count_opts_add_taint(&nopts, optarg, err, sizeof err) != 0) {
                fprintf(stderr, "propsim eval: --ignore-taint: %s\n", err);
                goto done;
            }
            break;
        case O_MAXCORES:
            if (quantity_parse_nano(optarg, strlen(optarg), &nopts.max_nano_per_node, err, sizeof err) != 0 ||
                nopts.max_nano_per_node <= 0) {
                fprintf(stderr, "propsim eval: --max-cores-per-node: %s\n",
                        nopts.max_nano_per_node <= 0 ? "expected a positive quantity such as 64" : err);
                goto done;
            }
            break;
        case O_SPOF_MAX: a.popts.spof_respects_max = true; break;
        case O_REFUSE_EMPTY: a.popts.refuse_empty_ladder = true; break;
        case O_HELP:
        case 'h':
            usage(stdout);
            rc = 0;
            goto done;
        default:
            usage(stderr);
            goto done;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "propsim eval: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        goto done;
    }
    if (a.targets_file) {
        bool numbers_given = a.has_nodes || a.has_cores;
        if (a.params_json || a.nodelabels || nopts.n_ignore_taints || nopts.max_nano_per_node) {
            fprintf(stderr, "propsim eval: --targets-file: each target has its params and node filter in the file "
                            "(--params, --nodelabels, --ignore-taint and --max-cores-per-node do not apply)\n");
            goto done;
        }
        if (numbers_given == (a.n_node_files > 0) || (numbers_given && (!a.has_nodes || !a.has_cores))) {
            fprintf(stderr, "propsim eval: give the cluster either as --nodes N --cores C or as --nodes-file FILE\n");
            goto done;
        }
        rc = eval_targets(&a, &nopts);
        goto done;
    }
    if (!!a.params_json == !!a.configmap_file) {
        fprintf(stderr, "propsim eval: give the params with exactly one of --params JSON or --configmap FILE\n");
        goto done;
    }
    bool numbers = a.has_nodes || a.has_cores || a.has_sched_nodes || a.has_sched_cores;
    if (numbers == (a.n_node_files > 0)) {
        fprintf(stderr, "propsim eval: give the cluster either as --nodes N --cores C or as --nodes-file FILE\n");
        goto done;
    }
    if (numbers && (!a.has_nodes || !a.has_cores)) {
        fprintf(stderr, "propsim eval: --nodes and --cores are both required (schedulable counts default to them)\n");
        goto done;
    }
    if (a.nodelabels && !a.n_node_files) {
        fprintf(stderr, "propsim eval: --nodelabels filters Node objects; use it with --nodes-file\n");
        goto done;
    }

    /* Params, exactly as CPA would see them. */
    if (a.params_json) {
        if (params_parse_default(a.params_json, strlen(a.params_json), &cm, err, sizeof err) != 0) {
            fprintf(stderr, "%s\nhint: --params takes the JSON of CPA's --default-params, e.g. "
                            "'{\"linear\":{\"coresPerReplica\":256,\"nodesPerReplica\":16}}'\n", err);
            goto done;
        }
    } else if (load_configmap(a.configmap_file, &cm) != 0) {
        goto done;
    }
    if (params_from_configmap(&cm, &params, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        goto done;
    }

    /* Cluster numbers. */
    struct cluster_summary s = {0};
    char source[256];
    if (numbers) {
        s.total_nodes = a.nodes;
        s.total_cores = a.cores;
        s.schedulable_nodes = a.has_sched_nodes ? a.sched_nodes : a.nodes;
        s.schedulable_cores = a.has_sched_cores ? a.sched_cores : a.cores;
        if (s.schedulable_nodes > s.total_nodes || s.schedulable_cores > s.total_cores) {
            fprintf(stderr, "propsim eval: schedulable nodes/cores cannot exceed the totals (--nodes, --cores)\n");
            goto done;
        }
        snprintf(source, sizeof source, "given numbers");
    } else {
        if (a.nodelabels) {
            if (selector_parse(a.nodelabels, &sel, err, sizeof err) != 0) {
                fprintf(stderr, "propsim eval: --nodelabels: %s\n", err);
                goto done;
            }
            nopts.selector = sel;
        }
        set = node_set_new();
        if (!set) {
            fprintf(stderr, "propsim eval: out of memory\n");
            goto done;
        }
        size_t filtered = 0;
        for (int i = 0; i < a.n_node_files; i++)
            if (load_nodes(a.node_files[i], set, &nopts, &filtered) != 0)
                goto done;
        node_set_summary(set, &s);
        snprintf(source, sizeof source, "%zu node(s) from %d file(s)%s%zu filtered out", node_set_size(set),
                 a.n_node_files, filtered ? ", " : "", filtered);
        if (!filtered)
            snprintf(source, sizeof source, "%zu node(s) from %d file(s)", node_set_size(set), a.n_node_files);
    }

    struct replica_calc calc;
    if (replicas_compute(&params, &s, &a.popts, &calc, err, sizeof err) != 0) {
        fprintf(stderr, "propsim eval: %s\n", err);
        goto done;
    }
    if (a.json ? print_json(&params, &s, &calc, source) : (print_text(&params, &s, &calc, source), 0)) {
        fprintf(stderr, "propsim eval: out of memory\n");
        rc = 1;
        goto done;
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    node_set_free(set);
    selector_free(sel);
    params_release(&params);
    cm_data_release(&cm);
    node_count_opts_release(&nopts);
    return rc;
}
