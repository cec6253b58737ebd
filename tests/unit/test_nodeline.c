/* The canonical-line fast path (policies/nodeline) against the general decoder (nodeline_ref.h):
 * every line the trace writer produces takes the fast path and decodes identically under every
 * counting option; near misses are declined; random mutations never make the two disagree; t is
 * the very double strtod gives. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nodeline.h"
#include "nodeline_ref.h"
#include "selector.h"
#include "tracewrite.h"
#include "test_rng.h"

/* Counting options the fast path must honour exactly as node_decode does. */
struct optset {
    struct node_count_opts opts;
    struct selector *sel;
};

static const char *selectors[] = {"kubernetes.io/hostname in (node-1,node-3)", "kubernetes.io/hostname", "!kubernetes.io/hostname",
                                  "role=infra", "kubernetes.io/hostname!=node-2"};
#define N_OPTSETS (4 + sizeof selectors / sizeof *selectors)

static void optsets_init(struct optset *o)
{
    char err[256];
    memset(o, 0, N_OPTSETS * sizeof *o);
    for (size_t i = 0; i < N_OPTSETS; i++)
        node_count_opts_init(&o[i].opts);
    o[1].opts.legacy_schedulable = true;
    o[2].opts.max_nano_per_node = 2000000000; /* 2 cores */
    assert_int_equal(node_count_opts_add_taint(&o[3].opts, "virtual-kubelet.io/provider:NoSchedule", err, sizeof err), 0);
    for (size_t i = 0; i < sizeof selectors / sizeof *selectors; i++) {
        assert_int_equal(selector_parse(selectors[i], &o[4 + i].sel, err, sizeof err), 0);
        o[4 + i].opts.selector = o[4 + i].sel;
    }
}

static void optsets_release(struct optset *o)
{
    for (size_t i = 0; i < N_OPTSETS; i++) {
        node_count_opts_release(&o[i].opts);
        selector_free(o[i].sel);
    }
}

/* The contract for one line under one option set: when the fast path accepts, the reference
 * accepts too and agrees. Returns the fast path's answer. */
static int check_line(const char *line, size_t len, const struct node_count_opts *opts)
{
    struct nodeline fast, ref;
    int got = nodeline_decode(line, len, opts, &fast);
    assert_true(got == 0 || got == 1);
    if (got == 1) {
        if (nodeline_reference(line, len, opts, &ref) != 0 || !nodeline_equal(&fast, &ref)) {
            fprintf(stderr, "fast path and JSON decoding disagree on: %.*s\n", (int)len, line);
            fail();
        }
    }
    return got;
}

static int check_all_opts(const char *line, size_t len, struct optset *o)
{
    int first = check_line(line, len, NULL);
    for (size_t i = 0; i < N_OPTSETS; i++)
        assert_int_equal(check_line(line, len, &o[i].opts), first); /* options never change the form */
    return first;
}

/* Lines from the real trace writer, read back from its file. */
static char *write_lines(size_t *len_out)
{
    char path[] = "/tmp/test-nodeline-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char err[256];
    struct tracewriter *w = tracewriter_open(path, err, sizeof err);
    assert_non_null(w);
    static const char *names[] = {"node-1", "node-2", "node-3", "gke-pool-a-1b2c3d-xyz", "ip-10-0-12-34.ec2.internal",
                                  "n\xc3\xa9ud-\xe2\x82\xac", "x"};
    static const int64_t cpus[] = {-1, 0, 1, 250, 3920, 96000, 2000, 2001, 9223372036854};
    static const double ts[] = {0, 0.5, 1.25, 600, 2506130.123456, 86399.999999, 1e9 + 0.000001, 123456789.012345};
    static const char *types[] = {"ADDED", "MODIFIED", "DELETED"};
    size_t k = 0;
    for (size_t ni = 0; ni < sizeof names / sizeof *names; ni++)
        for (size_t ci = 0; ci < sizeof cpus / sizeof *cpus; ci++)
            for (int flags = 0; flags < 4; flags++) {
                const char *type = types[k % 3];
                double t = ts[k % (sizeof ts / sizeof *ts)];
                assert_int_equal(tracewriter_node(w, t, type, names[ni], cpus[ci], flags & 1, flags & 2), 0);
                k++;
            }
    char long_name[NODE_NAME_MAX + 1];
    memset(long_name, 'a', NODE_NAME_MAX);
    long_name[NODE_NAME_MAX] = '\0';
    assert_int_equal(tracewriter_node(w, 7, "ADDED", long_name, 4000, true, false), 0);
    assert_int_equal(tracewriter_close(w, err, sizeof err), 0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *text = calloc(1, 1 << 20);
    assert_non_null(text);
    *len_out = fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    unlink(path);
    return text;
}

static void test_writer_lines_take_the_fast_path(void **state)
{
    (void)state;
    struct optset o[N_OPTSETS];
    optsets_init(o);
    size_t len;
    char *text = write_lines(&len);
    size_t lines = 0;
    for (char *p = text, *nl; (nl = memchr(p, '\n', len - (size_t)(p - text))) != NULL; p = nl + 1) {
        assert_int_equal(check_all_opts(p, (size_t)(nl - p), o), 1);
        lines++;
    }
    assert_int_equal(lines, 7 * 9 * 4 + 1);
    free(text);
    optsets_release(o);
}

static void test_decoded_values(void **state)
{
    (void)state;
    struct nodeline nl;
    const char *l = "{\"t\":12.5,\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\","
                    "\"labels\":{\"kubernetes.io/hostname\":\"n1\"}},\"spec\":{\"unschedulable\":true},\"status\":{\"allocatable\":"
                    "{\"cpu\":\"3920m\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}}";
    assert_int_equal(nodeline_decode(l, strlen(l), NULL, &nl), 1);
    assert_true(nl.t == 12.5);
    assert_int_equal(nl.type, WEV_MODIFIED);
    assert_string_equal(nl.node.name, "n1");
    assert_true(nl.node.has_cpu);
    assert_int_equal(nl.node.cpu_nano, 3920000000);
    assert_true(nl.node.unschedulable && nl.node.ready && !nl.node.schedulable && nl.node.counted);
    const char *d = "{\"t\":3,\"type\":\"DELETED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\"}}}";
    assert_int_equal(nodeline_decode(d, strlen(d), NULL, &nl), 1);
    assert_int_equal(nl.type, WEV_DELETED);
    assert_string_equal(nl.node.name, "n1");
    assert_true(nl.t == 3.0);
}

/* Each of these differs from the canonical form and must be left to the general decoder (which
 * may accept it, reject it with a message, or decode it differently: e.g. a duplicate key). */
static void test_near_misses_are_declined(void **state)
{
    (void)state;
    struct optset o[N_OPTSETS];
    optsets_init(o);
#define HEAD "{\"t\":1,\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\""
#define LABELS ",\"labels\":{\"kubernetes.io/hostname\":\"n1\"}}"
#define REST ",\"spec\":{},\"status\":{\"allocatable\":{\"cpu\":\"4\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}}"
    static const char *misses[] = {
        "{\"t\": 1,\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\"" LABELS REST,
        "{\"t\":1e3,\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\"" LABELS REST,
        "{\"t\":-1,\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\"" LABELS REST,
        "{\"t\":1.,\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\"" LABELS REST,
        "{\"t\":.5,\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\"" LABELS REST,
        "{\"t\":1234567890.1234567,\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\"" LABELS REST,
        "{\"t\":\"1\",\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\"" LABELS REST,
        "{\"type\":\"ADDED\",\"t\":1,\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\"" LABELS REST,
        "{\"t\":1,\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\"" LABELS REST,
        "{\"t\":1,\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\"" LABELS REST,
        "{\"t\":1,\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"\"" LABELS REST,
        "{\"t\":1,\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n\\u0031\"" LABELS REST,
        "{\"t\":1,\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n\t1\"" LABELS REST,
        HEAD ",\"labels\":{\"kubernetes.io/hostname\":\"n1\",\"role\":\"infra\"}}" REST,
        HEAD ",\"labels\":{}}" REST,
        HEAD ",\"name\":\"n2\"" LABELS REST,
        HEAD LABELS ",\"spec\":{\"unschedulable\":null},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}}",
        HEAD LABELS ",\"spec\":{\"taints\":[{\"key\":\"virtual-kubelet.io/provider\",\"effect\":\"NoSchedule\"}]},\"status\":{\"conditions\":[]}}}",
        HEAD LABELS ",\"spec\":{},\"status\":{\"allocatable\":{\"cpu\":\"four\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}}",
        HEAD LABELS ",\"spec\":{},\"status\":{\"allocatable\":{\"cpu\":4},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}}",
        HEAD LABELS ",\"spec\":{},\"status\":{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"1Gi\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}}",
        HEAD LABELS ",\"spec\":{},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"Ready\",\"status\":\"False\"}]}}}",
        HEAD LABELS ",\"spec\":{},\"status\":{\"conditions\":[{\"type\":\"MemoryPressure\",\"status\":\"False\"}]}}}",
        HEAD LABELS REST " ",
        HEAD LABELS REST "}",
        HEAD LABELS REST ",",
        HEAD LABELS ",\"spec\":{},\"status\":{\"allocatable\":{\"cpu\":\"4\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
        "{\"t\":1,\"type\":\"DELETED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\"}}}}",
        "{\"t\":1,\"type\":\"DELETED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1\",\"uid\":\"u\"}}}",
        "{\"t\":1,\"type\":\"DELETED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"\"}}}",
        "{\"t\":1,\"type\":\"DELETED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n1",
        "",
        "{",
    };
    for (size_t i = 0; i < sizeof misses / sizeof *misses; i++) {
        if (check_all_opts(misses[i], strlen(misses[i]), o) != 0) {
            fprintf(stderr, "accepted a near miss (#%zu): %s\n", i, misses[i]);
            fail();
        }
    }
    /* the template itself (a sanity check on the macros above) */
    assert_int_equal(check_all_opts(HEAD LABELS REST, strlen(HEAD LABELS REST), o), 1);
    /* a name of 254 bytes: the general decoder rejects it; the fast path leaves it to it */
    char big[1024];
    char name[NODE_NAME_MAX + 2];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(big, sizeof big, "{\"t\":1,\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
             "\"labels\":{\"kubernetes.io/hostname\":\"x\"}}%s", name, REST);
    assert_int_equal(check_all_opts(big, strlen(big), o), 0);
    optsets_release(o);
#undef HEAD
#undef LABELS
#undef REST
}


/* t: the fast path's double is strtod's, bit for bit, for every digit count it accepts; it
 * declines when the digits exceed 2^53 as one integer. */
static void test_t_is_strtods_double(void **state)
{
    (void)state;
    unsigned long accepted = 0, declined = 0;
    for (int i = 0; i < 200000; i++) {
        int digits = 1 + (int)(rnd() % 19), frac = (int)(rnd() % (unsigned)digits); /* >= 1 integer digit */
        char num[32];
        int k = 0;
        uint64_t n = 0;
        for (int d = 0; d < digits; d++) {
            if (d == digits - frac && frac > 0)
                num[k++] = '.';
            int v = (int)(rnd() % 10);
            num[k++] = (char)('0' + v);
            n = n * 10 + (uint64_t)v;
        }
        num[k] = '\0';
        char line[256];
        int len = snprintf(line, sizeof line,
                           "{\"t\":%s,\"type\":\"DELETED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n\"}}}", num);
        struct nodeline nl;
        int got = nodeline_decode(line, (size_t)len, NULL, &nl);
        if (n > (UINT64_C(1) << 53)) {
            assert_int_equal(got, 0);
            declined++;
            continue;
        }
        assert_int_equal(got, 1);
        accepted++;
        double want = strtod(num, NULL);
        if (memcmp(&want, &nl.t, sizeof want) != 0) {
            fprintf(stderr, "t=%s: fast %.17g, strtod %.17g\n", num, nl.t, want);
            fail();
        }
    }
    assert_true(accepted > 100000 && declined > 10000);
}

/* Random byte mutations of canonical lines: the two decoders never disagree. */
static void test_mutations_never_disagree(void **state)
{
    (void)state;
    struct optset o[N_OPTSETS];
    optsets_init(o);
    size_t len;
    char *text = write_lines(&len);
    const char *starts[512];
    size_t lens[512], n = 0;
    for (char *p = text, *nl; n < 512 && (nl = memchr(p, '\n', len - (size_t)(p - text))) != NULL; p = nl + 1) {
        starts[n] = p;
        lens[n++] = (size_t)(nl - p);
    }
    static const char interesting[] = " \"\\0123456789.eE-+}{],[:aTFn\t\x01\x7f\x80\xc3\xff";
    unsigned long accepted = 0;
    char buf[2048];
    for (int i = 0; i < 100000; i++) {
        size_t which = (size_t)(rnd() % n), l = lens[which];
        memcpy(buf, starts[which], l);
        int muts = 1 + (int)(rnd() % 3);
        for (int m = 0; m < muts && l > 1 && l < sizeof buf - 1; m++) {
            size_t at = (size_t)(rnd() % l);
            char ch = interesting[rnd() % (sizeof interesting - 1)];
            switch (rnd() % 3) {
            case 0: buf[at] = ch; break;
            case 1: memmove(buf + at, buf + at + 1, l - at - 1); l--; break;
            default: memmove(buf + at + 1, buf + at, l - at); buf[at] = ch; l++; break;
            }
        }
        const struct node_count_opts *opts = (rnd() % 2) ? NULL : &o[rnd() % N_OPTSETS].opts;
        accepted += (unsigned long)check_line(buf, l, opts);
    }
    /* many mutations keep the form (a name or digit changed): the contract was really exercised */
    assert_true(accepted > 1000);
    free(text);
    optsets_release(o);
}

/* The committed demo trace carries an extra label, so it takes the general path; the contract
 * holds on every line either way. */
static void test_demo_trace_lines(void **state)
{
    (void)state;
    struct optset o[N_OPTSETS];
    optsets_init(o);
    FILE *f = fopen(TEST_DATA_DIR "/traces/demo-growth.jsonl", "rb");
    assert_non_null(f);
    char line[4096];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        size_t l = strcspn(line, "\n");
        check_all_opts(line, l, o);
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, 228);
    optsets_release(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_lines_take_the_fast_path),
        cmocka_unit_test(test_decoded_values),
        cmocka_unit_test(test_near_misses_are_declined),
        cmocka_unit_test(test_t_is_strtods_double),
        cmocka_unit_test(test_mutations_never_disagree),
        cmocka_unit_test(test_demo_trace_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
