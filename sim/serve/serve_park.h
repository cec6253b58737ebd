/*
 * serve_park — connections of propsim serve that wait, without a thread each.
 *
 * libmicrohttpd serves every connection from a small pool of threads, so nothing may block in
 * its callbacks. A connection that has to wait — a watch with nothing to send, a request held by
 * the latency fault, an answer held by the answer-delay fault — is suspended by its callback
 * (MHD_suspend_connection) and parked here; one parking thread resumes it when the store's
 * visible resourceVersion passes what the connection has seen, when its deadline comes, or when
 * everything is woken (a fault changed, the server drains or stops). A resumed watch looks at the
 * store again and parks again if there is still nothing for it: 1,000 idle watchers cost 1,000
 * small entries, not 1,000 threads.
 *
 * Thread-safe. Ownership: serve_park_new(); serve_park_stop() before MHD_stop_daemon,
 * serve_park_free() after it.
 */
#ifndef PROPSIM_SERVE_PARK_H
#define PROPSIM_SERVE_PARK_H

#include <stdint.h>

#include "kstore.h"

struct MHD_Connection;
struct serve_park;

/* The parking thread, started; NULL when it cannot start. */
struct serve_park *serve_park_new(struct kstore *store);
/* Resume every parked connection and stop the thread; from then on a connection parked is
 * resumed at once. Call before MHD_stop_daemon (which must not find a connection suspended). */
void serve_park_stop(struct serve_park *p);
/* Stop (if not yet) and free: after MHD_stop_daemon, when no callback can park any more. */
void serve_park_free(struct serve_park *p);

/* Park `c`, which the caller has just suspended, until the store's visible resourceVersion is
 * above seen_rv (SERVE_PARK_ANY_RV: the store does not matter) or CLOCK_MONOTONIC reaches
 * `deadline` (seconds), whichever comes first. After serve_park_free has begun, `c` is resumed
 * at once. */
#define SERVE_PARK_ANY_RV UINT64_MAX
void serve_park(struct serve_park *p, struct MHD_Connection *c, uint64_t seen_rv, double deadline);
/* Resume everything parked now: what a connection waits for has changed (faults, drain, stop). */
void serve_park_wake_all(struct serve_park *p);
/* How many connections are parked (for /propsim/stats). */
size_t serve_park_count(struct serve_park *p);

/* CLOCK_MONOTONIC in seconds: the clock of the deadlines. */
double serve_park_now(void);

#endif
