#include "tracewrite.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "decimal.h"

struct tracewriter {
    FILE *f;
    gzFile gz;
    char *path;
    unsigned long count;
    bool failed;
};

unsigned long tracewriter_count(const struct tracewriter *w) { return w->count; }

struct tracewriter *tracewriter_open(const char *path, char *err, size_t errlen)
{
    struct tracewriter *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t n = strlen(path);
    if (n > 3 && strcmp(path + n - 3, ".gz") == 0)
        w->gz = gzopen(path, "wb6");
    else
        w->f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!w->gz && !w->f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        free(w);
        return NULL;
    }
    if (w->gz)
        gzbuffer(w->gz, 256 * 1024);
    else if (w->f != stdout)
        setvbuf(w->f, NULL, _IOFBF, 1 << 16);
    w->path = strdup(path);
    return w;
}

int tracewriter_node(struct tracewriter *w, double t, const char *type, const char *name, int64_t cpu_milli,
                     bool ready, bool cordoned)
{
    char line[1024], ts[DECIMAL_BUF];
    decimal_format6(t, ts); /* exactly %.6f, without printf's float path (traces have millions of lines) */
    int n;
    if (strcmp(type, "DELETED") == 0)
        n = snprintf(line, sizeof line,
                     "{\"t\":%s,\"type\":\"DELETED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\"}}}\n",
                     ts, name);
    else {
        char cpu[64] = "";
        if (cpu_milli >= 0)
            snprintf(cpu, sizeof cpu, "\"allocatable\":{\"cpu\":\"%lldm\"},", (long long)cpu_milli);
        n = snprintf(line, sizeof line,
                     "{\"t\":%s,\"type\":\"%s\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
                     "\"labels\":{\"kubernetes.io/hostname\":\"%s\"}},\"spec\":{%s},\"status\":{%s\"conditions\":[{\"type\":"
                     "\"Ready\",\"status\":\"%s\"}]}}}\n",
                     ts, type, name, name, cordoned ? "\"unschedulable\":true" : "", cpu, ready ? "True" : "False");
    }
    if (n < 0 || (size_t)n >= sizeof line)
        return -1;
    size_t len = (size_t)n;
    if (w->gz ? gzwrite(w->gz, line, (unsigned)len) != (int)len : fwrite(line, 1, len, w->f) != len)
        w->failed = true;
    w->count++;
    return w->failed ? -1 : 0;
}

int tracewriter_raw(struct tracewriter *w, double t, const char *type, const char *object_json)
{
    char head[96];
    int n = snprintf(head, sizeof head, "{\"t\":%.6f,\"type\":\"%s\",\"object\":", t, type);
    if (n < 0 || (size_t)n >= sizeof head)
        return -1;
    size_t ol = strlen(object_json);
    if (w->gz) {
        if (gzwrite(w->gz, head, (unsigned)n) != n || gzwrite(w->gz, object_json, (unsigned)ol) != (int)ol ||
            gzwrite(w->gz, "}\n", 2) != 2)
            w->failed = true;
    } else if (fwrite(head, 1, (size_t)n, w->f) != (size_t)n || fwrite(object_json, 1, ol, w->f) != ol ||
               fwrite("}\n", 1, 2, w->f) != 2) {
        w->failed = true;
    }
    w->count++;
    return w->failed ? -1 : 0;
}

int tracewriter_close(struct tracewriter *w, char *err, size_t errlen)
{
    int rc = w->failed ? -1 : 0;
    if (w->gz) {
        if (gzclose(w->gz) != Z_OK)
            rc = -1;
    } else if (w->f != stdout) {
        if (fclose(w->f) != 0)
            rc = -1;
    } else if (fflush(stdout) != 0) {
        rc = -1;
    }
    if (rc != 0)
        snprintf(err, errlen, "writing %s failed: %s", w->path ? w->path : "the trace", strerror(errno));
    free(w->path);
    free(w);
    return rc;
}
