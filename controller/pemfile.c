/* pemfile — see pemfile.h. */
#define _GNU_SOURCE
#include "pemfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int pemfile_open(struct pemfile *f, const char *name, const void *data, size_t len, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    int fd = memfd_create("propscaler-tls", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot hold it in memory (memfd_create: %s)", name, strerror(errno));
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "%s: cannot hold it in memory (write: %s)", name, strerror(w < 0 ? errno : EIO));
            close(fd);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
        snprintf(err, errlen, "%s: cannot seal it (fcntl: %s)", name, strerror(errno));
        close(fd);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", fd);
    /* the path is what libcurl opens: check now that it can (no /proc: said here, not at the
     * first connection as a TLS error) */
    int probe = open(f->path, O_RDONLY | O_CLOEXEC);
    if (probe < 0) {
        snprintf(err, errlen, "%s: %s cannot be opened (%s): is /proc mounted?", name, f->path, strerror(errno));
        close(fd);
        return -1;
    }
    close(probe);
    f->fd = fd;
    f->open = 1;
    return 0;
}

void pemfile_close(struct pemfile *f)
{
    if (f->open)
        close(f->fd);
    f->open = 0;
    f->fd = -1;
    f->path[0] = '\0';
}
