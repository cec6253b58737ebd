/*
 * cmfile — the params of a ConfigMap named in a targets file, read from YAML/JSON files of
 * manifests (`propsim eval --configmap FILE`, `propsim replay --config FILE`): the first document
 * of kind ConfigMap with that metadata.name, through CPA's own parser (params.h).
 *
 * Ownership: *out is caller-owned storage (params_init'ed); replaced on success only. Returns 0,
 * or -1 with a message naming the file and the ConfigMap.
 */
#ifndef PROPSIM_CMFILE_H
#define PROPSIM_CMFILE_H

#include <stddef.h>

#include "params.h"

int cmfile_params(const char *const *paths, size_t n_paths, const char *name, struct params *out, char *err,
                  size_t errlen);

#endif
