/*
 * apipath — Kubernetes API request paths and query strings, parsed into a typed request.
 *
 *   /api/v1/{resource}[/{name}[/{sub}]]                          core, cluster-scoped or all namespaces
 *   /api/v1/namespaces/{ns}/{resource}[/{name}[/{sub}]]          core, namespaced
 *   /apis/{group}/{version}/...                                  the same shapes for a group
 *   /api, /api/v1, /apis, /apis/{group}, /apis/{group}/{version}, /version   discovery
 *
 * Query parameters kept: labelSelector, fieldSelector, limit, continue, watch,
 * resourceVersion, resourceVersionMatch, allowWatchBookmarks, timeoutSeconds,
 * sendInitialEvents, dryRun, fieldManager, fieldValidation (others are ignored, as the API
 * server ignores unknown ones). Values are URL-decoded.
 *
 * Pure: no I/O. Ownership: struct api_request is caller-owned storage; apipath_parse() fills it
 * with heap strings released by apipath_release(). Returns 0, or -1 with a message (the server
 * answers 404 or 400 with it).
 */
#ifndef PROPSIM_APIPATH_H
#define PROPSIM_APIPATH_H

#include <stdbool.h>
#include <stddef.h>

enum api_path_kind {
    AP_VERSION,           /* /version */
    AP_DISCOVERY_API,     /* /api */
    AP_DISCOVERY_APIS,    /* /apis */
    AP_DISCOVERY_GROUP,   /* /apis/{group} */
    AP_DISCOVERY_GV,      /* /api/v1 or /apis/{group}/{version} */
    AP_RESOURCE,          /* a collection, an object, or a subresource */
};

#define APIPATH_MAX_URL 8192

struct api_request {
    enum api_path_kind kind;
    char *group;       /* "" for the core group */
    char *version;
    char *namespace_;  /* NULL: cluster-scoped or all namespaces */
    char *resource;    /* plural, lowercase: nodes, deployments, ... */
    char *name;        /* NULL for a collection */
    char *subresource; /* "scale", "status", or NULL */
    /* query */
    char *label_selector;
    char *field_selector;
    char *continue_token;
    char *resource_version; /* NULL when absent */
    char *resource_version_match;
    long limit;             /* 0 = none */
    long timeout_seconds;   /* 0 = none */
    bool watch;
    bool allow_bookmarks;
    bool send_initial_events;
    bool dry_run;
};

int apipath_parse(const char *url, const char *query, struct api_request *out, char *err, size_t errlen);
void apipath_release(struct api_request *r);

/* Set one query parameter from its raw (still URL-encoded) key and value. */
int apipath_set_param(struct api_request *r, const char *key_raw, size_t klen, const char *val_raw, size_t vlen,
                      char *err, size_t errlen);

/* Decode %XX and '+' (in queries) into a new string; NULL on malformed escapes. */
char *apipath_url_decode(const char *s, size_t len, bool plus_is_space);

#endif
