/* policies/strtab: held to a plain array under random inserts, lookups and removes (removes
 * exercise the backward shift, including runs that wrap around the end of the slot array and
 * keys that share a home slot), growth keeps every entry and its payload, iteration sees each
 * entry once, clear keeps nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define TEST_RNG_SEED 0x51ab5eedu
#include "test_rng.h"

#include "strtab.h"

struct entry {
    struct strtab_key k;
    int64_t value;
    uint16_t tag;
};

enum { UNIVERSE = 3000 };

/* The reference: present[i] and value[i] for the key "key-<i>". */
static bool present[UNIVERSE];
static int64_t value[UNIVERSE];

static void key_of(int i, char *out, size_t len) { snprintf(out, len, "key-%d", i); }

static void check_against_reference(const struct strtab *t)
{
    size_t want = 0;
    char key[32];
    for (int i = 0; i < UNIVERSE; i++) {
        key_of(i, key, sizeof key);
        const struct entry *e = strtab_find(t, key);
        if (present[i]) {
            want++;
            assert_non_null(e);
            assert_string_equal(e->k.key, key);
            assert_int_equal(e->value, value[i]);
            assert_int_equal(e->tag, (uint16_t)i);
        } else {
            assert_null(e);
        }
    }
    assert_int_equal(t->n, want);
    /* iteration: each entry once */
    size_t pos = 0, seen = 0;
    for (const struct entry *e; (e = strtab_next(t, &pos));) {
        int i = (int)strtol(e->k.key + 4, NULL, 10);
        assert_true(present[i]);
        seen++;
    }
    assert_int_equal(seen, want);
}

static void test_random_against_array(void **state)
{
    (void)state;
    struct strtab t;
    assert_int_equal(strtab_init(&t, sizeof(struct entry)), 0);
    memset(present, 0, sizeof present);
    char key[32];
    for (int step = 0; step < 200000; step++) {
        int i = (int)(rnd() % UNIVERSE);
        key_of(i, key, sizeof key);
        unsigned op = (unsigned)(rnd() % 10);
        if (op < 6) {
            bool added;
            struct entry *e = strtab_insert(&t, key, &added);
            assert_non_null(e);
            assert_int_equal(added, !present[i]);
            if (added) {
                assert_int_equal(e->value, 0); /* a new payload is zeroed */
                e->tag = (uint16_t)i;
            }
            e->value = (int64_t)rnd();
            present[i] = true;
            value[i] = e->value;
        } else {
            struct entry *e = strtab_find(&t, key);
            assert_int_equal(e != NULL, present[i]);
            if (e)
                strtab_remove(&t, e);
            present[i] = false;
        }
        if (step % 20000 == 0)
            check_against_reference(&t);
    }
    check_against_reference(&t);
    size_t cap = t.cap;
    strtab_clear(&t);
    memset(present, 0, sizeof present);
    assert_int_equal(t.cap, cap);
    check_against_reference(&t);
    strtab_release(&t);
}

/* A small table whose keys all probe from the last slots: removes must shift entries across the
 * wrap-around without losing any. */
static void test_wraparound_runs(void **state)
{
    (void)state;
    struct strtab t;
    assert_int_equal(strtab_init(&t, sizeof(struct entry)), 0);
    size_t mask = t.cap - 1;
    char keys[40][32];
    int n = 0;
    for (int i = 0; n < 40 && i < 1000000; i++) {
        char k[32];
        snprintf(k, sizeof k, "w%d", i);
        if ((strtab_hash(k) & mask) >= mask - 1) /* home: one of the last two slots */
            snprintf(keys[n++], sizeof keys[0], "%s", k);
    }
    assert_int_equal(n, 40);
    for (int i = 0; i < 40; i++) {
        bool added;
        struct entry *e = strtab_insert(&t, keys[i], &added);
        assert_true(added);
        e->value = i;
    }
    assert_int_equal(t.cap, 64); /* 40 entries: no growth, so the run wraps */
    for (int i = 0; i < 40; i += 3)
        strtab_remove(&t, strtab_find(&t, keys[i]));
    for (int i = 0; i < 40; i++) {
        struct entry *e = strtab_find(&t, keys[i]);
        if (i % 3 == 0) {
            assert_null(e);
        } else {
            assert_non_null(e);
            assert_int_equal(e->value, i);
        }
    }
    strtab_release(&t);
}

static void test_slot_size_checked(void **state)
{
    (void)state;
    struct strtab t;
    assert_int_equal(strtab_init(&t, sizeof(struct strtab_key) - 1), -1);
    strtab_release(&t); /* safe after a failed init */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_array),
        cmocka_unit_test(test_wraparound_runs),
        cmocka_unit_test(test_slot_size_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
