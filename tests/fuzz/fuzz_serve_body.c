/* Fuzz what propsim serve reads of a request beyond its path: create/update bodies and merge,
 * strategic-merge and JSON patches applied to a stored object (first byte % 5 = 0/1/3:
 * "TARGET\nPATCH"); label selectors, field selectors and continue tokens (2:
 * "LABELS\nFIELDS\nTOKEN"), matched against an object; and a body through kube-apiserver's
 * checks for each kind, and an Event's round trip through its two shapes (4: "BODY"). */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kevents.h"
#include "kfilter.h"
#include "kpatch.h"
#include "kvalidate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *part[3] = {text, NULL, NULL};
    for (int i = 1; i < 3; i++) {
        char *nl = part[i - 1] ? strchr(part[i - 1], '\n') : NULL;
        if (nl) {
            *nl = '\0';
            part[i] = nl + 1;
        }
    }
    int mode = data[0] % 5;
    if (mode == 4) {
        cJSON *body = cJSON_Parse(part[0]);
        for (size_t i = 0; i < kstore_resource_count(); i++) {
            struct kvalid_verdict v;
            const struct kresource_def *d = kstore_resource_def(i);
            (void)kvalidate_decode(d, NULL, NULL, body, &v);
            (void)kvalidate_object(d, NULL, NULL, "kube-system", body, true, &v);
            (void)kvalidate_decode(d, d->has_scale ? "scale" : "status", "x", body, &v);
            (void)kvalidate_object(d, d->has_scale ? "scale" : "status", "x", NULL, body, false, &v);
        }
        /* Events in two shapes: a core Event shown as events.k8s.io/v1, stored back and shown again
         * must read the same (no field lost or renamed wrongly by the round trip) */
        if (cJSON_IsObject(body)) {
            cJSON *v1 = kevents_core_to_v1(body);
            cJSON *core = v1 ? kevents_v1_to_core(v1) : NULL;
            cJSON *again = core ? kevents_core_to_v1(core) : NULL;
            /* compared as printed: cJSON_Compare is not reflexive on duplicate keys */
            char *a = again ? cJSON_PrintUnformatted(v1) : NULL, *b = again ? cJSON_PrintUnformatted(again) : NULL;
            if (a && b && strcmp(a, b) != 0)
                abort();
            cJSON_free(a);
            cJSON_free(b);
            char msg[600];
            (void)kevents_validate(core, "kube-system", "x", true, msg, sizeof msg);
            cJSON_Delete(again);
            cJSON_Delete(core);
            cJSON_Delete(v1);
        }
        cJSON_Delete(body);
    } else if (mode != 2) {
        cJSON *target = cJSON_Parse(part[0]);
        cJSON *patch = part[1] ? cJSON_Parse(part[1]) : NULL;
        if (patch) {
            char err[256];
            cJSON *out = mode == 3 ? kpatch_json(target, patch, err, sizeof err) : kpatch_merge(target, patch, mode == 1);
            char *printed = cJSON_PrintUnformatted(out);
            cJSON_free(printed);
            cJSON_Delete(out);
        } else {
            cJSON_Delete(target);
        }
        cJSON_Delete(patch);
    } else {
        struct api_request r;
        memset(&r, 0, sizeof r);
        r.label_selector = part[0];
        r.field_selector = part[1];
        static const char *const resources[] = {"nodes", "events", "pods", "configmaps"};
        r.resource = (char *)(uintptr_t)resources[size % 4]; /* the fields each one selects on */
        struct kfilter f;
        char err[512];
        if (kfilter_init(&f, &r, err, sizeof err) == 0) {
            cJSON *labels = cJSON_CreateObject();
            cJSON_AddStringToObject(labels, "k8s-app", "kube-dns");
            cJSON_AddStringToObject(labels, "pool", "a");
            static char obj_text[] = "{\"involvedObject\":{\"name\":\"coredns\",\"uid\":\"u1\"},\"spec\":{\"unschedulable\":true,"
                                 "\"nodeName\":\"n1\"},\"status\":{\"phase\":\"Running\"},\"count\":3}";
            struct kobj o = {.name = "n1", .ns = "kube-system", .labels = labels, .text = obj_text, .len = sizeof obj_text - 1};
            (void)kfilter_match(&f, &o);
            cJSON_Delete(labels);
        }
        kfilter_release(&f);
        struct kcontinue k;
        if (part[2] && kfilter_parse_continue(part[2], &k) == 0) { /* what is read is written back the same */
            char again[KFILTER_CONTINUE_MAX];
            kfilter_format_continue(&k, again);
            struct kcontinue k2;
            if (kfilter_parse_continue(again, &k2) != 0 || memcmp(&k, &k2, sizeof k) != 0)
                __builtin_trap();
        }
    }
    free(text);
    return 0;
}
