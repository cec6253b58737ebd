/* kevents — see kevents.h. */
#define _DEFAULT_SOURCE
#include "kevents.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static const char *text_of(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Copy o[from] into out[to] when the field is printed: of the field's type (cJSON_String, cJSON_Number
 * or cJSON_Object), and a non-empty string, a non-zero number or an object (omitempty drops "" and 0;
 * a pointer field drops null). A value of another type is dropped: the server's decoder would have
 * refused it, and carrying it over would turn it into "" on the way back (a string field's
 * copy_string), so the two shapes would not round-trip (fuzz_serve_body found an object as
 * reportingComponent). */
static void copy_set(cJSON *out, const char *to, const cJSON *o, const char *from, int type)
{
    const cJSON *v = get(o, from);
    if (!v || (v->type & 0xFF) != type)
        return;
    if ((cJSON_IsString(v) && v->valuestring[0]) || (cJSON_IsNumber(v) && v->valuedouble != 0) || cJSON_IsObject(v))
        cJSON_AddItemToObject(out, to, cJSON_Duplicate(v, 1));
}

/* A struct field without omitempty: the object, or {} when absent. */
static void copy_struct(cJSON *out, const char *to, const cJSON *o, const char *from)
{
    const cJSON *v = get(o, from);
    cJSON_AddItemToObject(out, to, cJSON_IsObject(v) ? cJSON_Duplicate(v, 1) : cJSON_CreateObject());
}

/* A time field (metav1.Time, MicroTime): the string, or null when unset. */
static void copy_time(cJSON *out, const char *to, const cJSON *o, const char *from)
{
    const cJSON *v = get(o, from);
    cJSON_AddItemToObject(out, to, cJSON_IsString(v) && v->valuestring[0] ? cJSON_CreateString(v->valuestring) : cJSON_CreateNull());
}

/* A string field without omitempty: printed even when empty. */
static void copy_string(cJSON *out, const char *to, const cJSON *o, const char *from)
{
    cJSON_AddStringToObject(out, to, text_of(o, from));
}

static cJSON *start(const cJSON *from, const char *api_version)
{
    cJSON *out = cJSON_CreateObject();
    if (!out)
        return NULL;
    cJSON_AddStringToObject(out, "kind", "Event");
    cJSON_AddStringToObject(out, "apiVersion", api_version);
    copy_struct(out, "metadata", from, "metadata");
    return out;
}

cJSON *kevents_core_to_v1(const cJSON *core)
{
    cJSON *out = start(core, KEVENTS_GROUP "/v1");
    if (!out)
        return NULL;
    copy_time(out, "eventTime", core, "eventTime");
    copy_set(out, "series", core, "series", cJSON_Object);
    copy_set(out, "reportingController", core, "reportingComponent", cJSON_String);
    copy_set(out, "reportingInstance", core, "reportingInstance", cJSON_String);
    copy_set(out, "action", core, "action", cJSON_String);
    copy_set(out, "reason", core, "reason", cJSON_String);
    copy_struct(out, "regarding", core, "involvedObject");
    copy_set(out, "related", core, "related", cJSON_Object);
    copy_set(out, "note", core, "message", cJSON_String);
    copy_set(out, "type", core, "type", cJSON_String);
    copy_struct(out, "deprecatedSource", core, "source");
    copy_time(out, "deprecatedFirstTimestamp", core, "firstTimestamp");
    copy_time(out, "deprecatedLastTimestamp", core, "lastTimestamp");
    copy_set(out, "deprecatedCount", core, "count", cJSON_Number);
    return out;
}

cJSON *kevents_v1_to_core(const cJSON *v1)
{
    cJSON *out = start(v1, "v1");
    if (!out)
        return NULL;
    copy_struct(out, "involvedObject", v1, "regarding");
    copy_set(out, "reason", v1, "reason", cJSON_String);
    copy_set(out, "message", v1, "note", cJSON_String);
    copy_struct(out, "source", v1, "deprecatedSource");
    copy_time(out, "firstTimestamp", v1, "deprecatedFirstTimestamp");
    copy_time(out, "lastTimestamp", v1, "deprecatedLastTimestamp");
    copy_set(out, "count", v1, "deprecatedCount", cJSON_Number);
    copy_set(out, "type", v1, "type", cJSON_String);
    copy_time(out, "eventTime", v1, "eventTime");
    copy_set(out, "series", v1, "series", cJSON_Object);
    copy_set(out, "action", v1, "action", cJSON_String);
    copy_set(out, "related", v1, "related", cJSON_Object);
    copy_string(out, "reportingComponent", v1, "reportingController");
    copy_string(out, "reportingInstance", v1, "reportingInstance");
    return out;
}

/* ------------------------------------------------------------------------------------------ */
/* Validation: field.ErrorList as Go words it                                                   */

struct errlist {
    struct buf text; /* "a, b, c" */
    int n;
};

/* Go's %q of a string, closely enough for the values validation quotes. */
static void quote(struct buf *b, const char *s)
{
    buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_printf(b, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            buf_printf(b, "\\x%02x", *p);
        else
            buf_putc(b, (char)*p);
    }
    buf_putc(b, '"');
}

/* field.Required(path, "") and field.Invalid(path, value, detail); duplicates dropped, as
 * ErrorList.ToAggregate drops them. */
static void add_error(struct errlist *e, const char *path, const char *invalid_value, const char *detail)
{
    struct buf one;
    buf_init(&one, 4096);
    buf_printf(&one, "%s: ", path);
    if (!invalid_value) {
        buf_puts(&one, "Required value");
    } else {
        buf_puts(&one, "Invalid value: ");
        quote(&one, invalid_value);
        buf_printf(&one, ": %s", detail);
    }
    const char *have = buf_str(&e->text), *mine = buf_str(&one);
    size_t len = strlen(mine);
    for (const char *p = strstr(have, mine); p; p = strstr(p + 1, mine))
        if ((p == have || p[-2] == ',') && (p[len] == '\0' || p[len] == ','))
            goto done;
    buf_printf(&e->text, "%s%s", e->n ? ", " : "", mine);
    e->n++;
done:
    buf_release(&one);
}

static bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

static bool dns1123_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!lower && c != '-' && c != '.')
            return false;
        if ((c == '-' || c == '.') && (i == 0 || i == n - 1))
            return false;
        if (c == '.' && (s[i - 1] == '.' || s[i - 1] == '-' || s[i + 1] == '-'))
            return false;
    }
    return true;
}

#define QUALIFIED_RULE                                                                                                  \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character "  \
    "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"

/* ValidateQualifiedName: an optional DNS subdomain prefix and '/', then a name part. */
static void qualified_name(struct errlist *e, const char *path, const char *value)
{
    const char *slash = strchr(value, '/');
    const char *name = value;
    if (slash && strchr(slash + 1, '/')) {
        add_error(e, path, value, "a qualified name " QUALIFIED_RULE
                  " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
        return;
    }
    if (slash) {
        char prefix[256];
        size_t pl = (size_t)(slash - value);
        snprintf(prefix, sizeof prefix, "%.*s", (int)(pl < 255 ? pl : 255), value);
        if (pl == 0)
            add_error(e, path, value, "prefix part must be non-empty");
        else if (pl > 253 || !dns1123_subdomain(prefix))
            add_error(e, path, value,
                      "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                      "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                      "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
        name = slash + 1;
    }
    size_t n = strlen(name);
    if (n == 0)
        add_error(e, path, value, "name part must be non-empty");
    else if (n > 63)
        add_error(e, path, value, "name part must be no more than 63 characters");
    bool ok = n > 0 && alnum(name[0]) && alnum(name[n - 1]);
    for (size_t i = 0; ok && i < n; i++)
        ok = alnum(name[i]) || name[i] == '-' || name[i] == '_' || name[i] == '.';
    if (!ok)
        add_error(e, path, value, "name part " QUALIFIED_RULE);
}

static bool time_set(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsString(v) && v->valuestring[0];
}

static void max_len(struct errlist *e, const char *path, const char *value, size_t limit)
{
    char detail[64];
    snprintf(detail, sizeof detail, "can have at most %zu characters", limit);
    if (strlen(value) > limit)
        add_error(e, path, "", detail);
}

int kevents_validate(const cJSON *core, const char *ns, const char *name, bool strict, char *msg, size_t msglen)
{
    struct errlist e = {.n = 0};
    buf_init(&e.text, 64 * 1024);
    ns = ns ? ns : "";
    const char *involved_ns = text_of(get(core, "involvedObject"), "namespace");
    /* legacyValidateEvent: every write */
    if (!time_set(core, "eventTime")) {
        if (!involved_ns[0] ? (ns[0] && strcmp(ns, "default") != 0) : strcmp(ns, involved_ns) != 0)
            add_error(&e, "involvedObject.namespace", involved_ns, "does not match event.namespace");
    } else {
        if (!involved_ns[0] && strcmp(ns, "kube-system") != 0)
            add_error(&e, "involvedObject.namespace", involved_ns, "does not match event.namespace");
        const char *controller = text_of(core, "reportingComponent");
        if (!controller[0])
            add_error(&e, "reportingController", NULL, NULL);
        qualified_name(&e, "reportingController", controller);
        const char *instance = text_of(core, "reportingInstance");
        if (!instance[0])
            add_error(&e, "reportingInstance", NULL, NULL);
        max_len(&e, "reportingInstance", instance, 128);
        const char *action = text_of(core, "action"), *reason = text_of(core, "reason");
        if (!action[0])
            add_error(&e, "action", NULL, NULL);
        max_len(&e, "action", action, 128);
        if (!reason[0])
            add_error(&e, "reason", NULL, NULL);
        max_len(&e, "reason", reason, 128);
        max_len(&e, "message", text_of(core, "message"), 1024);
    }
    if (strict) { /* ValidateEventCreate for events.k8s.io/v1 */
        const cJSON *series = get(core, "series");
        if (cJSON_IsObject(series)) {
            const cJSON *count = get(series, "count");
            if (!cJSON_IsNumber(count) || count->valuedouble < 2)
                add_error(&e, "series.count", "", "should be at least 2");
            if (!time_set(series, "lastObservedTime"))
                add_error(&e, "series.lastObservedTime", NULL, NULL);
        }
        if (!time_set(core, "eventTime"))
            add_error(&e, "eventTime", NULL, NULL);
        const char *type = text_of(core, "type");
        if (strcmp(type, "Normal") != 0 && strcmp(type, "Warning") != 0) {
            char detail[300];
            snprintf(detail, sizeof detail, "has invalid value: %.200s", type);
            add_error(&e, "type", "", detail);
        }
        if (time_set(core, "firstTimestamp"))
            add_error(&e, "firstTimestamp", "", "needs to be unset");
        if (time_set(core, "lastTimestamp"))
            add_error(&e, "lastTimestamp", "", "needs to be unset");
        const cJSON *count = get(core, "count");
        if (cJSON_IsNumber(count) && count->valuedouble != 0)
            add_error(&e, "count", "", "needs to be unset");
        const cJSON *source = get(core, "source");
        if (text_of(source, "component")[0] || text_of(source, "host")[0])
            add_error(&e, "source", "", "needs to be unset");
    }
    if (e.n)
        snprintf(msg, msglen, "Event \"%s\" is invalid: %s%s%s", name ? name : "", e.n > 1 ? "[" : "", buf_str(&e.text),
                 e.n > 1 ? "]" : "");
    buf_release(&e.text);
    return e.n;
}
