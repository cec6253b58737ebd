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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[] = "/tmp/fuzz-g2011-in-XXXXXX", out[] = "/tmp/fuzz-g2011-out-XXXXXX";
    if (fuzz_to_file(in, data, size) != 0)
        return 0;
    if (fuzz_to_file(out, data, 0) != 0) {
        unlink(in);
        return 0;
    }
    /* its per-row complaints go to stderr: silenced for the call, libFuzzer's reports are not */
    int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);
    if (null >= 0)
        dup2(null, STDERR_FILENO);
    int rc = import_google2011(in, 32, out);
    if (saved >= 0) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
    if (null >= 0)
        close(null);
    if (rc == 0)
        fuzz_replay_trace(out);
    unlink(in);
    unlink(out);
    return 0;
}
