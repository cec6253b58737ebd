#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(struct progress *p, const char *what, const char *unit)
{
    const char *env = getenv("PROPSIM_PROGRESS");
    *p = (struct progress){.what = what, .unit = unit};
    p->on = env && *env ? strcmp(env, "0") != 0 : isatty(STDERR_FILENO) == 1;
    p->start = p->last = mono_now();
}

/* 1234567 -> "1.23M"; below 10,000 as is */
static void human(double v, char *out, size_t len)
{
    if (v >= 1e9)
        snprintf(out, len, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(out, len, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(out, len, "%.1fk", v / 1e3);
    else
        snprintf(out, len, "%.0f", v);
}

void progress_tick(struct progress *p, uint64_t count, uint64_t done, uint64_t total)
{
    if (!p->on || (++p->calls & 4095) != 0)
        return;
    double now = mono_now();
    if (p->drawn && now - p->last < 0.25) /* the first draw at once: short work shows too */
        return;
    p->last = now;
    double elapsed = now - p->start;
    char n[32], rate[32], share[64] = "";
    human((double)count, n, sizeof n);
    human(elapsed > 0 ? (double)count / elapsed : 0, rate, sizeof rate);
    if (total > 0 && done <= total && done > 0) {
        double f = (double)done / (double)total;
        double eta = elapsed * (1 - f) / f;
        snprintf(share, sizeof share, ", %.0f%%, ETA %.0f s", 100 * f, eta);
    }
    fprintf(stderr, "\r\033[K%s: %s %s, %s/s%s", p->what, n, p->unit, rate, share);
    fflush(stderr);
    p->drawn = true;
}

void progress_end(struct progress *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = false;
}

uint64_t progress_file_size(const char *path)
{
    struct stat st;
    if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    return (uint64_t)st.st_size;
}
