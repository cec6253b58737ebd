/*
 * flags — propscaler's command line: every flag of cluster-proportional-autoscaler, spelled and
 * defaulted as CPA does (an unchanged CPA Deployment must start), plus propscaler's own.
 *
 * Syntax accepted, like Go's pflag: --name=value, --name value, -name=value, -name value;
 * booleans as --flag, --flag=true/false; `_` and `-` are the same in names (glog's --log_dir).
 *
 * Ownership: struct propscaler_config is caller-owned: flags_init() fills defaults,
 * flags_release() frees what parsing allocated. Strings point into argv or into storage the
 * config owns. flags_parse() returns FLAGS_OK, FLAGS_EXIT_OK (--help/--version printed) or
 * FLAGS_ERROR with a message in err that names the flag and what to fix.
 */
#ifndef PROPSCALER_FLAGS_H
#define PROPSCALER_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "guard.h"
#include "nodes.h"
#include "params.h"
#include "replicas.h"

enum target_kind { TARGET_DEPLOYMENT, TARGET_REPLICASET, TARGET_REPLICATIONCONTROLLER, TARGET_STATEFULSET };

struct scale_target {
    enum target_kind kind;
    char *name;
    const char *ns;  /* its namespace; NULL: --namespace (always, for --target) */
};

#define FLAGS_MAX_TARGETS 64

struct propscaler_config {
    /* CPA */
    struct scale_target targets[FLAGS_MAX_TARGETS];
    size_t n_targets;
    const char *configmap;       /* NULL with --targets-file */
    const char *targets_file;    /* --targets-file: targets and their rules (policies/targets.h) */
    const char *namespace_;      /* --namespace, else $MY_POD_NAMESPACE */
    int poll_period_seconds;     /* >= 1 */
    const char *default_params;  /* raw JSON, validated at parse time */
    struct cm_data default_data; /* --default-params as ConfigMap data (Go-encoded values) */
    bool has_default_params;
    const char *nodelabels;      /* passed verbatim as labelSelector */
    int max_sync_failures;       /* 0 = never exit */
    int verbosity;               /* glog -v */
    /* propscaler */
    const char *kubeconfig;      /* --kubeconfig, else $KUBECONFIG, else in-cluster */
    const char *context;
    bool dry_run;
    bool disable_compression; /* --disable-compression */
    bool disable_compression_set; /* given (either way): it overrides the default and the kubeconfig */
    bool output_json;
    const char *record_file;
    bool leader_elect;
    double lease_duration_s, renew_deadline_s, retry_period_s;
    const char *lease_name;
    double foreign_writer_backoff_s; /* stop writing when another writer fights this long; 0 = never */
    double cache_check_period_s;     /* the caches' consistency checks at most this often; 0 = every poll */
    size_t max_response_bytes;   /* the cap on one API answer (--max-response-size) */
    size_t max_list_items;       /* the cap on one LIST's items, all pages (--max-list-items) */
    const char *metrics_addr;    /* host:port for /healthz, /readyz, /last-poll, /metrics */
    bool log_json;
    /* klog's destinations: stderr (default), or --log-file / a file in --log-dir */
    bool log_to_stderr, also_log_to_stderr;
    const char *log_dir, *log_file;
    char stderr_threshold;       /* I W E F: with log_to_stderr false, these and above go to stderr too */
    bool pod_watch;              /* --pod-watch: the hot-spot report's pod watch */
    bool healthz_always_ok;      /* CPA's /healthz (always 200) instead of the loop check */
    struct node_count_opts count_opts;
    struct policy_opts policy_opts;
    struct guard_opts guard;     /* on unless --guard=false; the node guard shares its share, window, settle */
    bool placement_warn_only;    /* report replicas beyond the eligible nodes, do not cap them */
    int max_replicas_per_node;   /* 0: 1 under hostname anti-affinity, else 2 */
    double dns_qps_node_limit;   /* > 0 with qps_per_replica: flag nodes whose replicas exceed it */
    double qps_per_replica;
    /* the node-removal admission webhook */
    bool node_guard;
    bool node_guard_warn;        /* admit, with a warning, what enforce mode would refuse */
    const char *webhook_addr;    /* host:port of the HTTPS server */
    const char *webhook_cert, *webhook_key; /* PEM files, reloaded when they change */
    bool webhook_self_signed;    /* generate a CA and serving certificate at start */
    const char *webhook_service; /* the Service name the generated certificate carries */
    char webhook_service_ns[254]; /* its namespace (default: --namespace) */
    const char *webhook_config;  /* self-signed: the ValidatingWebhookConfiguration kept current */
    const char *webhook_secret;  /* self-signed: the Secret that shares the pair between replicas */
    double webhook_sync_s;       /* self-signed: how often both are checked */
};

enum flags_result { FLAGS_OK = 0, FLAGS_EXIT_OK = 1, FLAGS_ERROR = -1 };

void flags_init(struct propscaler_config *c);
void flags_release(struct propscaler_config *c);
enum flags_result flags_parse(struct propscaler_config *c, int argc, const char *const *argv, char *err, size_t errlen);

const char *target_kind_name(enum target_kind k);
/* The API kind: Deployment, ReplicaSet, ReplicationController, StatefulSet. */
const char *target_kind_title(enum target_kind k);
void flags_usage(FILE *out);

#endif
