/*
 * pemfile — TLS material held in memory, handed to libcurl as a file path.
 *
 * Why: propscaler's libcurl is Debian's GnuTLS flavour (one TLS library in the process: the
 * webhook server (libmicrohttpd), the certificate checks and the self-signed certificates use
 * GnuTLS already; the OpenSSL flavour added ~1.3 MB of resident pages). Its GnuTLS backend
 * (libcurl 7.88) takes a CA bundle, a client certificate and its key only as paths:
 * CURLOPT_CAINFO_BLOB / SSLCERT_BLOB / SSLKEY_BLOB answer CURLE_NOT_BUILT_IN there. So the
 * bytes go into a sealed memfd and libcurl is given "/proc/self/fd/N": nothing is written to
 * a disk or a shared directory, the content cannot be changed once sealed (a key swapped under
 * a running process), and the descriptor is closed on exec (an exec credential plugin does not
 * inherit it). Each open of the path is a new file description, so libcurl reading it from the
 * start on every connection is safe. Works with any libcurl flavour.
 *
 * Ownership: struct pemfile is caller-owned; pemfile_close releases the descriptor (safe on a
 * zeroed or already closed one). Needs /proc mounted (every container runtime does).
 */
#ifndef PROPSCALER_PEMFILE_H
#define PROPSCALER_PEMFILE_H

#include <stddef.h>

struct pemfile {
    int open;      /* 0: nothing held (a zeroed struct is closed) */
    int fd;
    char path[32]; /* "/proc/self/fd/N" while open */
};

/* name says what it holds (for err: "the client key"). 0, or -1 with err naming the failure. */
int pemfile_open(struct pemfile *f, const char *name, const void *data, size_t len, char *err, size_t errlen);
void pemfile_close(struct pemfile *f);

#endif
