/*
 * serve_http_internal — what the files of propsim serve's HTTP side share. Private to them:
 *   serve_http.c   responses, headers and the audit log, /propsim control endpoints, routing
 *   serve_read.c   discovery, OpenAPI, LIST with consistent paging
 *   serve_watch.c  WATCH streams (resume, 410, bookmarks, label transitions)
 *   serve_write.c  create, update, merge and strategic-merge patch, delete, the Scale view
 * Each handler answers the connection itself (send_*) and returns libmicrohttpd's result.
 */
#ifndef PROPSIM_SERVE_HTTP_INTERNAL_H
#define PROPSIM_SERVE_HTTP_INTERNAL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "apipath.h"
#include "buf.h"
#include "selector.h"
#include "serve.h"
#include "serve_hostile.h"
#include "serve_park.h"
#include "kfilter.h"
#include "kpatch.h"
#include "ktable.h"

enum verb { V_GET, V_LIST, V_WATCH, V_CREATE, V_UPDATE, V_PATCH, V_DELETE, V_OTHER };

void count_response(struct serve_ctx *ctx, size_t bytes, unsigned code, const char *method, const char *url);
enum MHD_Result send_body(struct MHD_Connection *c, struct serve_ctx *ctx, unsigned code, char *body, size_t len, const char *hname, const char *hvalue, const char *method, const char *url);
enum MHD_Result send_json(struct MHD_Connection *c, struct serve_ctx *ctx, unsigned code, cJSON *j, const char *method, const char *url);
enum MHD_Result send_readable(struct MHD_Connection *c, struct serve_ctx *ctx, const struct kresource_def *d, char *body,
                              size_t len, const char *method, const char *url);
enum MHD_Result send_not_found(struct MHD_Connection *c, struct serve_ctx *ctx, const struct kresource_def *d,
                               const struct api_request *r, const char *method, const char *url);
cJSON *status_object_details(unsigned code, const char *reason, const char *message, const char *name,
                             const char *group, const char *kind);
cJSON *status_object(unsigned code, const char *reason, const char *message, const char *name, const struct kresource_def *d);
enum MHD_Result send_status(struct MHD_Connection *c, struct serve_ctx *ctx, unsigned code, const char *reason, const char *message, const char *name, const struct kresource_def *d, const char *method, const char *url);
enum MHD_Result send_kobj(struct MHD_Connection *c, struct serve_ctx *ctx, unsigned code, struct kobj *o, const char *method, const char *url);
/* serve_control.c: the /propsim/... endpoints */
enum MHD_Result serve_control(struct MHD_Connection *c, struct serve_ctx *ctx, const char *url, const char *method);
enum MHD_Result send_store_error(struct MHD_Connection *c, struct serve_ctx *ctx, enum kstore_status st, const char *msg, const char *name, const struct kresource_def *d, const char *method, const char *url);
const char *header(struct MHD_Connection *c, const char *name);
void audit_write(struct serve_ctx *ctx, struct MHD_Connection *c, struct kresource *res, const struct kobj *out, bool deleted);
enum MHD_Result discovery(struct MHD_Connection *c, struct serve_ctx *ctx, const struct api_request *r, const char *method, const char *url);
enum MHD_Result openapi_v3(struct MHD_Connection *c, struct serve_ctx *ctx, const char *url, const char *method);
enum MHD_Result do_list(struct MHD_Connection *c, struct serve_ctx *ctx, struct kresource *res, const struct api_request *r, const char *method, const char *url);
enum MHD_Result do_watch(struct MHD_Connection *c, struct serve_ctx *ctx, struct kresource *res, const struct api_request *r, const char *method, const char *url);
enum patch_type { PATCH_MERGE, PATCH_STRATEGIC, PATCH_JSON };
enum MHD_Result do_patch_like(struct MHD_Connection *c, struct serve_ctx *ctx, struct kresource *res, const struct api_request *r, const cJSON *patch, enum patch_type type, bool scale, const char *method, const char *url);
enum MHD_Result do_write(struct MHD_Connection *c, struct serve_ctx *ctx, struct kresource *res, const struct api_request *r, enum verb v, const char *body, size_t blen, const char *method, const char *url);
cJSON *scale_of(const struct kobj *o);
/* The admission slot of the request this thread is handling (NULL outside a request). */
struct admit_result *serve_current_admission(void);

#endif
