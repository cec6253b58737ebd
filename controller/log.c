#define _DEFAULT_SOURCE
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static bool log_json;
static int log_verbosity;

void log_init(bool json, int verbosity)
{
    log_json = json;
    log_verbosity = verbosity;
}

bool log_enabled(int v) { return v <= log_verbosity; }

void log_msg(char severity, const char *file, int line, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char out[8192];
    int n;
    if (log_json) {
        cJSON *o = cJSON_CreateObject();
        char ts[64];
        struct tm utc;
        gmtime_r(&tv.tv_sec, &utc);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &utc);
        char full[80];
        snprintf(full, sizeof full, "%s.%06ldZ", ts, (long)tv.tv_usec);
        cJSON_AddStringToObject(o, "ts", full);
        cJSON_AddStringToObject(o, "level", severity == 'E' ? "error" : severity == 'W' ? "warning" : "info");
        char caller[128];
        snprintf(caller, sizeof caller, "%s:%d", base, line);
        cJSON_AddStringToObject(o, "caller", caller);
        cJSON_AddStringToObject(o, "msg", msg);
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        n = snprintf(out, sizeof out, "%s\n", text ? text : "{}");
        cJSON_free(text);
    } else {
        n = snprintf(out, sizeof out, "%c%02d%02d %02d:%02d:%02d.%06ld %7d %s:%d] %s\n", severity, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec, (int)getpid(), base, line, msg);
    }
    if (n > 0) {
        size_t len = (size_t)n < sizeof out ? (size_t)n : sizeof out - 1;
        ssize_t w = write(2, out, len);
        (void)w;
    }
}
