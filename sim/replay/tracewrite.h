/*
 * tracewrite — write trace events (DESIGN.md format) to a file, gzip-compressed when the name
 * ends in .gz, with trimmed Node objects: kind, name and hostname label, cordon, allocatable CPU
 * (in millicores) and the Ready condition.
 *
 * Ownership: tracewriter_open()/tracewriter_close(); close reports write errors.
 */
#ifndef PROPSIM_TRACEWRITE_H
#define PROPSIM_TRACEWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tracewriter;

struct tracewriter *tracewriter_open(const char *path, char *err, size_t errlen);
/* cpu_milli < 0: no allocatable CPU. */
int tracewriter_node(struct tracewriter *w, double t, const char *type, const char *name, int64_t cpu_milli,
                     bool ready, bool cordoned);
/* Any event with its object as given (compact JSON). */
int tracewriter_raw(struct tracewriter *w, double t, const char *type, const char *object_json);
int tracewriter_close(struct tracewriter *w, char *err, size_t errlen);
unsigned long tracewriter_count(const struct tracewriter *w);

#endif
