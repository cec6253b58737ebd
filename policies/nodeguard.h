/*
 * nodeguard — the 50% rule for the autoscalers that remove nodes: may this node be removed now?
 *
 * cluster-autoscaler and Karpenter mark a node (a taint) before they drain it and delete the
 * machine; during a control-plane outage every node looks unhealthy and they would remove most of
 * the cluster. The rule: the nodes removed or marked for removal within `window` seconds may not
 * exceed max_node_loss (a share) of the window's high-water mark of nodes — removing exactly that
 * share is allowed, one more is refused — unless they are no more than min_absolute (small
 * clusters are never frozen). And nothing is removed while more than that share of the nodes is
 * NotReady at once (what an outage looks like). The window restarts (the high-water mark from the
 * current count, the removals forgotten) when no removal has happened for `settle` seconds: a
 * shrink that went slowly enough is real. An operator override restarts it at once.
 *
 * Pure: time is an argument; the caller serialises calls (the controller holds a mutex: the
 * webhook's HTTP thread decides, the watch loop observes). State is caller-owned; the removal
 * list grows with the removals of one window and is capped (NODEGUARD_MAX_REMOVALS: past it every
 * removal is refused, which the reason says).
 */
#ifndef PROPSCALER_NODEGUARD_H
#define PROPSCALER_NODEGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NODEGUARD_SAMPLES 512
#define NODEGUARD_MAX_REMOVALS 100000

struct nodeguard_opts {
    double max_node_loss; /* share, default 0.5 (the guard's --guard-max-node-loss) */
    double window_s;      /* default 600 (--guard-window) */
    double settle_s;      /* default 600 (--guard-settle) */
    int64_t min_absolute; /* default 3 */
};

struct nodeguard_removal {
    char *name; /* the node's name (or KIND/NAME when the object names no node) */
    double t;
};

struct nodeguard_state {
    double t[NODEGUARD_SAMPLES]; /* node counts over the window, for the high-water mark */
    int64_t n[NODEGUARD_SAMPLES];
    int head, count;
    double floor_t;              /* samples and removals before this are forgotten */
    int64_t nodes, ready;        /* the last observation */
    bool observed;
    struct nodeguard_removal *removed;
    size_t n_removed, cap_removed;
    double last_removal_t;
    unsigned long admitted, refused, warned; /* for metrics */
};

enum nodeguard_verdict { NODEGUARD_ALLOW, NODEGUARD_REFUSE };

/* What a decision saw, for the reason, the metrics and the replay's timeline. */
struct nodeguard_numbers {
    int64_t high_water;  /* nodes, the window's high-water mark */
    int64_t removed;     /* removed or marked within the window, this one included when allowed */
    int64_t budget;      /* how many may be: max(floor(share x high_water), min_absolute) */
    int64_t nodes, notready;
    bool repeat;         /* the name was already counted in the window (a mark, then its delete) */
    bool outage;         /* more than the share of the nodes NotReady: every removal is refused */
};

void nodeguard_opts_default(struct nodeguard_opts *o);
void nodeguard_init(struct nodeguard_state *g);
void nodeguard_release(struct nodeguard_state *g);

/* The node set changed: `nodes` counted, `ready` of them Ready. */
void nodeguard_observe(struct nodeguard_state *g, const struct nodeguard_opts *o, double now, int64_t nodes,
                       int64_t ready);
/* A node left without asking (seen in the watch): it counts against the window like a removal. */
void nodeguard_node_gone(struct nodeguard_state *g, const struct nodeguard_opts *o, double now, const char *name);
/* A removal recorded elsewhere (another replica, through the shared ledger) or admitted here at
 * time t: counted in the window unless it is older than the window or its restart. Kept in time
 * order whatever the order of the calls. */
void nodeguard_note_removal(struct nodeguard_state *g, const struct nodeguard_opts *o, double now, const char *name,
                            double t);
/* The removals counted in the window, oldest first (for the shared ledger). */
size_t nodeguard_removals(struct nodeguard_state *g, const struct nodeguard_opts *o, double now,
                          const struct nodeguard_removal **out);
/* A node (re)joined: a removal of that name no longer counts. */
void nodeguard_node_back(struct nodeguard_state *g, const char *name);
/* An operator override: the window restarts now, from the current count. */
void nodeguard_override(struct nodeguard_state *g, double now);

/* May `name` be removed (deleted, or marked for removal) now? A name already counted in the
 * window is allowed again (cluster-autoscaler marks, then deletes). `node_override`: the node
 * carries the per-node annotation for one deliberate removal (allowed, still counted). `record`:
 * count an allowed removal (false for dry-run requests and warn mode's refusals). The reason is
 * one line with the numbers and, for a refusal, the way to override. */
enum nodeguard_verdict nodeguard_decide(struct nodeguard_state *g, const struct nodeguard_opts *o, double now,
                                        const char *name, bool node_override, bool record,
                                        struct nodeguard_numbers *out, char *reason, size_t len);

/* The same rule for K removals at once from a cluster of `nodes` (`ready` of them Ready) with no
 * removal before (`propsim guard` for runbooks): NODEGUARD_ALLOW when all K may go. */
enum nodeguard_verdict nodeguard_check_batch(const struct nodeguard_opts *o, int64_t nodes, int64_t ready, int64_t remove,
                                             struct nodeguard_numbers *out);

/* The current numbers without deciding (for /metrics). */
void nodeguard_numbers(struct nodeguard_state *g, const struct nodeguard_opts *o, double now,
                       struct nodeguard_numbers *out);

#endif
