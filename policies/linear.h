/*
 * linear — CPA's linear rule, bit for bit:
 *   f(res, per) = per == 0 ? 1 : max(min, max ? fmin(max, ceil(res / per)) : ceil(res / per))
 *   replicas    = max(f(cores, coresPerReplica), f(nodes, nodesPerReplica) [raised to 2 by
 *                 preventSinglePointFailure when nodes > 1])
 * in IEEE doubles (21 nodes / 0.7 is 31, as in Go). Pure.
 */
#ifndef PROPSCALER_LINEAR_H
#define PROPSCALER_LINEAR_H

#include "replicas.h"

void linear_compute(const struct linear_params *p, const struct cluster_summary *s,
                    const struct policy_opts *opts, struct replica_calc *out);

#endif
