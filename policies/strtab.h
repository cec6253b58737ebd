/*
 * strtab — a table keyed by strings: open addressing, linear probing, backward-shift deletion
 * (no tombstones), FNV-1a hashes kept in the slots so growing never rehashes a key.
 *
 * The one hash table of the project: the node set (policies/nodes.c: a node's counting record by
 * name) and the emulator's object store (sim/serve/kstore.c: an object version by namespace/name)
 * are both strtabs with their own slot payloads.
 *
 * Slots are caller-defined structs of one size whose FIRST member is a struct strtab_key; the
 * table places them in one array (no per-entry allocation beyond the key copy), so a payload of
 * 16 bytes costs 32 bytes a slot. Pointers to slots are valid until the next insert or remove.
 *
 * Ownership: struct strtab is caller-owned storage (strtab_init/strtab_release). The table owns
 * each key copy; the payload is the caller's: release what it points to before strtab_remove,
 * strtab_clear or strtab_release (which only free keys and slots).
 */
#ifndef PROPSCALER_STRTAB_H
#define PROPSCALER_STRTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strtab_key {
    char *key;     /* NULL: an empty slot */
    uint64_t hash;
};

struct strtab {
    unsigned char *slots;
    size_t slot_size;
    size_t cap; /* a power of two */
    size_t n;
};

/* slot_size: sizeof the caller's slot struct (its first member a struct strtab_key). 0 or -1. */
int strtab_init(struct strtab *t, size_t slot_size);
void strtab_release(struct strtab *t);
/* Empty the table (keys freed, payloads zeroed); the capacity stays. */
void strtab_clear(struct strtab *t);

uint64_t strtab_hash(const char *key);

/* The slot holding key, or NULL. */
void *strtab_find(const struct strtab *t, const char *key);
/* The slot holding key; when absent a new one with a copy of the key and a zeroed payload
 * (*added set). NULL when out of memory (the table is unchanged). */
void *strtab_insert(struct strtab *t, const char *key, bool *added);
/* Remove a slot returned by find/insert/next: its key is freed, later slots may move. */
void strtab_remove(struct strtab *t, void *slot);

/* Iteration: *pos starts at 0; returns the next occupied slot or NULL at the end. Removing
 * during an iteration is not allowed (slots move). */
void *strtab_next(const struct strtab *t, size_t *pos);

/* Bytes of the slot array (keys not included). */
size_t strtab_memory(const struct strtab *t);

#endif
