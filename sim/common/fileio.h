/*
 * fileio — read whole files (or stdin as "-") into memory with a size cap.
 *
 * Ownership: *data is heap memory the caller frees; it is NUL-terminated (the NUL is not
 * counted in *len). Returns 0, or -1 with a message naming the path and the reason.
 */
#ifndef PROPSIM_FILEIO_H
#define PROPSIM_FILEIO_H

#include <stddef.h>

int fileio_read_all(const char *path, size_t cap, char **data, size_t *len, char *err, size_t errlen);

#endif
