#include "linear.h"

#include <math.h>

/* Go's int(float64) of an in-range value, saturating instead of wrapping. */
static int64_t to_count(double v)
{
    if (v >= 9.2e18)
        return INT64_MAX;
    return (int64_t)v;
}

static double per_resource(const struct linear_params *p, int64_t res, double per, unsigned *flags)
{
    if (per == 0)
        return 1;
    double r = ceil((double)res / per);
    if (p->max != 0 && (double)p->max < r) {
        r = (double)p->max;
        *flags |= RC_CLAMPED_MAX;
    }
    if ((double)p->min > r) {
        r = (double)p->min;
        *flags |= RC_RAISED_MIN;
    }
    return r;
}

void linear_compute(const struct linear_params *p, const struct cluster_summary *s,
                    const struct policy_opts *opts, struct replica_calc *out)
{
    out->mode = PARAMS_LINEAR;
    out->used_total = p->include_unschedulable_nodes;
    out->nodes = out->used_total ? s->total_nodes : s->schedulable_nodes;
    out->cores = out->used_total ? s->total_cores : s->schedulable_cores;
    out->flags = 0;

    int64_t rc = to_count(per_resource(p, out->cores, p->cores_per_replica, &out->flags));
    int64_t rn = to_count(per_resource(p, out->nodes, p->nodes_per_replica, &out->flags));
    if (p->prevent_single_point_failure && out->nodes > 1 && rn < 2) {
        rn = 2;
        out->flags |= RC_SPOF_APPLIED;
        if (opts && opts->spof_respects_max && p->max != 0 && p->max < rn) {
            rn = p->max;
            out->flags |= RC_SPOF_LIMITED_BY_MAX;
        }
    }
    out->from_cores = rc;
    out->from_nodes = rn;
    int64_t r = rc > rn ? rc : rn;
    if (r > INT32_MAX) {
        r = INT32_MAX;
        out->flags |= RC_SATURATED;
    }
    out->replicas = (int32_t)r;
}
