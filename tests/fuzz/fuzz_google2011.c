/* Fuzz the Google 2011 importer as `propsim import google2011` runs it: the bytes as a
 * machine_events CSV -> a trace, which is read back with the trace reader as replay would. */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "import.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_stdout();
    return 0;
}

static int import(const char *in, const char *out, const void *ctx)
{
    (void)ctx;
    return import_google2011(in, 32, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_import_then_replay(data, size, import, NULL);
    return 0;
}
