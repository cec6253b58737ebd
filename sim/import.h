/*
 * import — `propsim import FORMAT FILE -o TRACE`: convert real cluster histories into the trace
 * format (DESIGN.md). Formats: google2011 (the Google cluster-data 2011 machine_events table).
 * Bad rows are reported with their line numbers, counted, and skipped; never silently dropped.
 * Exit codes: 0 ok (even with bad rows: they are reported), 1 unreadable input or unwritable
 * output, 2 usage.
 */
#ifndef PROPSIM_IMPORT_H
#define PROPSIM_IMPORT_H

int import_main(int argc, char **argv);

#endif
