/* Fuzz Kubernetes quantity parsing; check the milli/nano relation on success (milli-units also
 * parse values too large for nano-units). */
#include <stddef.h>
#include <stdint.h>

#include "quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t nano, milli;
    char err[256];
    int a = quantity_parse_nano((const char *)data, size, &nano, err, sizeof err);
    int b = quantity_parse_milli((const char *)data, size, &milli, err, sizeof err);
    if (a == 0 && b != 0) /* milli-units reach further than nano-units, never less far */
        __builtin_trap();
    if (a == 0 && milli != quantity_nano_to_milli_ceil(nano))
        __builtin_trap();
    return 0;
}
