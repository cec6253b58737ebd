#define _DEFAULT_SOURCE
#include "kfilter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kobj_label(const void *ctx, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive((const cJSON *)ctx, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

void kfilter_release(struct kfilter *f)
{
    selector_free(f->labels);
    free(f->field_name);
    free(f->field_ns);
}

int kfilter_init(struct kfilter *f, const struct api_request *r, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    if (r->label_selector && selector_parse(r->label_selector, &f->labels, err, errlen) != 0)
        return -1;
    if (r->field_selector && r->field_selector[0]) {
        /* metadata.name and metadata.namespace, comma-separated, = or == */
        char *copy = strdup(r->field_selector), *save = NULL;
        if (!copy) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            char *eq = strstr(tok, "==");
            size_t skip = 2;
            if (!eq) {
                eq = strchr(tok, '=');
                skip = 1;
            }
            if (!eq) {
                snprintf(err, errlen, "invalid field selector \"%s\"", r->field_selector);
                free(copy);
                return -1;
            }
            *eq = '\0';
            if (strcmp(tok, "metadata.name") == 0) {
                free(f->field_name);
                f->field_name = strdup(eq + skip);
            } else if (strcmp(tok, "metadata.namespace") == 0) {
                free(f->field_ns);
                f->field_ns = strdup(eq + skip);
            } else {
                snprintf(err, errlen, "field label not supported: %s", tok);
                free(copy);
                return -1;
            }
        }
        free(copy);
    }
    return 0;
}

bool kfilter_match(const struct kfilter *f, const struct kobj *o)
{
    if (!o)
        return false;
    if (f->field_name && strcmp(f->field_name, o->name) != 0)
        return false;
    if (f->field_ns && strcmp(f->field_ns, o->ns) != 0)
        return false;
    return selector_matches(f->labels, kobj_label, o->labels);
}

int kfilter_parse_continue(const char *token, unsigned long *snapshot, unsigned long *offset, unsigned long long *rv)
{
    char tail;
    return sscanf(token, "propsim-%lu-%lu-%llu%c", snapshot, offset, rv, &tail) == 3 ? 0 : -1;
}
