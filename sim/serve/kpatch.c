#include "kpatch.h"

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
