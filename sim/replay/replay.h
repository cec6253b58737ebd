/*
 * replay — `propsim replay`: a recorded cluster history through the decision core, offline.
 *
 * A virtual clock visits every event (events sharing a timestamp are one decision point, like
 * the controller's coalescing) and every poll period; at each decision point every params set
 * decides, and its simulated target records an action whenever the answer changes — the writes
 * the live controller would make. Outputs in --out DIR: timeline.csv, timeline.jsonl (a row per
 * decision point), summary.json, chart.svg. Memory is the node set plus fixed-size state: the
 * timeline streams to disk and the chart accumulates in fixed-size time buckets (replaychart).
 * Exit codes: 0 ok, 1 the trace could not be read, 2 usage or params error.
 */
#ifndef PROPSIM_REPLAY_H
#define PROPSIM_REPLAY_H

int replay_main(int argc, char **argv);

#endif
