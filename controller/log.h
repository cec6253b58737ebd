/*
 * log — klog-style lines ("I1124 08:56:25.123456    4242 reconcile.c:120] message") by default;
 * with --log-format=json one object per line in Kubernetes' JSON log schema: "ts" (Unix seconds,
 * fractional), "caller", "msg", "v" (the message's verbosity; absent on errors, as klog's JSON
 * output does) and structured keys (LOG_INFO_KV: e.g. target, from, to; the text line stays CPA's).
 * Destinations as klog's flags say: stderr (default), or a file (--log-file, or a file named like
 * klog's in --log-dir) with --alsologtostderr / --stderrthreshold copying lines to stderr.
 * Verbosity as glog's -v. Thread-safe (one write(2) per line and destination). Never pass secrets.
 */
#ifndef PROPSCALER_LOG_H
#define PROPSCALER_LOG_H

#include <stdbool.h>
#include <stddef.h>

struct log_opts {
    bool json;
    int verbosity;
    bool to_stderr;          /* --logtostderr (true: stderr only) */
    bool also_to_stderr;     /* --alsologtostderr */
    char stderr_threshold;   /* I W E F */
    const char *file;        /* --log-file */
    const char *dir;         /* --log-dir (default /tmp when neither is given) */
};

/* 0, or -1 with err naming the file that cannot be opened. */
int log_init(const struct log_opts *o, char *err, size_t errlen);
bool log_enabled(int v);
/* kv: NULL, or {key, value, key, value, ..., NULL} */
void log_write(char severity, int v, const char *file, int line, const char *const *kv, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#define log_msg(severity, file, line, ...) log_write(severity, 0, file, line, NULL, __VA_ARGS__)
#define LOG_INFO(...) log_write('I', 0, __FILE__, __LINE__, NULL, __VA_ARGS__)
#define LOG_INFO_KV(kv, ...) log_write('I', 0, __FILE__, __LINE__, kv, __VA_ARGS__)
#define LOG_WARN(...) log_write('W', 0, __FILE__, __LINE__, NULL, __VA_ARGS__)
#define LOG_ERROR(...) log_write('E', 0, __FILE__, __LINE__, NULL, __VA_ARGS__)
#define LOG_V(v, ...) \
    do { \
        if (log_enabled(v)) \
            log_write('I', v, __FILE__, __LINE__, NULL, __VA_ARGS__); \
    } while (0)

#endif
