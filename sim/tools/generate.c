#define _DEFAULT_SOURCE /* getopt_long */
#include "generate.h"

#include <getopt.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"
#include "tracewrite.h"

struct gen {
    long nodes, start_nodes, flappers, batch, events;
    double duration, at, fraction, outage_duration, period, interval;
    int64_t cpu_milli;
    unsigned seed;
    struct tracewriter *w;
    struct progress progress; /* on stderr when it is a terminal; of --events when given */
};

static unsigned next_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void name_of(long i, char *out, size_t len) { snprintf(out, len, "node-%06ld", i); }

static int add(struct gen *g, double t, long i, const char *type, bool ready, bool cordon)
{
    char name[32];
    name_of(i, name, sizeof name);
    if (g->progress.on) {
        uint64_t n = tracewriter_count(g->w);
        progress_tick(&g->progress, n, n, g->events > 0 ? (uint64_t)g->events : 0);
    }
    return tracewriter_node(g->w, t, type, name, g->cpu_milli, ready, cordon);
}

static int initial(struct gen *g, long n)
{
    for (long i = 0; i < n; i++)
        if (add(g, 0, i, "ADDED", true, false) != 0)
            return -1;
    return 0;
}

static int gen_growth(struct gen *g)
{
    if (initial(g, g->start_nodes) != 0)
        return -1;
    long grow = g->nodes - g->start_nodes;
    for (long k = 0; k < grow; k++) {
        double t = g->duration * (double)(k + 1) / (double)grow;
        if (add(g, t, g->start_nodes + k, "ADDED", true, false) != 0)
            return -1;
    }
    return 0;
}

static int gen_outage(struct gen *g)
{
    if (initial(g, g->nodes) != 0)
        return -1;
    long affected = (long)(g->fraction * (double)g->nodes);
    /* all within 10 s: the kubelets lose the API server at once */
    for (long i = 0; i < affected; i++)
        if (add(g, g->at + 10.0 * (double)i / (double)(affected ? affected : 1), i, "MODIFIED", false, false) != 0)
            return -1;
    double back = g->at + g->outage_duration;
    for (long i = 0; i < affected; i++)
        if (add(g, back + 20.0 * (double)i / (double)(affected ? affected : 1), i, "MODIFIED", true, false) != 0)
            return -1;
    /* a quiet tail so replays see the recovered state settle */
    return add(g, back + 20 + g->duration, g->nodes - 1, "MODIFIED", true, false);
}

static int gen_mass_delete(struct gen *g)
{
    if (initial(g, g->nodes) != 0)
        return -1;
    long gone = (long)(g->fraction * (double)g->nodes);
    for (long i = 0; i < gone; i++)
        if (add(g, g->at + 60.0 * (double)i / (double)(gone ? gone : 1), i, "DELETED", true, false) != 0)
            return -1;
    return add(g, g->at + 60 + g->duration, g->nodes - 1, "MODIFIED", true, false);
}

static int gen_upgrade(struct gen *g)
{
    if (initial(g, g->nodes) != 0)
        return -1;
    long next_id = g->nodes;
    double t = g->at;
    for (long start = 0; start < g->nodes; start += g->batch) {
        long end = start + g->batch < g->nodes ? start + g->batch : g->nodes;
        for (long i = start; i < end; i++) /* cordon the wave */
            if (add(g, t + 0.1 * (double)(i - start), i, "MODIFIED", true, true) != 0)
                return -1;
        t += g->interval / 2; /* drained */
        for (long i = start; i < end; i++) {
            if (add(g, t + 0.1 * (double)(i - start), i, "DELETED", true, true) != 0)
                return -1;
            if (add(g, t + 0.1 * (double)(i - start) + 0.05, next_id++, "ADDED", true, false) != 0)
                return -1;
        }
        t += g->interval / 2;
    }
    return 0;
}

static int gen_flapping(struct gen *g)
{
    if (initial(g, g->nodes) != 0)
        return -1;
    long flappers = g->flappers < g->nodes ? g->flappers : g->nodes;
    if (flappers <= 0)
        flappers = 1;
    bool *down = calloc((size_t)flappers, sizeof *down);
    if (!down)
        return -1;
    long emitted = g->nodes;
    double t = g->at;
    int rc = 0;
    /* each period, every flapper changes state; with --events, stop at exactly that many */
    while (rc == 0) {
        for (long k = 0; k < flappers && rc == 0; k++) {
            if (g->events > 0 ? emitted >= g->events : t > g->at + g->duration)
                goto out;
            long i = (long)(next_rand(&g->seed) % (unsigned long)g->nodes) % flappers;
            down[i] = !down[i];
            rc = add(g, t + g->period * (double)k / (double)flappers, i, "MODIFIED", !down[i], false);
            emitted++;
        }
        t += g->period;
    }
out:
    free(down);
    return rc;
}

static void usage(FILE *out)
{
    fputs("usage: propsim generate SCENARIO [options] -o TRACE.jsonl[.gz]\n"
          "scenarios: growth, outage, mass-delete, upgrade, flapping\n"
          "  --nodes N            cluster size (growth: the final size; default 2500)\n"
          "  --start-nodes N      growth: initial size (default 3)\n"
          "  --duration S         growth: time to grow; others: quiet time after the event (default 3600)\n"
          "  --at S               when the outage / deletion / first wave / flapping starts (default 600)\n"
          "  --fraction F         outage: share of nodes turning NotReady (0.9); mass-delete: share deleted (0.5)\n"
          "  --outage-duration S  outage: how long the nodes stay NotReady (default 300)\n"
          "  --batch N            upgrade: nodes per wave (default: 10% of the nodes)\n"
          "  --interval S         upgrade: seconds per wave (default 120)\n"
          "  --flappers N         flapping: nodes that flap (default 10)\n"
          "  --period S           flapping: seconds between state changes of a flapper (default 30)\n"
          "  --events N           flapping: stop after exactly N events (benchmarks)\n"
          "  --cpu Q              allocatable cpu per node in millicores (default 3920)\n"
          "  --seed N             random seed (default 1)\n"
          "Counts are whole numbers up to 1,000,000 nodes (events: 10^10), times finite and under 100 years.\n",
          out);
}

/* Limits on generated traces: far past any real cluster, short of exhausting the machine. */
#define MAX_NODES 1000000
#define MAX_EVENTS 1e10
#define MAX_SECONDS (100 * 365 * 86400.0)

/* A flag's number was all of arg, finite, and within [lo, hi]. */
static bool whole(const char *arg, const char *end, double v, double lo, double hi)
{
    return end != arg && *end == '\0' && isfinite(v) && v >= lo && v <= hi;
}

int generate_main(int argc, char **argv)
{
    enum { O_NODES = 256, O_START, O_DURATION, O_AT, O_FRACTION, O_OUTAGE, O_BATCH, O_INTERVAL, O_FLAPPERS, O_PERIOD,
           O_EVENTS, O_CPU, O_SEED, O_OUT, O_HELP };
    static const struct option longopts[] = {
        {"nodes", required_argument, NULL, O_NODES}, {"start-nodes", required_argument, NULL, O_START},
        {"duration", required_argument, NULL, O_DURATION}, {"at", required_argument, NULL, O_AT},
        {"fraction", required_argument, NULL, O_FRACTION}, {"outage-duration", required_argument, NULL, O_OUTAGE},
        {"batch", required_argument, NULL, O_BATCH}, {"interval", required_argument, NULL, O_INTERVAL},
        {"flappers", required_argument, NULL, O_FLAPPERS}, {"period", required_argument, NULL, O_PERIOD},
        {"events", required_argument, NULL, O_EVENTS}, {"cpu", required_argument, NULL, O_CPU},
        {"seed", required_argument, NULL, O_SEED}, {"output", required_argument, NULL, O_OUT},
        {"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0},
    };
    struct gen g = {.nodes = 2500, .start_nodes = 3, .duration = 3600, .at = 600, .fraction = -1, .outage_duration = 300,
                    .batch = 0, .interval = 120, .flappers = 10, .period = 30, .cpu_milli = 3920, .seed = 1};
    const char *out = NULL;
    optind = 1;
    int opt;
    char *end = NULL;
    bool bad = false;
    while ((opt = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (opt) {
        case O_NODES: g.nodes = strtol(optarg, &end, 10); bad |= !whole(optarg, end, (double)g.nodes, 1, MAX_NODES); break;
        case O_START: g.start_nodes = strtol(optarg, &end, 10); bad |= !whole(optarg, end, (double)g.start_nodes, 0, MAX_NODES); break;
        case O_DURATION: g.duration = strtod(optarg, &end); bad |= !whole(optarg, end, g.duration, 0, MAX_SECONDS); break;
        case O_AT: g.at = strtod(optarg, &end); bad |= !whole(optarg, end, g.at, 0, MAX_SECONDS); break;
        case O_FRACTION: g.fraction = strtod(optarg, &end); bad |= !whole(optarg, end, g.fraction, 0, 1); break;
        case O_OUTAGE: g.outage_duration = strtod(optarg, &end); bad |= !whole(optarg, end, g.outage_duration, 0, MAX_SECONDS); break;
        case O_BATCH: g.batch = strtol(optarg, &end, 10); bad |= !whole(optarg, end, (double)g.batch, 1, MAX_NODES); break;
        case O_INTERVAL: g.interval = strtod(optarg, &end); bad |= !whole(optarg, end, g.interval, 1e-6, MAX_SECONDS); break;
        case O_FLAPPERS: g.flappers = strtol(optarg, &end, 10); bad |= !whole(optarg, end, (double)g.flappers, 1, MAX_NODES); break;
        case O_PERIOD: g.period = strtod(optarg, &end); bad |= !whole(optarg, end, g.period, 1e-6, MAX_SECONDS); break;
        case O_EVENTS: g.events = strtol(optarg, &end, 10); bad |= !whole(optarg, end, (double)g.events, 1, MAX_EVENTS); break;
        case O_CPU: g.cpu_milli = strtol(optarg, &end, 10); bad |= !whole(optarg, end, (double)g.cpu_milli, 0, 1e9); break;
        case O_SEED: g.seed = (unsigned)strtoul(optarg, &end, 10); bad |= *end; break;
        case 'o':
        case O_OUT: out = optarg; break;
        case 'h':
        case O_HELP: usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (bad) {
            fprintf(stderr, "propsim generate: bad value \"%s\" for --%s (see --help for the ranges)\n",
                    optarg, longopts[opt - O_NODES].name);
            return 2;
        }
    }
    if (argc - optind != 1 || !out) {
        fprintf(stderr, "propsim generate: give a SCENARIO and -o TRACE\n");
        usage(stderr);
        return 2;
    }
    const char *scenario = argv[optind];
    if (g.start_nodes > g.nodes)
        g.start_nodes = g.nodes;
    if (g.batch == 0)
        g.batch = g.nodes / 10 > 0 ? g.nodes / 10 : 1;
    int (*fn)(struct gen *) = NULL;
    if (strcmp(scenario, "growth") == 0)
        fn = gen_growth;
    else if (strcmp(scenario, "outage") == 0) {
        fn = gen_outage;
        if (g.fraction < 0)
            g.fraction = 0.9;
    } else if (strcmp(scenario, "mass-delete") == 0) {
        fn = gen_mass_delete;
        if (g.fraction < 0)
            g.fraction = 0.5;
    } else if (strcmp(scenario, "upgrade") == 0)
        fn = gen_upgrade;
    else if (strcmp(scenario, "flapping") == 0)
        fn = gen_flapping;
    if (!fn) {
        fprintf(stderr, "propsim generate: unknown scenario \"%s\"; use growth, outage, mass-delete, upgrade or flapping\n",
                scenario);
        return 2;
    }
    char err[512];
    g.w = tracewriter_open(out, err, sizeof err);
    if (!g.w) {
        fprintf(stderr, "propsim generate: %s\n", err);
        return 1;
    }
    progress_init(&g.progress, "propsim generate", "events");
    int rc = fn(&g);
    progress_end(&g.progress);
    unsigned long n = tracewriter_count(g.w);
    if (tracewriter_close(g.w, err, sizeof err) != 0 || rc != 0) {
        fprintf(stderr, "propsim generate: %s\n", rc ? "writing the trace failed" : err);
        return 1;
    }
    printf("generated %s: %lu events -> %s\n", scenario, n, out);
    return 0;
}
