#include "ladder.h"

int64_t ladder_lookup(const struct ladder_step *steps, size_t n, int64_t count)
{
    if (n == 0)
        return 0;
    /* First step whose threshold exceeds count (binary search, like Go's sort.Search). */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (count < steps[mid].threshold)
            hi = mid;
        else
            lo = mid + 1;
    }
    return steps[lo > 0 ? lo - 1 : 0].replicas;
}

void ladder_compute(const struct ladder_params *p, const struct cluster_summary *s, struct replica_calc *out)
{
    out->mode = PARAMS_LADDER;
    out->used_total = p->include_unschedulable_nodes;
    out->nodes = out->used_total ? s->total_nodes : s->schedulable_nodes;
    out->cores = out->used_total ? s->total_cores : s->schedulable_cores;
    out->flags = 0;
    out->from_cores = ladder_lookup(p->cores_to_replicas, p->n_cores, out->cores);
    out->from_nodes = ladder_lookup(p->nodes_to_replicas, p->n_nodes, out->nodes);
    if (p->n_cores == 0 && p->n_nodes == 0)
        out->flags |= RC_EMPTY_LADDER;
    int64_t r = out->from_cores > out->from_nodes ? out->from_cores : out->from_nodes;
    if (r > INT32_MAX) {
        r = INT32_MAX;
        out->flags |= RC_SATURATED;
    }
    out->replicas = (int32_t)r;
}
