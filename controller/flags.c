#include "flags.h"
#include "selector.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gojson.h"
#include "quantity.h"

enum flag_type { F_STRING, F_BOOL, F_INT, F_DURATION, F_IGNORED_STRING, F_IGNORED_BOOL, F_IGNORED_INT };

enum flag_id {
    ID_TARGET, ID_TARGETS_FILE, ID_CONFIGMAP, ID_NAMESPACE, ID_POLL, ID_DEFAULT_PARAMS, ID_NODELABELS, ID_MAX_SYNC,
    ID_VERSION, ID_HELP, ID_V, ID_KUBECONFIG, ID_CONTEXT, ID_DRY_RUN, ID_DISABLE_COMPRESSION, ID_OUTPUT, ID_RECORD,
    ID_LEADER_ELECT, ID_LEASE_DURATION, ID_RENEW_DEADLINE, ID_RETRY_PERIOD, ID_LEASE_NAME,
    ID_METRICS_ADDR, ID_LOG_FORMAT, ID_HEALTHZ_COMPAT, ID_LEGACY_SCHED, ID_IGNORE_TAINT,
    ID_MAX_CORES, ID_SPOF_MAX, ID_REFUSE_EMPTY, ID_GUARD, ID_GUARD_LOSS, ID_GUARD_WINDOW, ID_GUARD_SETTLE,
    ID_STEP, ID_DELAY, ID_PLACEMENT_WARN, ID_MAX_PER_NODE, ID_POD_WATCH, ID_LOGTOSTDERR, ID_ALSOLOGTOSTDERR, ID_LOG_DIR, ID_LOG_FILE, ID_STDERR_THRESHOLD, ID_QPS_LIMIT, ID_QPS_REPLICA, ID_FOREIGN_BACKOFF, ID_CACHE_CHECK,
    ID_MAX_RESPONSE, ID_MAX_LIST_ITEMS, ID_NODE_GUARD, ID_NODE_GUARD_MODE, ID_WEBHOOK_ADDR, ID_WEBHOOK_CERT, ID_WEBHOOK_KEY,
    ID_WEBHOOK_SELF_SIGNED, ID_WEBHOOK_SERVICE, ID_WEBHOOK_CONFIG, ID_WEBHOOK_SECRET, ID_WEBHOOK_SYNC, ID_IGNORED
};

struct flag_def {
    const char *name; /* with '-' separators; '_' in input is folded to '-' */
    enum flag_type type;
    enum flag_id id;
    const char *help;
};

static const struct flag_def defs[] = {
    {"target", F_STRING, ID_TARGET, "comma list of kind/name: deployment, replicaset, replicationcontroller, statefulset"},
    {"configmap", F_STRING, ID_CONFIGMAP, "ConfigMap holding the scaling params (linear or ladder)"},
    {"targets-file", F_STRING, ID_TARGETS_FILE, "several targets, each with its own rule (replicas and/or container resources), node filter and guard: a YAML/JSON file (instead of --target and --configmap; see docs/TARGETS.md)"},
    {"namespace", F_STRING, ID_NAMESPACE, "namespace of the ConfigMap and targets (default $MY_POD_NAMESPACE)"},
    {"poll-period-seconds", F_INT, ID_POLL, "resync period in seconds, >= 1 (default 10)"},
    {"default-params", F_STRING, ID_DEFAULT_PARAMS, "JSON params used to create the ConfigMap when it cannot be read"},
    {"nodelabels", F_STRING, ID_NODELABELS, "label selector for the nodes that count"},
    {"max-sync-failures", F_INT, ID_MAX_SYNC, "exit after N consecutive failed reconciles (0 = never)"},
    {"version", F_BOOL, ID_VERSION, "print the version and exit"},
    {"help", F_BOOL, ID_HELP, "print this help and exit"},
    {"v", F_INT, ID_V, "log verbosity"},
    /* glog/klog flags CPA manifests pass: accepted so they start; logging goes to stderr */
    {"logtostderr", F_BOOL, ID_LOGTOSTDERR, "log to stderr only (default true, as klog; false: to --log-file or a file in --log-dir)"},
    {"alsologtostderr", F_BOOL, ID_ALSOLOGTOSTDERR, "with --logtostderr=false: log to stderr too"},
    {"stderrthreshold", F_STRING, ID_STDERR_THRESHOLD, "with --logtostderr=false: lines at or above this severity also go to stderr (default ERROR)"},
    {"vmodule", F_IGNORED_STRING, ID_IGNORED, NULL},
    {"log-dir", F_STRING, ID_LOG_DIR, "with --logtostderr=false: write propscaler.HOST.USER.log.INFO.DATE-TIME.PID here (default /tmp)"},
    {"log-link", F_IGNORED_STRING, ID_IGNORED, NULL},
    {"logbuflevel", F_IGNORED_INT, ID_IGNORED, NULL},
    {"log-backtrace-at", F_IGNORED_STRING, ID_IGNORED, NULL},
    {"log-file", F_STRING, ID_LOG_FILE, "with --logtostderr=false: log to this file (appended; instead of --log-dir)"},
    {"log-file-max-size", F_IGNORED_INT, ID_IGNORED, NULL},
    {"skip-headers", F_IGNORED_BOOL, ID_IGNORED, NULL},
    {"skip-log-headers", F_IGNORED_BOOL, ID_IGNORED, NULL},
    {"add-dir-header", F_IGNORED_BOOL, ID_IGNORED, NULL},
    {"one-output", F_IGNORED_BOOL, ID_IGNORED, NULL},
    /* propscaler */
    {"kubeconfig", F_STRING, ID_KUBECONFIG, "kubeconfig file (default $KUBECONFIG, else in-cluster config)"},
    {"context", F_STRING, ID_CONTEXT, "kubeconfig context (default: current-context)"},
    {"dry-run", F_BOOL, ID_DRY_RUN, "read and decide, print planned actions, write nothing"},
    {"disable-compression", F_BOOL, ID_DISABLE_COMPRESSION,
     "do not ask the API server for gzip answers (fewer CPU-s on both ends, more bytes). Default: true in-cluster (as kube-controller-manager and kube-scheduler), else the kubeconfig's disable-compression; =false asks for gzip"},
    {"output", F_STRING, ID_OUTPUT, "dry-run output: text (default) or json"},
    {"record", F_STRING, ID_RECORD, "write the observed node history to FILE as a trace"},
    {"leader-elect", F_BOOL, ID_LEADER_ELECT, "elect a leader through a coordination.k8s.io Lease; only it writes"},
    {"leader-elect-lease-duration", F_DURATION, ID_LEASE_DURATION, "lease duration (default 15s)"},
    {"leader-elect-renew-deadline", F_DURATION, ID_RENEW_DEADLINE, "renew deadline (default 10s)"},
    {"leader-elect-retry-period", F_DURATION, ID_RETRY_PERIOD, "retry period (default 2s)"},
    {"leader-elect-resource-name", F_STRING, ID_LEASE_NAME, "Lease name (default propscaler-<configmap>)"},
    {"cache-check-period", F_DURATION, ID_CACHE_CHECK,
     "how often the watch caches are checked against the API server (a LIST of one item per watched resource; also after every failed watch; default 60s, 0: at every poll)"},
    {"foreign-writer-backoff", F_DURATION, ID_FOREIGN_BACKOFF,
     "stop writing a target this long when another writer undoes its value 3 times in 10m (default 10m; 0 = never stop)"},
    {"max-list-items", F_STRING, ID_MAX_LIST_ITEMS,
     "largest collection a LIST may return, all pages (default 500000; a LIST never ending is refused)"},
    {"max-response-size", F_STRING, ID_MAX_RESPONSE,
     "largest API answer (or LIST item) read, e.g. 16Mi (default 16Mi; keep it under an eighth of the memory limit)"},
    {"metrics-addr", F_STRING, ID_METRICS_ADDR, "address for /healthz, /readyz, /last-poll, /metrics (default :8080)"},
    {"log-format", F_STRING, ID_LOG_FORMAT, "text (klog style, default) or json"},
    {"healthz-always-ok", F_BOOL, ID_HEALTHZ_COMPAT, "CPA's /healthz: always 200, even when the loop is stuck"},
    {"legacy-schedulable", F_BOOL, ID_LEGACY_SCHED, "divergence: count cordon state only, ignore Ready (CPA < 1.10.1)"},
    {"ignore-taint", F_STRING, ID_IGNORE_TAINT, "divergence: do not count nodes with this taint (key[=value][:effect]; repeatable)"},
    {"max-cores-per-node", F_STRING, ID_MAX_CORES, "divergence: count at most this many cores per node"},
    {"spof-respects-max", F_BOOL, ID_SPOF_MAX, "divergence: preventSinglePointFailure never exceeds max"},
    {"refuse-empty-ladder", F_BOOL, ID_REFUSE_EMPTY, "divergence: an empty ladder is an error, not 0 replicas"},
    {"guard", F_BOOL, ID_GUARD, "hold scale-downs that follow outage-like node losses (the safety guard; default true, false: CPA's timing)"},
    {"guard-max-node-loss", F_STRING, ID_GUARD_LOSS, "guard: a drop of more than this share of the nodes holds (default 50%)"},
    {"guard-window", F_DURATION, ID_GUARD_WINDOW, "guard: the window of the nodes' high-water mark (default 10m)"},
    {"guard-settle", F_DURATION, ID_GUARD_SETTLE, "guard: a lower count stable this long is real (default 10m)"},
    {"max-scale-down-step", F_STRING, ID_STEP, "guard: at most N replicas or P% removed per step (default 50%)"},
    {"placement-warn-only", F_BOOL, ID_PLACEMENT_WARN, "under required hostname anti-affinity, warn about replicas beyond the eligible nodes instead of capping"},
    {"pod-watch", F_BOOL, ID_POD_WATCH,
     "watch each target's pods for the hot-spot report (default true; needs list/watch on pods in the namespace)"},
    {"max-replicas-per-node", F_INT, ID_MAX_PER_NODE, "report nodes holding more replicas of a target (default 1 with hostname anti-affinity, else 2)"},
    {"dns-qps-per-node-limit", F_STRING, ID_QPS_LIMIT, "report nodes whose replicas would serve more than this many QPS (per-VM DNS limits; with --qps-per-replica)"},
    {"qps-per-replica", F_STRING, ID_QPS_REPLICA, "expected QPS served by each replica (for --dns-qps-per-node-limit)"},
    {"scale-down-delay", F_DURATION, ID_DELAY, "guard: scale down only to the highest answer of this long (default 60s)"},
    {"node-guard", F_BOOL, ID_NODE_GUARD, "serve the node-removal admission webhook (the 50% rule for cluster-autoscaler, Karpenter, Cluster API)"},
    {"node-guard-mode", F_STRING, ID_NODE_GUARD_MODE, "node-guard: enforce (refuse, default) or warn (admit with a warning)"},
    {"webhook-addr", F_STRING, ID_WEBHOOK_ADDR, "node-guard: HTTPS address of POST /validate-node-removal (default :8443)"},
    {"webhook-cert", F_STRING, ID_WEBHOOK_CERT, "node-guard: serving certificate (PEM file; reloaded when it changes)"},
    {"webhook-key", F_STRING, ID_WEBHOOK_KEY, "node-guard: its private key (PEM file)"},
    {"webhook-self-signed", F_BOOL, ID_WEBHOOK_SELF_SIGNED, "node-guard: generate the serving certificate (and say its CA bundle)"},
    {"webhook-service", F_STRING, ID_WEBHOOK_SERVICE, "node-guard: the Service ([NAMESPACE/]NAME) the generated certificate names (default propscaler-node-guard in --namespace)"},
    {"webhook-config", F_STRING, ID_WEBHOOK_CONFIG, "node-guard, self-signed: the ValidatingWebhookConfiguration whose caBundle is kept current (default propscaler-node-guard)"},
    {"webhook-secret", F_STRING, ID_WEBHOOK_SECRET, "node-guard, self-signed: the Secret the replicas share the certificate through (default propscaler-node-guard-tls)"},
    {"webhook-sync-period", F_DURATION, ID_WEBHOOK_SYNC, "node-guard, self-signed: how often the Secret and the caBundle are checked (default 1m)"},
};

const char *target_kind_title(enum target_kind k)
{
    static const char *titles[] = {"Deployment", "ReplicaSet", "ReplicationController", "StatefulSet"};
    return titles[k];
}

const char *target_kind_name(enum target_kind k)
{
    static const char *names[] = {"deployment", "replicaset", "replicationcontroller", "statefulset"};
    return names[k];
}

void flags_usage(FILE *out)
{
    fputs("usage: propscaler --target=KIND/NAME[,...] --configmap=NAME [--namespace=NS] [flags]\n"
          "       propscaler --targets-file=FILE [--namespace=NS] [flags]\n\n"
          "Keeps the target's replicas proportional to the cluster, as cluster-proportional-autoscaler.\n\n",
          out);
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        if (defs[i].help)
            fprintf(out, "  --%-30s %s\n", defs[i].name, defs[i].help);
    fputs("\nglog/klog flags of CPA manifests are accepted; --logtostderr, --alsologtostderr, --stderrthreshold,\n"
          "--log_dir and --log_file do what they do in klog, the others change nothing.\n", out);
}

void flags_init(struct propscaler_config *c)
{
    memset(c, 0, sizeof *c);
    c->poll_period_seconds = 10;
    c->pod_watch = true;
    c->log_to_stderr = true;
    c->stderr_threshold = 'E';
    c->lease_duration_s = 15;
    c->renew_deadline_s = 10;
    c->retry_period_s = 2;
    c->metrics_addr = ":8080";
    c->webhook_addr = ":8443";
    c->webhook_service = "propscaler-node-guard";
    c->webhook_config = "propscaler-node-guard";
    c->webhook_secret = "propscaler-node-guard-tls";
    c->webhook_sync_s = 60;
    c->foreign_writer_backoff_s = 600;
    c->cache_check_period_s = 60;
    c->max_response_bytes = (size_t)16 << 20;
    c->max_list_items = 500000;
    cm_data_init(&c->default_data);
    node_count_opts_init(&c->count_opts);
    guard_opts_default(&c->guard); /* on: --guard=false for CPA's exact timing */
}

void flags_release(struct propscaler_config *c)
{
    for (size_t i = 0; i < c->n_targets; i++)
        free(c->targets[i].name);
    cm_data_release(&c->default_data);
    node_count_opts_release(&c->count_opts);
    memset(c, 0, sizeof *c);
}

static int parse_int(const char *v, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

/* A byte size: an integer with an optional Ki/Mi/Gi (or KiB/MiB/GiB) suffix. */
static int parse_size(const char *v, size_t *out)
{
    char *end;
    errno = 0;
    if (*v < '0' || *v > '9')
        return -1;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno)
        return -1;
    unsigned long long scale = 1;
    if (!*end)
        scale = 1;
    else if (strcmp(end, "Ki") == 0 || strcmp(end, "KiB") == 0)
        scale = 1ull << 10;
    else if (strcmp(end, "Mi") == 0 || strcmp(end, "MiB") == 0)
        scale = 1ull << 20;
    else if (strcmp(end, "Gi") == 0 || strcmp(end, "GiB") == 0)
        scale = 1ull << 30;
    else
        return -1;
    if (n > (1ull << 40) / scale)
        return -1;
    *out = (size_t)(n * scale);
    return 0;
}

/* Go duration subset: a number with unit ns/us/ms/s/m/h, or plain seconds. */
static int add_targets(struct propscaler_config *c, const char *value, char *err, size_t errlen)
{
    size_t len = strlen(value);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && value[i] != ',')
            continue;
        /* trim and lowercase one "kind/name" */
        size_t a = start, b = i;
        while (a < b && (value[a] == ' ' || value[a] == '\t'))
            a++;
        while (b > a && (value[b - 1] == ' ' || value[b - 1] == '\t'))
            b--;
        start = i + 1;
        char item[512];
        if (b - a >= sizeof item) {
            snprintf(err, errlen, "--target: entry too long");
            return -1;
        }
        for (size_t k = a; k < b; k++)
            item[k - a] = (char)((value[k] >= 'A' && value[k] <= 'Z') ? value[k] + 32 : value[k]);
        item[b - a] = '\0';
        char *slash = strchr(item, '/');
        if (!slash || strchr(slash + 1, '/') || slash == item || !slash[1]) {
            snprintf(err, errlen, "--target: \"%s\" is not KIND/NAME (e.g. deployment/coredns)", item);
            return -1;
        }
        *slash = '\0';
        enum target_kind kind;
        if (strcmp(item, "deployment") == 0)
            kind = TARGET_DEPLOYMENT;
        else if (strcmp(item, "replicaset") == 0)
            kind = TARGET_REPLICASET;
        else if (strcmp(item, "replicationcontroller") == 0)
            kind = TARGET_REPLICATIONCONTROLLER;
        else if (strcmp(item, "statefulset") == 0)
            kind = TARGET_STATEFULSET;
        else {
            snprintf(err, errlen, "--target: unsupported kind \"%s\"; use deployment, replicaset, "
                     "replicationcontroller or statefulset", item);
            return -1;
        }
        if (c->n_targets == FLAGS_MAX_TARGETS) {
            snprintf(err, errlen, "--target: more than %d targets", FLAGS_MAX_TARGETS);
            return -1;
        }
        char *name = strdup(slash + 1);
        if (!name) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        c->targets[c->n_targets++] = (struct scale_target){.kind = kind, .name = name};
    }
    return 0;
}

static const struct flag_def *find_flag(const char *name, size_t len)
{
    char norm[64];
    if (len >= sizeof norm)
        return NULL;
    for (size_t i = 0; i < len; i++)
        norm[i] = name[i] == '_' ? '-' : name[i];
    norm[len] = '\0';
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        if (strcmp(defs[i].name, norm) == 0)
            return &defs[i];
    return NULL;
}

static int apply(struct propscaler_config *c, const struct flag_def *d, const char *v, char *err, size_t errlen)
{
    long long n;
    bool b = false;
    double secs;
    char qerr[256];
    if (d->type == F_BOOL || d->type == F_IGNORED_BOOL) {
        if (gj_parse_bool(v, &b) != 0) {
            snprintf(err, errlen, "--%s: expected true or false, got \"%s\"", d->name, v);
            return -1;
        }
    }
    switch (d->id) {
    case ID_TARGET: return add_targets(c, v, err, errlen);
    case ID_CONFIGMAP: c->configmap = v; return 0;
    case ID_TARGETS_FILE: c->targets_file = v; return 0;
    case ID_NAMESPACE: c->namespace_ = v; return 0;
    case ID_POLL:
        if (parse_int(v, 1, 86400, &n) != 0) {
            snprintf(err, errlen, "--poll-period-seconds: expected an integer from 1 to 86400, got \"%s\"", v);
            return -1;
        }
        c->poll_period_seconds = (int)n;
        return 0;
    case ID_DEFAULT_PARAMS:
        cm_data_release(&c->default_data);
        cm_data_init(&c->default_data);
        if (params_parse_default(v, strlen(v), &c->default_data, qerr, sizeof qerr) != 0) {
            snprintf(err, errlen, "--default-params: %s", qerr);
            return -1;
        }
        {
            /* the ConfigMap it creates must be valid params, not just JSON */
            struct params p;
            params_init(&p);
            int bad = params_from_configmap(&c->default_data, &p, qerr, sizeof qerr);
            params_release(&p);
            if (bad) {
                snprintf(err, errlen, "--default-params: not valid params: %s", qerr);
                return -1;
            }
        }
        c->default_params = v;
        c->has_default_params = true;
        return 0;
    case ID_NODELABELS: {
        struct selector *sel = NULL;
        if (selector_parse(v, &sel, qerr, sizeof qerr) != 0) {
            snprintf(err, errlen, "--nodelabels: \"%s\" is not a valid label selector: %s", v, qerr);
            return -1;
        }
        selector_free(sel);
        c->nodelabels = v;
        return 0;
    }
    case ID_MAX_SYNC:
        if (parse_int(v, 0, 1000000, &n) != 0) {
            snprintf(err, errlen, "--max-sync-failures: expected a non-negative integer, got \"%s\"", v);
            return -1;
        }
        c->max_sync_failures = (int)n;
        return 0;
    case ID_V:
        if (parse_int(v, 0, 100, &n) != 0) {
            snprintf(err, errlen, "--v: expected a log level from 0 to 100, got \"%s\"", v);
            return -1;
        }
        c->verbosity = (int)n;
        return 0;
    case ID_KUBECONFIG: c->kubeconfig = v; return 0;
    case ID_CONTEXT: c->context = v; return 0;
    case ID_DRY_RUN: c->dry_run = b; return 0;
    case ID_DISABLE_COMPRESSION:
        c->disable_compression = b;
        c->disable_compression_set = true;
        return 0;
    case ID_OUTPUT:
        if (strcmp(v, "json") != 0 && strcmp(v, "text") != 0) {
            snprintf(err, errlen, "--output: expected text or json, got \"%s\"", v);
            return -1;
        }
        c->output_json = strcmp(v, "json") == 0;
        return 0;
    case ID_RECORD: c->record_file = v; return 0;
    case ID_LEADER_ELECT: c->leader_elect = b; return 0;
    case ID_LEASE_DURATION:
    case ID_RENEW_DEADLINE:
    case ID_RETRY_PERIOD:
        if (guard_parse_duration(v, &secs) != 0 || secs <= 0) {
            snprintf(err, errlen, "--%s: expected a positive duration such as 15s or 500ms, got \"%s\"", d->name, v);
            return -1;
        }
        *(d->id == ID_LEASE_DURATION ? &c->lease_duration_s
          : d->id == ID_RENEW_DEADLINE ? &c->renew_deadline_s : &c->retry_period_s) = secs;
        return 0;
    case ID_LEASE_NAME: c->lease_name = v; return 0;
    case ID_CACHE_CHECK:
        if (guard_parse_duration(v, &secs) != 0 || secs > 86400) {
            snprintf(err, errlen, "--cache-check-period: expected a duration from 0 to 24h such as 60s (0: at every "
                     "poll), got \"%s\"", v);
            return -1;
        }
        c->cache_check_period_s = secs;
        return 0;
    case ID_FOREIGN_BACKOFF:
        if (guard_parse_duration(v, &secs) != 0 || secs > 7 * 86400) {
            snprintf(err, errlen, "--foreign-writer-backoff: expected a duration from 0 to 168h such as 10m (0 never "
                     "stops writing), got \"%s\"", v);
            return -1;
        }
        c->foreign_writer_backoff_s = secs;
        return 0;
    case ID_MAX_RESPONSE: {
        size_t bytes = 0;
        if (parse_size(v, &bytes) != 0 || bytes < ((size_t)64 << 10) || bytes > ((size_t)1 << 30)) {
            snprintf(err, errlen, "--max-response-size: expected a size from 64Ki to 1Gi such as 16Mi, got \"%s\"", v);
            return -1;
        }
        c->max_response_bytes = bytes;
        return 0;
    }
    case ID_MAX_LIST_ITEMS: {
        char *end;
        errno = 0;
        unsigned long long items = strtoull(v, &end, 10);
        if (errno || end == v || *end || v[0] == '-' || items < 1000 || items > 100000000) {
            snprintf(err, errlen, "--max-list-items: expected a count from 1000 to 100000000 such as 500000, got \"%s\"", v);
            return -1;
        }
        c->max_list_items = (size_t)items;
        return 0;
    }
    case ID_METRICS_ADDR: c->metrics_addr = v; return 0;
    case ID_NODE_GUARD: c->node_guard = b; return 0;
    case ID_NODE_GUARD_MODE:
        if (strcmp(v, "enforce") != 0 && strcmp(v, "warn") != 0) {
            snprintf(err, errlen, "--node-guard-mode: expected enforce or warn, got \"%s\"", v);
            return -1;
        }
        c->node_guard_warn = strcmp(v, "warn") == 0;
        return 0;
    case ID_WEBHOOK_ADDR: c->webhook_addr = v; return 0;
    case ID_WEBHOOK_CERT: c->webhook_cert = v; return 0;
    case ID_WEBHOOK_KEY: c->webhook_key = v; return 0;
    case ID_WEBHOOK_SELF_SIGNED: c->webhook_self_signed = b; return 0;
    case ID_WEBHOOK_SERVICE: {
        /* NAME, or NAMESPACE/NAME when the Service is not in --namespace (the shipped manifests) */
        const char *slash = strchr(v, '/');
        if (!v[0] || (slash && (slash == v || !slash[1] || strchr(slash + 1, '/'))) ||
            (slash && (size_t)(slash - v) >= sizeof c->webhook_service_ns)) {
            snprintf(err, errlen, "--webhook-service: expected NAME or NAMESPACE/NAME, got \"%s\"", v);
            return -1;
        }
        if (slash)
            snprintf(c->webhook_service_ns, sizeof c->webhook_service_ns, "%.*s", (int)(slash - v), v);
        c->webhook_service = slash ? slash + 1 : v;
        return 0;
    }
    case ID_WEBHOOK_CONFIG: c->webhook_config = v; return 0;
    case ID_WEBHOOK_SECRET: c->webhook_secret = v; return 0;
    case ID_WEBHOOK_SYNC:
        if (guard_parse_duration(v, &secs) != 0 || secs < 1) {
            snprintf(err, errlen, "--webhook-sync-period: expected a duration of at least 1s, got \"%s\"", v);
            return -1;
        }
        c->webhook_sync_s = secs;
        return 0;
    case ID_LOG_FORMAT:
        if (strcmp(v, "json") != 0 && strcmp(v, "text") != 0) {
            snprintf(err, errlen, "--log-format: expected text or json, got \"%s\"", v);
            return -1;
        }
        c->log_json = strcmp(v, "json") == 0;
        return 0;
    case ID_HEALTHZ_COMPAT: c->healthz_always_ok = b; return 0;
    case ID_POD_WATCH: c->pod_watch = b; return 0;
    case ID_LOGTOSTDERR: c->log_to_stderr = b; return 0;
    case ID_ALSOLOGTOSTDERR: c->also_log_to_stderr = b; return 0;
    case ID_LOG_DIR: c->log_dir = v; return 0;
    case ID_LOG_FILE: c->log_file = v; return 0;
    case ID_STDERR_THRESHOLD: {
        /* klog: a severity name or its number (INFO 0, WARNING 1, ERROR 2, FATAL 3) */
        static const char *const names[] = {"INFO", "WARNING", "ERROR", "FATAL"};
        for (int i = 0; i < 4; i++)
            if (strcasecmp(v, names[i]) == 0 || (v[0] == '0' + i && !v[1])) {
                c->stderr_threshold = "IWEF"[i];
                return 0;
            }
        snprintf(err, errlen, "--stderrthreshold: expected INFO, WARNING, ERROR or FATAL (or 0-3), got \"%s\"", v);
        return -1;
    }
    case ID_LEGACY_SCHED: c->count_opts.legacy_schedulable = b; return 0;
    case ID_IGNORE_TAINT:
        if (node_count_opts_add_taint(&c->count_opts, v, qerr, sizeof qerr) != 0) {
            snprintf(err, errlen, "--ignore-taint: %s", qerr);
            return -1;
        }
        return 0;
    case ID_MAX_CORES:
        if (quantity_parse_nano(v, strlen(v), &c->count_opts.max_nano_per_node, qerr, sizeof qerr) != 0 ||
            c->count_opts.max_nano_per_node <= 0) {
            snprintf(err, errlen, "--max-cores-per-node: expected a positive quantity such as 64, got \"%s\"", v);
            return -1;
        }
        return 0;
    case ID_SPOF_MAX: c->policy_opts.spof_respects_max = b; return 0;
    case ID_GUARD: c->guard.enabled = b; return 0;
    case ID_PLACEMENT_WARN: c->placement_warn_only = b; return 0;
    case ID_MAX_PER_NODE:
        if (parse_int(v, 1, 100000, &n) != 0) {
            snprintf(err, errlen, "--max-replicas-per-node: expected a positive integer, got \"%s\"", v);
            return -1;
        }
        c->max_replicas_per_node = (int)n;
        return 0;
    case ID_QPS_LIMIT:
    case ID_QPS_REPLICA: {
        char *end;
        double q = strtod(v, &end);
        if (*end || !(q > 0) || !isfinite(q)) {
            snprintf(err, errlen, "--%s: expected a positive number of queries per second, got \"%s\"", d->name, v);
            return -1;
        }
        *(d->id == ID_QPS_LIMIT ? &c->dns_qps_node_limit : &c->qps_per_replica) = q;
        return 0;
    }
    case ID_GUARD_LOSS:
        if (guard_parse_share(v, &c->guard.max_node_loss, qerr, sizeof qerr) != 0) {
            snprintf(err, errlen, "--guard-max-node-loss: %s", qerr);
            return -1;
        }
        return 0;
    case ID_GUARD_WINDOW:
    case ID_GUARD_SETTLE:
    case ID_DELAY:
        if (guard_parse_duration(v, &secs) != 0 || (secs <= 0 && d->id != ID_DELAY)) {
            snprintf(err, errlen, "--%s: expected a duration such as 10m or 600s, got \"%s\"", d->name, v);
            return -1;
        }
        *(d->id == ID_GUARD_WINDOW ? &c->guard.window_s : d->id == ID_GUARD_SETTLE ? &c->guard.settle_s : &c->guard.stabilize_s) = secs;
        return 0;
    case ID_STEP:
        if (guard_parse_step(v, &c->guard.max_step, &c->guard.max_step_percent, qerr, sizeof qerr) != 0) {
            snprintf(err, errlen, "--max-scale-down-step: %s", qerr);
            return -1;
        }
        return 0;
    case ID_REFUSE_EMPTY: c->policy_opts.refuse_empty_ladder = b; return 0;
    case ID_VERSION:
    case ID_HELP:
    case ID_IGNORED:
        if (d->type == F_IGNORED_INT && parse_int(v, -1000000, 1000000, &n) != 0) {
            snprintf(err, errlen, "--%s: expected an integer, got \"%s\"", d->name, v);
            return -1;
        }
        return 0;
    }
    return 0;
}

enum flags_result flags_parse(struct propscaler_config *c, int argc, const char *const *argv, char *err, size_t errlen)
{
    bool want_version = false, want_help = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || arg[1] == '\0') {
            snprintf(err, errlen, "unexpected argument \"%s\" (flags look like --name=value)", arg);
            return FLAGS_ERROR;
        }
        if (strcmp(arg, "--") == 0) {
            if (i + 1 < argc) {
                snprintf(err, errlen, "unexpected argument \"%s\"", argv[i + 1]);
                return FLAGS_ERROR;
            }
            break;
        }
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct flag_def *d = find_flag(name, nlen);
        if (!d) {
            snprintf(err, errlen, "unknown flag: --%.*s (see --help)", (int)nlen, name);
            return FLAGS_ERROR;
        }
        const char *value;
        bool is_bool = d->type == F_BOOL || d->type == F_IGNORED_BOOL;
        if (eq) {
            value = eq + 1;
        } else if (is_bool) {
            value = "true";
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            snprintf(err, errlen, "flag needs an argument: --%s", d->name);
            return FLAGS_ERROR;
        }
        if (d->id == ID_VERSION || d->id == ID_HELP) {
            bool b;
            if (gj_parse_bool(value, &b) != 0) {
                snprintf(err, errlen, "--%s: expected true or false, got \"%s\"", d->name, value);
                return FLAGS_ERROR;
            }
            if (d->id == ID_VERSION)
                want_version = b;
            else
                want_help = b;
            continue;
        }
        if (apply(c, d, value, err, errlen) != 0)
            return FLAGS_ERROR;
    }
    if (want_help) {
        flags_usage(stdout);
        return FLAGS_EXIT_OK;
    }
    if (want_version) {
        printf("propscaler %s\n", PROPSCALER_VERSION);
        return FLAGS_EXIT_OK;
    }
    if (!c->namespace_ || !c->namespace_[0])
        c->namespace_ = getenv("MY_POD_NAMESPACE");
    if (!c->kubeconfig || !c->kubeconfig[0])
        c->kubeconfig = getenv("KUBECONFIG");
    if (c->targets_file && c->targets_file[0]) {
        /* the file names the targets, their params (inline or a ConfigMap each) */
        if (c->n_targets || (c->configmap && c->configmap[0]) || c->has_default_params) {
            snprintf(err, errlen, "--targets-file names the targets and their params: --target, --configmap and "
                     "--default-params do not go with it");
            return FLAGS_ERROR;
        }
    } else if (c->n_targets == 0) {
        snprintf(err, errlen, "--target is required (e.g. --target=deployment/coredns), or --targets-file FILE");
        return FLAGS_ERROR;
    } else if (!c->configmap || !c->configmap[0]) {
        snprintf(err, errlen, "--configmap is required (the ConfigMap that holds the linear or ladder params)");
        return FLAGS_ERROR;
    }
    if (!c->namespace_ || !c->namespace_[0]) {
        snprintf(err, errlen, "--namespace is required when $MY_POD_NAMESPACE is not set");
        return FLAGS_ERROR;
    }
    if ((c->dns_qps_node_limit > 0) != (c->qps_per_replica > 0)) {
        snprintf(err, errlen, "--dns-qps-per-node-limit and --qps-per-replica go together");
        return FLAGS_ERROR;
    }
    if (!c->webhook_service_ns[0] && c->namespace_)
        snprintf(c->webhook_service_ns, sizeof c->webhook_service_ns, "%s", c->namespace_);
    if (c->node_guard) {
        bool files = c->webhook_cert && c->webhook_cert[0] && c->webhook_key && c->webhook_key[0];
        if (files == c->webhook_self_signed ||
            (!files && ((c->webhook_cert && c->webhook_cert[0]) || (c->webhook_key && c->webhook_key[0])))) {
            snprintf(err, errlen, "--node-guard needs its serving certificate: --webhook-cert FILE and --webhook-key FILE "
                     "(cert-manager's Secret, mounted), or --webhook-self-signed (not both)");
            return FLAGS_ERROR;
        }
    }
    if (c->leader_elect && !(c->retry_period_s < c->renew_deadline_s && c->renew_deadline_s < c->lease_duration_s)) {
        snprintf(err, errlen, "leader election needs retry period < renew deadline < lease duration "
                 "(got %gs, %gs, %gs)", c->retry_period_s, c->renew_deadline_s, c->lease_duration_s);
        return FLAGS_ERROR;
    }
    return FLAGS_OK;
}
