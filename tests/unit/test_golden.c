/* Differential test against real Go: tests/golden/params.golden.jsonl holds, for ~4,600 inputs
 * (hand-written seeds, mutations of them, and random float64 values), what Go's encoding/json
 * answers through CPA-shaped structs (tests/golden/gen). propscaler must answer the same, byte
 * for byte: parse errors, type errors, validation messages with Go's %v floats, decoded values,
 * and the --default-params re-encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "gojson.h"
#include "params.h"

static void describe_linear(const char *in, size_t len, struct buf *out)
{
    struct linear_params p;
    char err[2048];
    if (params_parse_linear(in, len, &p, err, sizeof err) != 0) {
        buf_printf(out, "error: %s", err);
        return;
    }
    char c[64], n[64];
    gj_format_float_v(p.cores_per_replica, c, sizeof c);
    gj_format_float_v(p.nodes_per_replica, n, sizeof n);
    buf_printf(out, "ok cpr=%s npr=%s min=%lld max=%lld spof=%s inc=%s", c, n, (long long)p.min, (long long)p.max,
               p.prevent_single_point_failure ? "true" : "false", p.include_unschedulable_nodes ? "true" : "false");
}

static void print_steps(struct buf *out, const struct ladder_step *s, size_t n)
{
    buf_putc(out, '[');
    for (size_t i = 0; i < n; i++)
        buf_printf(out, "%s[%lld %lld]", i ? " " : "", (long long)s[i].threshold, (long long)s[i].replicas);
    buf_putc(out, ']');
}

static void describe_ladder(const char *in, size_t len, struct buf *out)
{
    struct ladder_params p = {0};
    char err[2048];
    if (params_parse_ladder(in, len, &p, err, sizeof err) != 0) {
        buf_printf(out, "error: %s", err);
        return;
    }
    buf_puts(out, "ok cores=");
    print_steps(out, p.cores_to_replicas, p.n_cores);
    buf_puts(out, " nodes=");
    print_steps(out, p.nodes_to_replicas, p.n_nodes);
    buf_printf(out, " inc=%s", p.include_unschedulable_nodes ? "true" : "false");
    free(p.cores_to_replicas);
    free(p.nodes_to_replicas);
}

static void describe_default(const char *in, size_t len, struct buf *out)
{
    struct cm_data d;
    cm_data_init(&d);
    char err[2048];
    if (params_parse_default(in, len, &d, err, sizeof err) != 0) {
        buf_printf(out, "error: %s", err);
    } else {
        buf_puts(out, "ok\n");
        for (size_t i = 0; i < d.n; i++) {
            buf_printf(out, "%s=", d.entries[i].key);
            buf_append(out, d.entries[i].value, d.entries[i].value_len);
            buf_putc(out, '\n');
        }
    }
    cm_data_release(&d);
}

static int unhex(const char *h, char *out, size_t *len)
{
    size_t n = strlen(h);
    if (n % 2)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        unsigned v;
        if (sscanf(h + i, "%2x", &v) != 1)
            return -1;
        out[i / 2] = (char)v;
    }
    *len = n / 2;
    return 0;
}

static void test_matches_go(void **state)
{
    (void)state;
    FILE *f = fopen(TEST_GOLDEN, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int lineno = 0, failures = 0, compared = 0;
    while ((got = getline(&line, &cap, f)) > 0) {
        lineno++;
        cJSON *rec = cJSON_Parse(line);
        assert_non_null(rec);
        const char *hex = cJSON_GetObjectItemCaseSensitive(rec, "in_hex")->valuestring;
        char *in = malloc(strlen(hex) / 2 + 1);
        size_t len = 0;
        assert_int_equal(unhex(hex, in, &len), 0);
        static const char *fields[] = {"linear", "ladder", "default"};
        void (*fns[])(const char *, size_t, struct buf *) = {describe_linear, describe_ladder, describe_default};
        for (int k = 0; k < 3; k++) {
            struct buf b;
            buf_init(&b, 1 << 20);
            fns[k](in, len, &b);
            const char *want = cJSON_GetObjectItemCaseSensitive(rec, fields[k])->valuestring;
            if (strcmp(buf_str(&b), want) != 0) {
                if (failures++ < 15)
                    print_error("line %d %s, input %.*s\n  propscaler: %s\n  go:         %s\n", lineno, fields[k],
                                (int)len, in, buf_str(&b), want);
            }
            compared++;
            buf_release(&b);
        }
        free(in);
        cJSON_Delete(rec);
    }
    free(line);
    fclose(f);
    print_message("compared %d answers from %d inputs; %d differ\n", compared, lineno, failures);
    assert_true(lineno > 4000);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_matches_go)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
