/*
 * log — klog-style lines ("I1124 08:56:25.123456    4242 reconcile.c:120] message") by default,
 * one JSON object per line with --log-format=json. Verbosity as glog's -v. Writes to stderr.
 * Thread-safe (one write(2) per line). Never pass secrets.
 */
#ifndef PROPSCALER_LOG_H
#define PROPSCALER_LOG_H

#include <stdbool.h>

void log_init(bool json, int verbosity);
bool log_enabled(int v);
void log_msg(char severity, const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define LOG_INFO(...) log_msg('I', __FILE__, __LINE__, __VA_ARGS__)
#define LOG_WARN(...) log_msg('W', __FILE__, __LINE__, __VA_ARGS__)
#define LOG_ERROR(...) log_msg('E', __FILE__, __LINE__, __VA_ARGS__)
#define LOG_V(v, ...) \
    do { \
        if (log_enabled(v)) \
            log_msg('I', __FILE__, __LINE__, __VA_ARGS__); \
    } while (0)

#endif
