/* strtab — see strtab.h. */
#include "strtab.h"

#include <stdlib.h>
#include <string.h>

enum { STRTAB_INITIAL_CAP = 64 };

static struct strtab_key *slot_at(const struct strtab *t, size_t i)
{
    return (struct strtab_key *)(void *)(t->slots + i * t->slot_size);
}

int strtab_init(struct strtab *t, size_t slot_size)
{
    memset(t, 0, sizeof *t);
    if (slot_size < sizeof(struct strtab_key))
        return -1;
    t->slot_size = slot_size;
    t->cap = STRTAB_INITIAL_CAP;
    t->slots = calloc(t->cap, slot_size);
    return t->slots ? 0 : -1;
}

void strtab_clear(struct strtab *t)
{
    for (size_t i = 0; t->slots && i < t->cap; i++)
        free(slot_at(t, i)->key);
    if (t->slots)
        memset(t->slots, 0, t->cap * t->slot_size);
    t->n = 0;
}

void strtab_release(struct strtab *t)
{
    strtab_clear(t);
    free(t->slots);
    t->slots = NULL;
    t->cap = 0;
}

uint64_t strtab_hash(const char *key)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a, 64 bits */
    for (; *key; key++) {
        h ^= (unsigned char)*key;
        h *= 1099511628211u;
    }
    return h;
}

/* The index of key's slot, or of the empty slot where it would go. */
static size_t probe(const struct strtab *t, const char *key, uint64_t h, bool *found)
{
    size_t mask = t->cap - 1, i = (size_t)h & mask;
    for (;;) {
        const struct strtab_key *k = slot_at(t, i);
        if (!k->key)
            break;
        if (k->hash == h && strcmp(k->key, key) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
    *found = false;
    return i;
}

void *strtab_find(const struct strtab *t, const char *key)
{
    bool found;
    size_t i = probe(t, key, strtab_hash(key), &found);
    return found ? slot_at(t, i) : NULL;
}

static int grow(struct strtab *t)
{
    size_t cap = t->cap * 2;
    unsigned char *slots = calloc(cap, t->slot_size);
    if (!slots)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        const struct strtab_key *k = slot_at(t, i);
        if (!k->key)
            continue;
        size_t j = (size_t)k->hash & (cap - 1);
        while (((struct strtab_key *)(void *)(slots + j * t->slot_size))->key)
            j = (j + 1) & (cap - 1);
        memcpy(slots + j * t->slot_size, k, t->slot_size);
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

void *strtab_insert(struct strtab *t, const char *key, bool *added)
{
    uint64_t h = strtab_hash(key);
    bool found;
    size_t i = probe(t, key, h, &found);
    *added = false;
    if (found)
        return slot_at(t, i);
    size_t len = strlen(key);
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, key, len + 1);
    if ((t->n + 1) * 10 > t->cap * 7) { /* load factor 0.7 */
        if (grow(t) != 0) {
            free(copy);
            return NULL;
        }
        i = probe(t, key, h, &found);
    }
    struct strtab_key *k = slot_at(t, i);
    memset(k, 0, t->slot_size);
    k->key = copy;
    k->hash = h;
    t->n++;
    *added = true;
    return k;
}

void strtab_remove(struct strtab *t, void *slot)
{
    size_t hole = (size_t)((unsigned char *)slot - t->slots) / t->slot_size, j = hole, mask = t->cap - 1;
    free(slot_at(t, hole)->key);
    memset(slot_at(t, hole), 0, t->slot_size);
    t->n--;
    /* Backward shift: a later entry of the probe run moves into the hole unless its home is
     * cyclically in (hole, j] (it would then be found before the hole anyway). */
    for (;;) {
        j = (j + 1) & mask;
        struct strtab_key *k = slot_at(t, j);
        if (!k->key)
            break;
        size_t home = (size_t)k->hash & mask;
        bool in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (in_range)
            continue;
        memcpy(slot_at(t, hole), k, t->slot_size);
        memset(k, 0, t->slot_size);
        hole = j;
    }
}

void *strtab_next(const struct strtab *t, size_t *pos)
{
    for (; *pos < t->cap; (*pos)++) {
        struct strtab_key *k = slot_at(t, *pos);
        if (k->key) {
            (*pos)++;
            return k;
        }
    }
    return NULL;
}

size_t strtab_memory(const struct strtab *t) { return t->cap * t->slot_size; }
