#define _DEFAULT_SOURCE
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static struct log_opts opts = {.to_stderr = true, .stderr_threshold = 'E'};
static int log_fd = -1; /* the file, when not stderr only */

static int severity_rank(char s) { return s == 'F' ? 3 : s == 'E' ? 2 : s == 'W' ? 1 : 0; }

int log_init(const struct log_opts *o, char *err, size_t errlen)
{
    opts = *o;
    if (opts.to_stderr)
        return 0;
    char path[1024];
    if (opts.file && opts.file[0]) {
        snprintf(path, sizeof path, "%s", opts.file);
    } else {
        /* klog's name: program.host.user.log.INFO.yyyymmdd-hhmmss.pid (all severities go in it) */
        char host[256] = "unknownhost";
        gethostname(host, sizeof host - 1);
        const struct passwd *pw = getpwuid(getuid());
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        snprintf(path, sizeof path, "%s/propscaler.%s.%s.log.INFO.%04d%02d%02d-%02d%02d%02d.%d",
                 opts.dir && opts.dir[0] ? opts.dir : "/tmp", host, pw ? pw->pw_name : "unknownuser", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)getpid());
    }
    log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (log_fd < 0) {
        snprintf(err, errlen, "cannot open the log file %s: %s", path, strerror(errno));
        return -1;
    }
    if (!(opts.file && opts.file[0])) { /* and klog's propscaler.INFO link to the latest */
        char link[1100];
        snprintf(link, sizeof link, "%s/propscaler.INFO", opts.dir && opts.dir[0] ? opts.dir : "/tmp");
        unlink(link);
        if (symlink(strrchr(path, '/') + 1, link) != 0) {
            /* a missing link is not worth failing for */
        }
    }
    return 0;
}

bool log_enabled(int v) { return v <= opts.verbosity; }

static void emit(int fd, const char *s, size_t n)
{
    ssize_t w = write(fd, s, n);
    (void)w;
}

void log_write(char severity, int v, const char *file, int line, const char *const *kv, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char out[8192];
    int n;
    if (opts.json) {
        char caller[128];
        snprintf(caller, sizeof caller, "%s:%d", base, line);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddRawToObject(o, "ts", "0"); /* replaced below: cJSON prints doubles with 17 digits */
        cJSON_AddStringToObject(o, "caller", caller);
        cJSON_AddStringToObject(o, "msg", msg);
        if (severity != 'E' && severity != 'F')
            cJSON_AddNumberToObject(o, "v", v);
        for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2)
            cJSON_AddStringToObject(o, kv[i], kv[i + 1]);
        char ts[40];
        snprintf(ts, sizeof ts, "%lld.%06ld", (long long)tv.tv_sec, (long)tv.tv_usec);
        cJSON_ReplaceItemInObjectCaseSensitive(o, "ts", cJSON_CreateRaw(ts));
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        n = snprintf(out, sizeof out, "%s\n", text ? text : "{}");
        cJSON_free(text);
    } else {
        struct tm tm;
        localtime_r(&tv.tv_sec, &tm);
        /* the text line is CPA's, to the letter (operators grep it): the keys are in the JSON only */
        n = snprintf(out, sizeof out, "%c%02d%02d %02d:%02d:%02d.%06ld %7d %s:%d] %s\n", severity, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec, (int)getpid(), base, line, msg);
    }
    if (n <= 0)
        return;
    size_t len = (size_t)n < sizeof out ? (size_t)n : sizeof out - 1;
    if (log_fd < 0) {
        emit(2, out, len);
        return;
    }
    emit(log_fd, out, len);
    if (opts.also_to_stderr || severity_rank(severity) >= severity_rank(opts.stderr_threshold))
        emit(2, out, len);
}
