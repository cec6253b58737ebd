#include "replicas.h"

#include <stdio.h>
#include <string.h>

#include "gojson.h"
#include "ladder.h"
#include "linear.h"

int replicas_compute(const struct params *p, const struct cluster_summary *s,
                     const struct policy_opts *opts, struct replica_calc *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    switch (p->mode) {
    case PARAMS_LINEAR:
        linear_compute(&p->linear, s, opts, out);
        return 0;
    case PARAMS_LADDER:
        if (opts && opts->refuse_empty_ladder && p->ladder.n_cores == 0 && p->ladder.n_nodes == 0) {
            snprintf(err, errlen, "ladder params have no coresToReplicas and no nodesToReplicas entries, "
                                  "which would scale the target to 0; add entries (or allow it by "
                                  "turning off refuse-empty-ladder)");
            return -1;
        }
        ladder_compute(&p->ladder, s, out);
        return 0;
    default:
        snprintf(err, errlen, "no params loaded");
        return -1;
    }
}

void replicas_explain(const struct params *p, const struct replica_calc *c, char *out, size_t outlen)
{
    const char *basis = c->used_total ? "all" : "schedulable";
    if (c->mode == PARAMS_LINEAR) {
        char cores_part[96], nodes_part[96];
        char per[40];
        if (p->linear.cores_per_replica == 0) {
            snprintf(cores_part, sizeof cores_part, "cores: coresPerReplica unset -> 1");
        } else {
            gj_format_float_v(p->linear.cores_per_replica, per, sizeof per);
            snprintf(cores_part, sizeof cores_part, "cores %lld/%s -> %lld", (long long)c->cores, per,
                     (long long)c->from_cores);
        }
        if (p->linear.nodes_per_replica == 0 && !(c->flags & RC_SPOF_APPLIED)) {
            snprintf(nodes_part, sizeof nodes_part, "nodes: nodesPerReplica unset -> 1");
        } else if (p->linear.nodes_per_replica == 0) {
            snprintf(nodes_part, sizeof nodes_part, "nodes: nodesPerReplica unset -> %lld", (long long)c->from_nodes);
        } else {
            gj_format_float_v(p->linear.nodes_per_replica, per, sizeof per);
            snprintf(nodes_part, sizeof nodes_part, "nodes %lld/%s -> %lld", (long long)c->nodes, per,
                     (long long)c->from_nodes);
        }
        snprintf(out, outlen, "linear: max(%s, %s%s) = %d (%s nodes and cores; min %lld, max %lld%s%s)",
                 cores_part, nodes_part,
                 (c->flags & RC_SPOF_APPLIED) ? " after preventSinglePointFailure" : "", c->replicas, basis,
                 (long long)p->linear.min, (long long)p->linear.max, p->linear.max == 0 ? " = unbounded" : "",
                 (c->flags & RC_SATURATED) ? "; saturated at 2147483647" : "");
    } else {
        snprintf(out, outlen, "ladder: max(cores %lld -> %lld, nodes %lld -> %lld) = %d (%s nodes and cores%s)",
                 (long long)c->cores, (long long)c->from_cores, (long long)c->nodes, (long long)c->from_nodes,
                 c->replicas, basis,
                 (c->flags & RC_EMPTY_LADDER) ? "; WARNING: empty ladder scales the target to zero" : "");
    }
}
