/* serve_park — see serve_park.h. */
#define _DEFAULT_SOURCE
#include "serve_park.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include <microhttpd.h>

struct parked {
    struct MHD_Connection *c;
    uint64_t seen_rv;
    double deadline;
};

struct serve_park {
    struct kstore *store;
    pthread_t thread;
    pthread_mutex_t mu;
    struct parked *items; /* guarded by mu */
    size_t n, cap;
    bool stopping, wake_all, joined;
    double next_wake;     /* when the thread will look again at the latest */
    struct parked *ready; /* the thread's own: connections to resume, outside the lock */
    size_t ready_cap;
};

double serve_park_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The longest the thread sleeps without a reason: a bound on what a missed wake-up could cost. */
#define PARK_MAX_SLEEP_S 1.0

static void *park_thread(void *arg)
{
    struct serve_park *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        bool stop = p->stopping;
        uint64_t wakes = kstore_wake_count(p->store); /* before looking: a later wake is not lost */
        double now = serve_park_now();
        uint64_t current = kstore_current_rv(p->store);
        bool all = p->wake_all || stop;
        p->wake_all = false;
        double next = now + PARK_MAX_SLEEP_S;
        size_t kept = 0, n_ready = 0;
        if (p->ready_cap < p->n) { /* room to resume every one of them */
            struct parked *grown = realloc(p->ready, p->n * sizeof *grown);
            if (grown) {
                p->ready = grown;
                p->ready_cap = p->n;
            }
        }
        for (size_t i = 0; i < p->n; i++) {
            struct parked e = p->items[i];
            bool due = all || now >= e.deadline || (e.seen_rv != SERVE_PARK_ANY_RV && current > e.seen_rv);
            if (due && n_ready < p->ready_cap) {
                p->ready[n_ready++] = e;
            } else {
                p->items[kept++] = e;
                if (e.deadline < next)
                    next = due ? now : e.deadline;
            }
        }
        p->n = kept;
        p->next_wake = next;
        pthread_mutex_unlock(&p->mu);
        /* resumed outside the lock: libmicrohttpd takes its own */
        for (size_t i = 0; i < n_ready; i++)
            MHD_resume_connection(p->ready[i].c);
        if (stop && kept == 0)
            return NULL;
        if (next > now && n_ready == 0)
            kstore_wait_wakes(p->store, current, wakes, next - now);
        pthread_mutex_lock(&p->mu);
    }
}

struct serve_park *serve_park_new(struct kstore *store)
{
    struct serve_park *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->store = store;
    pthread_mutex_init(&p->mu, NULL);
    if (pthread_create(&p->thread, NULL, park_thread, p) != 0) {
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    return p;
}

void serve_park_stop(struct serve_park *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    bool joined = p->joined;
    p->stopping = true;
    p->joined = true;
    pthread_mutex_unlock(&p->mu);
    if (joined)
        return;
    kstore_wake_all(p->store);
    pthread_join(p->thread, NULL);
}

void serve_park_free(struct serve_park *p)
{
    if (!p)
        return;
    serve_park_stop(p);
    pthread_mutex_destroy(&p->mu);
    free(p->items);
    free(p->ready);
    free(p);
}

void serve_park(struct serve_park *p, struct MHD_Connection *c, uint64_t seen_rv, double deadline)
{
    pthread_mutex_lock(&p->mu);
    bool now_please = p->stopping;
    if (!now_please && p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct parked *grown = realloc(p->items, cap * sizeof *grown);
        if (grown) {
            p->items = grown;
            p->cap = cap;
        } else {
            now_please = true; /* out of memory: the connection goes on at once (and asks again) */
        }
    }
    if (!now_please) {
        p->items[p->n++] = (struct parked){c, seen_rv, deadline};
        /* the thread looks again now when this one is due before its next look (or already is) */
        bool due = deadline < p->next_wake ||
                   (seen_rv != SERVE_PARK_ANY_RV && kstore_current_rv(p->store) > seen_rv);
        pthread_mutex_unlock(&p->mu);
        if (due)
            kstore_wake_all(p->store);
        return;
    }
    pthread_mutex_unlock(&p->mu);
    MHD_resume_connection(c);
}

void serve_park_wake_all(struct serve_park *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->wake_all = true;
    pthread_mutex_unlock(&p->mu);
    kstore_wake_all(p->store);
}

size_t serve_park_count(struct serve_park *p)
{
    if (!p)
        return 0;
    pthread_mutex_lock(&p->mu);
    size_t n = p->n;
    pthread_mutex_unlock(&p->mu);
    return n;
}
