/* Fuzz the machine-event importers as `propsim import alibaba2017|alibaba2018|csv` run them: the
 * bytes as the table (a hash of them picks the format: the two Alibaba presets, or a generic CSV
 * with quoted fields, a header, a cordon/uncordon map and --recover-after) -> a trace, which is
 * read back with the trace reader as replay would. */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "import_machines.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct machine_import_opts presets[3];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_stdout();
    machine_opts_alibaba2017(&presets[0]);
    presets[0].recover_after = 600;
    machine_opts_alibaba2018(&presets[1]);
    machine_opts_csv(&presets[2]);
    presets[2].time_col = 1;
    presets[2].machine_col = 2;
    presets[2].event_col = 3;
    presets[2].cpu_col = 4;
    presets[2].time_scale = 1e-3;
    presets[2].recover_after = 60;
    if (machine_map_parse(&presets[2], "up=ADDED,down=DELETED,drain=cordon,undrain=uncordon,bad=NotReady,ok=Ready,"
                                       "upd=MODIFIED,ping=ignore", NULL, 0) != 0)
        abort();
    return 0;
}

static int import(const char *in, const char *out, const void *ctx)
{
    return import_machines(in, ctx, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_import_then_replay(data, size, import, &presets[fuzz_input_hash(data, size) % 3]);
    return 0;
}
