/* Fuzz kubeconfig loading as propscaler --kubeconfig does it: the bytes as a kubeconfig file
 * (YAML walk, contexts, base64 -data fields, file references resolved against its directory,
 * the startup credential checks). Whatever loads must be usable: a server URL with a host. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/fuzz-kubeconfig-XXXXXX";
    if (fuzz_to_file(path, data, size) != 0)
        return 0;
    struct kube_endpoint ep;
    char err[1024];
    if (kubeconfig_load(path, size && data[0] == '#' ? "fuzz" : NULL, &ep, err, sizeof err) == 0) {
        if (!ep.server || (strncmp(ep.server, "http://", 7) != 0 && strncmp(ep.server, "https://", 8) != 0))
            __builtin_trap();
        kube_endpoint_release(&ep);
    }
    unlink(path);
    return 0;
}
