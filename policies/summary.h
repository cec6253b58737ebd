/*
 * summary — the cluster numbers every scaling rule reads (CPA's ClusterStatus).
 *
 * Cores are whole cores: the ceiling of the exact sum of allocatable CPU, rounded once at the
 * end (3 nodes x "1500m" -> 5), as CPA does. Plain value type; no ownership.
 */
#ifndef PROPSCALER_SUMMARY_H
#define PROPSCALER_SUMMARY_H

#include <stdint.h>

struct cluster_summary {
    int64_t total_nodes;
    int64_t schedulable_nodes;
    int64_t total_cores;
    int64_t schedulable_cores;
    int64_t ready_nodes;       /* condition Ready=True (cordoned or not): the guard's NotReady share */
};

#endif
