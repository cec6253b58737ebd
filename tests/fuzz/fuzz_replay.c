/* Fuzz `propsim replay`: any bytes as a trace, through the trace reader, the node set, two params
 * sets (linear and ladder), the guard, the virtual clock, the timeline rows and the summary; one
 * input in 64 runs the whole command as a user does (flags, the printed report, the chart; half of
 * those with a targets file instead of the params). It must finish (no hang on absurd times), never crash, and free what it allocates.
 * The outputs (timeline, summary, chart) are rendered in memory and dropped: a file system round
 * trip per input was the harness's cost; so were inputs whose time gaps make millions of poll
 * decisions (each the same as the one before): gaps over 500 polls (2,000 in a run) are refused
 * as a unit mix-up here, the same path as the command's 10^7 per gap (500 polls of 60 s outlast
 * every guard delay and window). The engine reads the input in place (trace_open_memory); the
 * whole command reads it from a file, as users give it (plain or gzip), on a memory file system
 * where there is one. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "replay_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *scratch = "/dev/shm";
/* --targets-file: every other whole-command run replays a targets file instead of the two --params
 * sets — three node filters (the general decoding path, one node set each), horizontal targets,
 * vertical ones in both formats (the guard on, the exponential estimator, CPVA's steps and max) */
static char targets_path[128];
static const char targets_json[] =
    "{\"targets\":[{\"kind\":\"Deployment\",\"name\":\"a\",\"namespace\":\"x\",\"replicas\":{\"linear\":"
    "{\"nodesPerReplica\":2,\"coresPerReplica\":8}}},"
    "{\"kind\":\"StatefulSet\",\"name\":\"b\",\"namespace\":\"x\",\"replicas\":{\"ladder\":{\"nodesToReplicas\":"
    "[[1,1],[3,2],[10,5]]}},\"nodes\":{\"labelSelector\":\"zone=a\"},\"vertical\":{\"threshold\":10,\"containers\":"
    "[{\"name\":\"b\",\"requests\":{\"memory\":{\"base\":\"64Mi\",\"perNode\":\"1Mi\",\"perCore\":\"0.5Mi\"}}}]}},"
    "{\"kind\":\"Deployment\",\"name\":\"c\",\"namespace\":\"x\",\"vertical\":{\"addonResizer\":[\"--cpu=10m\","
    "\"--extra-cpu=0.5m\",\"--memory=10Mi\",\"--extra-memory=1Mi\",\"--threshold=5\",\"--estimator=exponential\","
    "\"--container=c\"]}},"
    "{\"kind\":\"Deployment\",\"name\":\"d\",\"namespace\":\"x\",\"nodes\":{\"ignoreTaints\":[\"t\"],"
    "\"maxCoresPerNode\":8},\"vertical\":{\"cpva\":[{\"name\":\"d\",\"requests\":{\"cpu\":{\"base\":\"10m\","
    "\"step\":\"1m\",\"coresPerStep\":4,\"nodesPerStep\":2,\"max\":\"1\"}}}]}}]}";

/* The two params sets, parsed once: parsing them (Go's JSON re-encoding of --params) was 40% of
 * a small input's time, and it tests nothing about the trace. */
static struct params linear_params, ladder_params;
static char linear_json[] = "{\"linear\":{\"nodesPerReplica\":2,\"coresPerReplica\":8,"
                                  "\"preventSinglePointFailure\":true,\"min\":1,\"max\":500}}";
static char ladder_json[] = "{\"ladder\":{\"nodesToReplicas\":[[1,1],[3,2],[10,5]],"
                                  "\"includeUnschedulableNodes\":true}}";

static void parse_params_once(const char *json, struct params *p)
{
    struct cm_data d;
    char err[512];
    cm_data_init(&d);
    params_init(p);
    if (params_parse_default(json, strlen(json), &d, err, sizeof err) != 0 || params_from_configmap(&d, p, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_replay: the harness's own params do not parse: %s\n", err);
        abort();
    }
    cm_data_release(&d);
}

static void remove_targets_file(void) { unlink(targets_path); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (access(scratch, W_OK) != 0)
        scratch = "/tmp";
    fuzz_quiet_stdout();
    snprintf(targets_path, sizeof targets_path, "%s/fuzz-replay-targets-XXXXXX", scratch);
    if (fuzz_to_file(targets_path, (const uint8_t *)targets_json, sizeof targets_json - 1) != 0) {
        fprintf(stderr, "fuzz_replay: cannot write %s\n", targets_path);
        abort();
    }
    atexit(remove_targets_file);
    parse_params_once(linear_json, &linear_params);
    parse_params_once(ladder_json, &ladder_params);
    return 0;
}

static void report_line(void *ctx, const struct trace_report *report)
{
    (void)ctx;
    (void)report;
}

/* The engine as replay_command drives it with the same flags (--guard, --poll-period 60, no chart),
 * minus the flag parsing and the printed report. */
static void replay_engine(const uint8_t *data, size_t size)
{
    static const char path[] = "fuzz-input";
    static struct replay r;
    static const struct params *const sets[2] = {&linear_params, &ladder_params};
    char err[512];
    long bad_lines = 0;
    memset(&r, 0, sizeof r);
    r.poll = 60;
    r.max_polls_per_gap = 100;
    r.polls_left = 400;
    node_count_opts_init(&r.nopts);
    guard_opts_default(&r.gopts);
    placement_rules_init(&r.rules);
    for (int i = 0; i < 2; i++) {
        params_init(&r.sets[i].params);
        if (params_copy(&r.sets[i].params, sets[i]) != 0)
            goto done;
        snprintf(r.sets[i].label, sizeof r.sets[i].label, "set %d", i + 1);
        r.n_sets++;
    }
    nodeguard_opts_default(&r.ng_opts);
    struct trace *t = trace_open_memory(path, data, size, report_line, NULL, err, sizeof err);
    if (!t)
        goto done;
    trace_decode_nodes(t, &r.nopts);
    if (replay_begin(&r, NULL, 1, false) != 0) {
        trace_close(t);
        goto done;
    }
    if (replay_run(&r, t, path, &bad_lines) == 0) /* consumes t */
        replay_end(&r, NULL, path, bad_lines);
done:
    replay_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* one input in 64 runs the whole command, flags, chart and all, on a file (plain or gzip, as
     * users give it): the chart (its buckets and the SVG) costs twice the rest of a small input's
     * replay and depends little on the trace's shape. Chosen by a hash of the bytes, not by the
     * size: libFuzzer makes many inputs of exactly -max_len (2048 % 64 == 0 sent a third of them
     * down the slow path). */
    if (fuzz_input_hash(data, size) % 64 != 0) {
        replay_engine(data, size);
        return 0;
    }
    char in[64];
    snprintf(in, sizeof in, "%s/fuzz-replay-in-XXXXXX", scratch);
    if (fuzz_to_file(in, data, size) != 0)
        return 0;
    char *argv[] = {"replay", in, "--params", linear_json, "--params", ladder_json,
                    "--guard", "--poll-period", "60", NULL};
    char *targets_argv[] = {"replay", in, "--targets-file", targets_path, "--poll-period", "60", NULL};
    static const struct replay_command_opts opts = {.keep_outputs = false, .max_polls_per_gap = 100, .max_polls = 400};
    if (fuzz_input_hash(data, size) % 128 == 64)
        replay_command((int)(sizeof targets_argv / sizeof *targets_argv) - 1, targets_argv, &opts);
    else
        replay_command((int)(sizeof argv / sizeof *argv) - 1, argv, &opts);
    unlink(in);
    return 0;
}
