/*
 * controller_internal — the controller's state and the functions its files share. Private to
 * controller/controller*.c and its siblings listed below; nothing outside controller/ includes it.
 *
 * The controller is one state machine split by seam, one file each:
 *   controller.c  lifecycle: new, start, stop (bounded), free; leadership changes
 *   inputs.c      the nodes and ConfigMap reflectors' sinks, params loading, --default-params
 *   reconcile.c   the reconcile loop: timers, reading each target, the planner's plan carried out
 *   output.c      what an operator sees of a decision: Events, dry-run lines
 *   hotspots.c    where the target's pods run: replicas piled on nodes
 *   record.c      --record: the observed node history as a trace
 *   endpoints.c   /healthz, /readyz, /last-poll, /metrics (called from the HTTP thread)
 *   removals.c    --node-guard: the node-removal webhook's reviews, the shared ledger, Events
 *   webhookca.c   --webhook-self-signed: the certificate shared through a Secret, the caBundle
 *
 * Ownership: struct controller owns everything it points to except the loop and the config
 * (borrowed, see controller.h). Fields read by the HTTP thread are guarded by `mu`; the node
 * guard's state, shared with the webhook's thread, by `ng_mu`.
 */
#ifndef PROPSCALER_CONTROLLER_INTERNAL_H
#define PROPSCALER_CONTROLLER_INTERNAL_H

#include <errno.h>
#include <sys/stat.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "buf.h"
#include "kclient.h"
#include "guard.h"
#include "kanswer.h"
#include "krand.h"
#include "kubeconfig.h"
#include "leader.h"
#include "log.h"
#include "admission.h"
#include "nodeguard.h"
#include "nodes.h"
#include "params.h"
#include "placement.h"
#include "planner.h"
#include "podwatch.h"
#include "reflector.h"
#include "replicas.h"
#include "selector.h"
#include "targets.h"
#include "vertical.h"

#include "controller.h"

/* A params ConfigMap, watched: CPA's --configmap (source 0), or one a targets file names. An
 * invalid edit keeps the last good params in force. */
#define MAX_SOURCES 16
struct params_source {
    struct controller *c;
    char ns[TARGETS_NAME_MAX + 1], name[TARGETS_NAME_MAX + 1];
    char path[600], field[300];  /* the reflector's collection and field selector */
    struct reflector *ref;
    bool present;                /* the ConfigMap exists, as last listed or watched */
    struct cm_data cm;           /* its data as last seen */
    struct params params;        /* last good params */
    bool loaded;
    unsigned long gen;           /* bumped whenever the params change */
    char error[1024];            /* non-empty: the current ConfigMap does not parse */
    char guard_override[256];    /* its propscaler.io/guard-override annotation */
    bool override_pending;       /* it changed: release the targets' holds at the next decision */
    char uid[64];                /* for its Events */
};

/* Nodes counted one way: the CPA flags' (group 0 without a targets file), or a targets file's
 * filter (targets with the same filter share a group). Every group sees every node. */
#define MAX_GROUPS 8
struct node_group {
    const struct node_count_opts *opts; /* borrowed: the config's or a target's */
    const char *key;                    /* the filter's identity (targets.h filter_key) */
    struct node_set *nodes, *staging;   /* group 0's are c->nodes and c->staging */
    struct cluster_summary summary;     /* at the reconcile in progress */
};

struct target_state {
    struct controller *c;
    const struct scale_target *t;
    const char *ns;       /* its namespace */
    const struct target_config *tc; /* --targets-file: its entry; NULL for --target */
    int source;           /* its params: c->sources[source]; -1: inline (tc->params) or none */
    int group;            /* its nodes: c->groups[group] */
    struct planner_opts opts; /* its planner options (the flags', or the file's guard and placement) */
    bool horizontal;      /* it has a replicas rule */
    /* vertical (tc->vertical): the containers' resources as last read, and the planner's state */
    struct planner_vtarget vplan;
    struct vertical_values have[VERTICAL_MAX_CONTAINERS];
    bool have_read;       /* the workload was read in this reconcile */
    char object_rv[32];   /* its resourceVersion then (the patch's precondition) */
    char vertical_error[600]; /* a container of the policy is not in the template, ... */
    char vinvalid[700];   /* the plan would put a request above a limit (said once while it stands) */
    unsigned long rollouts;   /* resource patches written */
    char vwhy[400];       /* the last plan's reason to rewrite, for the Event */
    struct vplan vlast;   /* the last vertical plan (dry-run, Event) */
    char last_error[1024]; /* its last reconcile's error ("": ok), under mu: /last-poll */
    char path[768];       /* the scale subresource */
    struct planner_target plan; /* the decision's state (policies/planner) */
    char why[512];        /* the last plan's rule in words, for the scaling Event */
    int32_t current;      /* last observed spec.replicas */
    bool observed;
    char uid[64];         /* the target's metadata.uid (from its Scale): Events name it, or
                           * `kubectl describe` (which selects Events by uid) never shows them */
    int attempts;         /* 409 retries within one reconcile */
    struct kreq *req;     /* the read or write of this target in flight */
    bool writing;         /* req is a write (a stop lets it finish) */
    unsigned long writes;
    /* placement: the pod template's rules, refreshed at most once a poll period */
    char object_path[768];
    struct placement_rules rules;
    bool rules_known;
    double rules_at;
    int64_t eligible;
    char rv[32];          /* its Scale's resourceVersion when last read (Events carry it) */
    char tagged[64];      /* the rules' fingerprint the node tags were computed with */
    bool settled;         /* this cycle's plan stands until an input changes (no guard delay,
                           * step limit or hold, no fight back-off, no recount awaited) */
    /* where its pods run */
    struct podwatch *pods;
    char piled[512];      /* the last reported over-limit nodes (report on change) */
    ev_timer hot_timer;   /* pod changes are evaluated together, half a second after a burst */
    int busiest, over_limit, over_qps;
    char guard_logged[400];    /* the last delay or limit logged (said once while it stands) */
};

/* A node-removal review handed from the webhook's thread to the loop (removals.c). */
struct removal_review {
    struct admission_request req;
    double at;                 /* when the loop decided it (the ledger's time for it) */
    bool decided_refused, repeat;
    char decided_reason[1200];
    bool done, refused, abandoned;
    char reason[1200];
    int attempts;
    struct removal_review *next;
};

/* A node-removal decision waiting for the loop to post its Event. */
#define REMOVAL_EVENTS 64
struct removal_event {
    char node[256], uid[128];
    bool refused;
    char message[1400];
};

/* Events posted lately, for aggregation (output.c) */
#define EVENT_CACHE 64
#define EVENT_AGGREGATE_S 600.0
struct event_seen {
    uint64_t key;            /* FNV-1a of namespace, object, type, reason and message */
    double last;             /* ev_now of the last occurrence; 0: free */
    int count;
    char ns[64];
    char name[280];          /* the Event object's name */
};

/* Everything a decision reads besides the Scale and the clock. Node events whose burst leaves it
 * as it was at the last settled decision cost no API request (heartbeats: ~50/s on a 15,000-node
 * cluster); the poll tick and every other trigger decide regardless. Compared with memcmp: built
 * on zeroed storage. */
struct decision_inputs {
    struct cluster_summary summaries[MAX_GROUPS];
    unsigned long params_gen[MAX_SOURCES];
    unsigned long targets_gen;   /* the targets file's rules changed */
    bool may_write, override_pending[MAX_SOURCES];
    int64_t eligible[FLAGS_MAX_TARGETS];
    bool eligible_stale[FLAGS_MAX_TARGETS];
};

struct controller {
    struct ev_loop *loop;
    struct propscaler_config *cfg;
    struct kube_endpoint ep;
    struct kclient *client;
    struct reflector *nodes_ref;
    struct node_set *nodes, *staging; /* group 0's */
    struct node_group groups[MAX_GROUPS];
    int n_groups;
    struct targets_config targets_file; /* --targets-file: the config in force (the last good one) */
    struct stat targets_stat;  /* the file as last read: a change is read again at the poll tick */
    unsigned long targets_gen; /* bumped when a change of its rules is taken */
    char targets_error[1400];  /* non-empty: the file's current content is not in force (why) */
    struct scale_target file_targets[FLAGS_MAX_TARGETS];
    size_t n_targets;          /* --target's or the file's */
    /* --record: the observed node history as a trace */
    FILE *record;
    double record_t0;
    struct buf record_pending; /* trimmed objects of the LIST in progress, one per line */
    /* params */
    struct params_source sources[MAX_SOURCES]; /* source 0: --configmap (CPA) */
    int n_sources;
    struct planner_opts plan_opts;
    struct kreq *create_req;
    /* reconcile */
    ev_timer coalesce, poll;
    ev_timer retry;            /* after a failed reconcile; separate, so node events never wait for it */
    char sync_error[1200];     /* the last reflector error since the previous poll tick */
    ev_timer stop_deadline;    /* a stop ends the loop by this time, whatever is in flight */
    bool coalescing_burst;     /* the coalesce timer waits for node events to go quiet */
    double burst_start;        /* ev_time of the burst's first event */
    unsigned burst_events;     /* node events in the burst so far */
    double last_cache_check;   /* ev_now of the poll tick that last checked the caches (0: never) */
    bool coalesce_forced;      /* the coalesce timer carries a request that decides regardless */
    bool reconcile_running, reconcile_again, again_forced;
    struct decision_inputs deciding, decided; /* this cycle's; the last settled one's */
    bool decided_valid;
    int pending;               /* targets in flight in this reconcile */
    int rules_pending;         /* at start: workloads still to read before the first node LIST */
    ev_timer trim;             /* after a node LIST: malloc_trim, once its pages are freed */
    char cycle_error[1200];
    int consecutive_failures;
    double retry_backoff;      /* after a failed reconcile: try again sooner than the poll */
    int exit_code;
    bool stopping;
    struct target_state targets[FLAGS_MAX_TARGETS];
    struct leader *leader;     /* NULL without --leader-elect */
    char identity[256];
    /* health and metrics, shared with the HTTP thread */
    pthread_mutex_t mu;
    char last_poll_error[1200];
    bool synced;
    double heartbeat;          /* ev_now of the last loop activity */
    double last_success;       /* wall time of the last successful reconcile */
    unsigned long reconciles, reconcile_errors, scale_writes, conflicts;
    unsigned long decisions_skipped; /* node event bursts that changed no decision input */
    unsigned long nodes_decoded_direct, nodes_decoded_tree; /* nodejson's fast path; the cJSON path */
    /* Events (output.c; loop thread) */
    struct event_seen events_seen[EVENT_CACHE];
    char event_host[256];      /* source.host: $NODE_NAME (downward API), else the host name */
    char cm_uid[64];           /* the params ConfigMap's uid, for its Events */
    char lease_label[400];     /* NAMESPACE/NAME of the Lease (--leader-elect), for /metrics */
    struct promhist reconcile_seconds; /* under mu */
    double reconcile_started;  /* ev_time at the start of the reconcile in flight */
    struct cluster_summary summary; /* group 0's at the last reconcile */
    /* --node-guard: shared with the webhook's thread under ng_mu */
    pthread_mutex_t ng_mu;
    struct nodeguard_state ng;
    struct nodeguard_opts ng_opts;
    bool ng_synced;            /* the nodes have been listed */
    struct removal_event ng_events[REMOVAL_EVENTS]; /* decisions whose Events the loop posts */
    int ng_n_events;
    unsigned long ng_events_dropped;
    ev_async ng_async;         /* wakes the loop to post them and to decide queued reviews */
    pthread_cond_t ng_cv;      /* a review's verdict is in */
    struct removal_review *ng_queue, *ng_active; /* waiting; the one whose ledger round trip runs */
    bool ng_stopping;          /* a stop began: no review waits any more */
    /* --webhook-self-signed: the shared certificate and the caBundle (webhookca.c; loop thread) */
    struct webhook *hook;
    ev_timer ca_timer;
    bool ca_config_missing_said;
};


/* Node events are decided together once they have been quiet this long... */
#define COALESCE_QUIET_S 0.008
/* ... this long once a burst counts more than COALESCE_STREAM_EVENTS events (a stream)... */
#define COALESCE_STREAM_EVENTS 64
#define COALESCE_STREAM_QUIET_S 0.025
/* ... or this long after the first of them, whichever comes first. */
#define COALESCE_MAX_S 1.0

/* The longest a stop (SIGTERM) takes: an in-flight write and the Lease release fit inside it. */
#define CONTROLLER_STOP_BOUND_S 5.0

/* controller.c */
void controller_finish_stop(struct controller *c);

/* inputs.c */
extern const struct reflector_sink inputs_node_sink, inputs_cm_sink;
bool inputs_caches_trusted(const struct controller *c);
void inputs_create_configmap(struct controller *c);
void inputs_trim_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* reconcile.c */
void reconcile_schedule(struct controller *c, double delay);
void reconcile_coalesce_event(struct controller *c);
/* Start: read each workload's placement rules, then start the node LIST (controller_start). */
void reconcile_read_rules_then_list(struct controller *c);
/* A target's part of the reconcile ended (error: NULL, or what failed, for /last-poll). */
void reconcile_finish_target(struct controller *c, struct target_state *ts, const char *error);
void reconcile_coalesce_cb(struct ev_loop *loop, ev_timer *w, int revents);
void reconcile_retry_cb(struct ev_loop *loop, ev_timer *w, int revents);
void reconcile_poll_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* targetsfile.c: --targets-file, read at start and again when it changes (at the poll tick): a
 * change of rules (params, resources, guard, placement) is taken at once; a file that does not
 * parse, or that adds, removes or renames targets, changes a node filter or a params ConfigMap,
 * keeps the config in force and says why (those need a restart). */
int targetsfile_load(struct controller *c, struct targets_config *out, char *err, size_t errlen);
void targetsfile_check(struct controller *c);

/* inputs.c: a target's params (NULL: not loaded yet, or it has no replicas rule) */
const struct params *inputs_target_params(const struct target_state *ts);

/* output.c */
void output_event(struct controller *c, struct target_state *ts, const char *type, const char *reason, const char *msg);
void output_hold(struct controller *c, struct target_state *ts, int32_t current, int32_t would, const char *reason);
void output_plan(struct controller *c, struct target_state *ts, const struct plan *plan);

/* An Event on any object (uid and rv may be NULL or empty). The same Event again within 10
 * minutes (same object, type, reason and message) raises the first one's count and
 * lastTimestamp instead of adding another, as client-go's correlator does. */
void output_object_event(struct controller *c, const char *ns, const char *api_version, const char *kind,
                         const char *name, const char *uid, const char *rv, const char *type, const char *reason,
                         const char *msg);
/* A Warning Event on a params ConfigMap (e.g. its params became invalid). */
void output_configmap_event(struct controller *c, const struct params_source *src, const char *reason, const char *msg);
/* --dry-run: the resources a vertical plan would write. */
void output_vertical_plan(struct controller *c, struct target_state *ts, const struct vplan *plan);

/* removals.c */
void removals_init(struct controller *c);
void removals_free(struct controller *c);
/* The node set changed (name: the node of a watch event, or NULL after a LIST). */
void removals_observe(struct controller *c, enum watch_event_type type, const char *name);
void removals_override(struct controller *c);
/* A stop began: queued and waiting reviews are refused at once (another replica answers). */
void removals_stopping(struct controller *c);
void removals_metrics(struct controller *c, struct buf *b);

/* webhookca.c */
void webhookca_stop(struct controller *c);

/* hotspots.c */
void hotspots_selector_text(const cJSON *sel, char *out, size_t len);
void hotspots_pods_changed(void *ctx);
void hotspots_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* record.c */
char *record_trim_node(const cJSON *obj);
void record_line(struct controller *c, const char *type, const char *object_json);
void record_list(struct controller *c);

#endif
