/*
 * generate — `propsim generate SCENARIO [options] -o TRACE`: synthetic cluster histories in the
 * trace format, for replays, the emulator, tests and benchmarks. Deterministic for a --seed.
 *   growth       steady growth from --start-nodes to --nodes over --duration
 *   outage       a control-plane outage: most nodes (--fraction) turn NotReady at --at, recover
 *                after --outage-duration (what a lost etcd looks like, not a real shrink)
 *   mass-delete  a node autoscaler deletes --fraction of the nodes at --at, over a minute
 *   upgrade      cordon/drain waves: batches of --batch nodes cordoned, deleted and replaced
 *   flapping     --flappers nodes toggle Ready every --period seconds; with --events, exactly
 *                that many events (benchmarks)
 */
#ifndef PROPSIM_GENERATE_H
#define PROPSIM_GENERATE_H

int generate_main(int argc, char **argv);

#endif
