/*
 * serve — `propsim serve`: an emulated Kubernetes API server on loopback that plays a cluster
 * history. Modules (this folder): serve.c (options, startup, shutdown, kubeconfig), serve_http.c
 * (routing, faults, counters, control endpoints; serve_http_internal.h), serve_read.c /
 * serve_watch.c / serve_write.c (the verbs), serve_cluster.c (generated nodes, trace playback,
 * manifests), serve_pods.c (a scheduler), serve_hostile.c; the store is kstore.
 *
 * Threads: libmicrohttpd runs one thread per connection (a watch blocks its own thread on the
 * store's condition variable); the trace player runs in its own thread. All shared state is in
 * the kstore (locked) or in the atomics/mutex-protected fields below.
 */
#ifndef PROPSIM_SERVE_H
#define PROPSIM_SERVE_H

#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kstore.h"

/* `propsim serve ...`: the command (options: serve.c). */
int serve_main(int argc, char **argv);

/* Set the status a healthy workload controller reaches on a Deployment/StatefulSet/ReplicaSet/
 * ReplicationController object (serve_write.c). */
void serve_settle_status(cJSON *obj);

#define SERVE_MAX_BODY (3u << 20) /* the API server's request size limit */
/* Connections are served by a pool of threads, not a thread each (a waiting one is parked:
 * serve_park.h); the open-files limit is raised to fit the connection limit. */
#define SERVE_THREADS 8u
#define SERVE_MAX_CONNECTIONS 8000u

struct serve_faults {
    double fail_rate;        /* fraction of requests answered with fail_code */
    int fail_code;           /* 500 or 429 (with Retry-After) */
    int retry_after_s;
    int latency_ms;          /* added to every request */
    int answer_delay_ms;     /* added after a read's answer is built: events may overtake it */
    double cut_watch_after_s;/* end watch streams after this long (0 = never) */
    long cut_watch_after_events;
    int hostile;             /* enum hostile_mode: malformed answers to reads (serve_hostile.h) */
};

struct serve_counters {
    pthread_mutex_t mu;
    /* per verb x resource; verbs: get list watch create update patch delete */
    unsigned long requests[7][16];
    unsigned long writes;        /* successful create/update/patch/delete */
    unsigned long bytes_sent;
    unsigned long watch_streams;
    unsigned long errors;
    char log[256][640];          /* ring of the last requests: "METHOD URL -> code" */
    unsigned log_next;
};

struct serve_park;

struct serve_ctx {
    struct kstore *store;
    struct serve_park *park;    /* connections that wait (watches, delays), without a thread */
    const char *token;          /* NULL: no auth */
    bool tls;
    FILE *audit;                /* --audit-log: requests, workload replica writes, node counts, Lease holders */
    struct serve_faults faults;
    struct serve_counters counters;
    volatile int stopping;
    volatile int api_down;      /* fault: /propsim/stop -> every API request 503, watches end */
    volatile int draining;      /* fault: /propsim/drain -> new API requests 503, open watches go on... */
    volatile double drain_end;  /* ...until this CLOCK_MONOTONIC time, then end */
    /* trace playback */
    const char *trace_path;
    double speed;
    pthread_mutex_t play_mu;
    pthread_cond_t play_cv;
    bool paused;
    long step_budget;           /* events allowed while paused (stepping) */
    unsigned long trace_events_applied;
    bool trace_done;
    char listen_host[64];
    int port;
    double bookmark_interval_s;
    bool pods_enabled;          /* create and schedule the pods of workloads */
    bool most_requested;        /* scheduler scoring: bin-packing instead of spread */
};

/* serve_http.c */
struct MHD_Daemon;
int serve_http_start(struct serve_ctx *ctx, const char *cert_pem, const char *key_pem, struct MHD_Daemon **out,
                     char *err, size_t errlen);

/* serve_pods.c: pods for workload `ns/name`, placed by the scheduler; eviction from a lost node */
int serve_reconcile_pods(struct serve_ctx *ctx, const struct kresource_def *def, const char *ns, const char *name);
int serve_evict_node(struct serve_ctx *ctx, const char *node);
void serve_retry_pending(struct serve_ctx *ctx);
/* The node lifecycle controller's taints for node `name` (serve_nodes.c): 0 or -1. */
int serve_node_lifecycle(struct serve_ctx *ctx, const char *name);
/* The same, given the node as just written (a cJSON object): reads the store only when its
 * taints are stale (the trace player's path: most events need nothing). */
int serve_node_lifecycle_for(struct serve_ctx *ctx, const void *node_json);

/* serve_cluster.c */
int serve_generate_nodes(struct serve_ctx *ctx, long n, char *err, size_t errlen);
int serve_apply_file(struct serve_ctx *ctx, const char *path, char *err, size_t errlen);
void *serve_trace_thread(void *arg);
/* Apply one watch-style event object ({"type":..,"object":..}) to the store. */
int serve_apply_event(struct serve_ctx *ctx, const char *type, const void *object_json, char *err, size_t errlen);

#endif
