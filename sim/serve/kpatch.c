#include "kpatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *merge_list(cJSON *target, const cJSON *patch)
{
    const cJSON *e;
    bool keyed = cJSON_IsArray(target) && cJSON_GetArraySize(patch) > 0;
    cJSON_ArrayForEach(e, patch) keyed = keyed && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "name"));
    if (!keyed) {
        cJSON_Delete(target);
        return cJSON_Duplicate(patch, 1);
    }
    cJSON_ArrayForEach(e, patch)
    {
        const char *name = cJSON_GetObjectItemCaseSensitive(e, "name")->valuestring;
        const cJSON *directive = cJSON_GetObjectItemCaseSensitive(e, "$patch");
        int idx = 0;
        cJSON *t, *match = NULL;
        cJSON_ArrayForEach(t, target)
        {
            const cJSON *tn = cJSON_GetObjectItemCaseSensitive(t, "name");
            if (cJSON_IsString(tn) && strcmp(tn->valuestring, name) == 0) {
                match = t;
                break;
            }
            idx++;
        }
        if (cJSON_IsString(directive) && strcmp(directive->valuestring, "delete") == 0) {
            if (match)
                cJSON_DeleteItemFromArray(target, idx);
            continue;
        }
        if (match)
            cJSON_ReplaceItemInArray(target, idx, kpatch_merge(cJSON_Duplicate(match, 1), e, true));
        else
            cJSON_AddItemToArray(target, kpatch_merge(cJSON_CreateObject(), e, true));
    }
    return target;
}

cJSON *kpatch_merge(cJSON *target, const cJSON *patch, bool strategic)
{
    if (!cJSON_IsObject(patch)) {
        cJSON_Delete(target);
        return cJSON_Duplicate(patch, 1);
    }
    if (!cJSON_IsObject(target)) {
        cJSON_Delete(target);
        target = cJSON_CreateObject();
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, patch)
    {
        if (strategic && m->string[0] == '$')
            continue;
        if (cJSON_IsNull(m)) {
            cJSON_DeleteItemFromObjectCaseSensitive(target, m->string);
            continue;
        }
        cJSON *cur = cJSON_DetachItemFromObjectCaseSensitive(target, m->string);
        cJSON *merged = strategic && cJSON_IsArray(m) ? merge_list(cur ? cur : cJSON_CreateArray(), m)
                                                      : kpatch_merge(cur, m, strategic);
        cJSON_AddItemToObject(target, m->string, merged);
    }
    return target;
}

/* ------------------------------------------------------------------------------------------ */
/* RFC 6902 JSON patch over RFC 6901 pointers                                                   */

/* The next reference token of pointer *p into tok (~1 -> '/', ~0 -> '~'); false when malformed. */
static bool next_token(const char **p, char *tok, size_t toklen)
{
    if (**p != '/')
        return false;
    (*p)++;
    size_t n = 0;
    for (; **p && **p != '/'; (*p)++) {
        char ch = **p;
        if (ch == '~') {
            (*p)++;
            if (**p != '0' && **p != '1')
                return false;
            ch = **p == '0' ? '~' : '/';
        }
        if (n + 1 >= toklen)
            return false;
        tok[n++] = ch;
    }
    tok[n] = '\0';
    return true;
}

/* An array index token: digits without a leading zero, below n (or == n when `append_ok`). */
static bool array_index(const char *tok, int n, bool append_ok, int *out)
{
    if (append_ok && strcmp(tok, "-") == 0) {
        *out = n;
        return true;
    }
    if (!tok[0] || (tok[0] == '0' && tok[1]) || strspn(tok, "0123456789") != strlen(tok) || strlen(tok) > 9)
        return false;
    *out = (int)strtol(tok, NULL, 10);
    return *out < n || (append_ok && *out == n);
}

/* Resolve all but the last token of path: the container and the last token. */
static cJSON *resolve_parent(cJSON *doc, const char *path, char *last, size_t lastlen)
{
    const char *p = path;
    cJSON *cur = doc;
    char tok[512];
    while (next_token(&p, tok, sizeof tok)) {
        if (!*p) {
            snprintf(last, lastlen, "%s", tok);
            return cur;
        }
        int i;
        if (cJSON_IsObject(cur))
            cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
        else if (cJSON_IsArray(cur) && array_index(tok, cJSON_GetArraySize(cur), false, &i))
            cur = cJSON_GetArrayItem(cur, i);
        else
            return NULL;
        if (!cur)
            return NULL;
    }
    return NULL;
}

static cJSON *get_at(cJSON *doc, const char *path)
{
    if (!path[0])
        return doc;
    char last[512];
    cJSON *parent = resolve_parent(doc, path, last, sizeof last);
    int i;
    if (cJSON_IsObject(parent))
        return cJSON_GetObjectItemCaseSensitive(parent, last);
    if (cJSON_IsArray(parent) && array_index(last, cJSON_GetArraySize(parent), false, &i))
        return cJSON_GetArrayItem(parent, i);
    return NULL;
}

/* Detach the value at path (NULL when absent). */
static cJSON *detach_at(cJSON *doc, const char *path)
{
    char last[512];
    cJSON *parent = path[0] ? resolve_parent(doc, path, last, sizeof last) : NULL;
    int i;
    if (cJSON_IsObject(parent))
        return cJSON_DetachItemFromObjectCaseSensitive(parent, last);
    if (cJSON_IsArray(parent) && array_index(last, cJSON_GetArraySize(parent), false, &i))
        return cJSON_DetachItemFromArray(parent, i);
    return NULL;
}

/* Insert value (consumed) at index i (0..size) of array a. Not cJSON_InsertItemInArray: Debian's
 * cJSON 1.7.15 refuses a middle insert into a parsed array and the item leaks. */
static void insert_at(cJSON *a, int i, cJSON *value)
{
    cJSON *tail = cJSON_CreateArray();
    while (tail && cJSON_GetArraySize(a) > i)
        cJSON_AddItemToArray(tail, cJSON_DetachItemFromArray(a, i));
    cJSON_AddItemToArray(a, value);
    while (tail && tail->child)
        cJSON_AddItemToArray(a, cJSON_DetachItemFromArray(tail, 0));
    cJSON_Delete(tail);
}

/* Put value (consumed) at path: objects set the member, arrays insert at the index. */
static bool add_at(cJSON **doc, const char *path, cJSON *value, bool replace)
{
    if (!path[0]) {
        cJSON_Delete(*doc);
        *doc = value;
        return true;
    }
    char last[512];
    cJSON *parent = resolve_parent(*doc, path, last, sizeof last);
    int i;
    if (cJSON_IsObject(parent)) {
        if (replace && !cJSON_GetObjectItemCaseSensitive(parent, last))
            goto fail;
        cJSON_DeleteItemFromObjectCaseSensitive(parent, last);
        cJSON_AddItemToObject(parent, last, value);
        return true;
    }
    if (cJSON_IsArray(parent) && array_index(last, cJSON_GetArraySize(parent), !replace, &i)) {
        if (replace)
            cJSON_DeleteItemFromArray(parent, i);
        insert_at(parent, i, value);
        return true;
    }
fail:
    cJSON_Delete(value);
    return false;
}

cJSON *kpatch_json(cJSON *target, const cJSON *ops, char *err, size_t errlen)
{
    if (!cJSON_IsArray(ops)) {
        snprintf(err, errlen, "a JSON patch is an array of operations");
        cJSON_Delete(target);
        return NULL;
    }
    int k = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, ops)
    {
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "op"), *path = cJSON_GetObjectItemCaseSensitive(o, "path");
        const cJSON *from = cJSON_GetObjectItemCaseSensitive(o, "from"), *value = cJSON_GetObjectItemCaseSensitive(o, "value");
        const char *name = cJSON_IsString(op) ? op->valuestring : "";
        const char *at = cJSON_IsString(path) ? path->valuestring : NULL;
        bool ok = at != NULL && (at[0] == '\0' || at[0] == '/');
        if (ok && strcmp(name, "add") == 0) {
            ok = value && add_at(&target, at, cJSON_Duplicate(value, 1), false);
        } else if (ok && strcmp(name, "replace") == 0) {
            ok = value && add_at(&target, at, cJSON_Duplicate(value, 1), true);
        } else if (ok && strcmp(name, "remove") == 0) {
            cJSON *gone = detach_at(target, at);
            ok = gone != NULL;
            cJSON_Delete(gone);
        } else if (ok && strcmp(name, "test") == 0) {
            const cJSON *have = get_at(target, at);
            ok = value && have && cJSON_Compare(have, value, true);
        } else if (ok && (strcmp(name, "move") == 0 || strcmp(name, "copy") == 0)) {
            const char *src = cJSON_IsString(from) ? from->valuestring : NULL;
            bool move = name[0] == 'm';
            /* a value cannot move into itself */
            ok = src && !(move && strncmp(at, src, strlen(src)) == 0 && (at[strlen(src)] == '/' || !at[strlen(src)]) && strcmp(at, src) != 0);
            cJSON *v = NULL;
            if (ok)
                v = move ? detach_at(target, src) : cJSON_Duplicate(get_at(target, src), 1);
            ok = v && add_at(&target, at, v, false);
        } else {
            ok = false;
        }
        if (!ok) {
            snprintf(err, errlen, "the JSON patch's operation %d (%s %s) cannot be applied", k, name[0] ? name : "(no op)",
                     at ? at : "(no path)");
            cJSON_Delete(target);
            return NULL;
        }
        k++;
    }
    return target;
}
