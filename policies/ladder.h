/*
 * ladder — CPA's ladder rule: for each of cores and nodes, the replicas of the last step whose
 * threshold <= the count (the first step's replicas below the first threshold, 0 for an empty
 * ladder); the answer is the larger of the two. Steps must be sorted (params does it). Pure.
 */
#ifndef PROPSCALER_LADDER_H
#define PROPSCALER_LADDER_H

#include <stddef.h>

#include "replicas.h"

int64_t ladder_lookup(const struct ladder_step *steps, size_t n, int64_t count);

void ladder_compute(const struct ladder_params *p, const struct cluster_summary *s, struct replica_calc *out);

#endif
