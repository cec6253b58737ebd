/* Fuzz what an exec credential plugin prints (execcred_parse_output), for both API versions, and
 * the kubeconfig's exec block (execcred_config_parse) from the same bytes as JSON. A credential
 * that parses has a non-empty token with no control character or space (it goes into a header). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "execcred.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const versions[] = {"client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"};
    char err[1024];
    struct exec_credential c;
    if (execcred_parse_output((const char *)data, size, versions[size % 2], &c, err, sizeof err) == 0) {
        if (!c.token || !c.token[0])
            __builtin_trap();
        for (const char *p = c.token; *p; p++)
            if ((unsigned char)*p <= 0x20 || *p == 0x7f)
                __builtin_trap();
        execcred_credential_release(&c);
    }
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (j) {
        struct exec_plugin p;
        if (execcred_config_parse(j, "fuzz", size % 3 ? "/etc/kube" : NULL, &p, err, sizeof err) == 0) {
            if (!p.command || !p.command[0] || !p.api_version)
                __builtin_trap();
            execcred_config_release(&p);
        }
        cJSON_Delete(j);
    }
    return 0;
}
