/* Fuzz `propsim check`'s manifest walk: the bytes as a manifest file (multi-document YAML, lists,
 * Deployments and StatefulSets, autoscaler Deployments naming their targets, affinity terms and
 * topology spread constraints), with and without a --target. */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_common.h"

#include "check.h"
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_stdout();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[] = "/tmp/fuzz-check-XXXXXX";
    if (fuzz_to_file(in, data, size) != 0)
        return 0;
    char *plain[] = {"check", in, NULL};
    char *targeted[] = {"check", in, "--target", "deployment/coredns", "--output", "json", NULL};
    if (size && (data[0] & 1))
        check_main(6, targeted);
    else
        check_main(2, plain);
    unlink(in);
    return 0;
}
