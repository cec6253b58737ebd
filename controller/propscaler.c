/*
 * propscaler — the in-cluster controller. This build parses and validates the complete CPA
 * command line (and propscaler's own flags), so an unchanged CPA manifest can be checked
 * against it; the watch-driven loop (Kubernetes client, reflector, reconcile, HTTP endpoints)
 * is issue #4 and is not in this build: after validating, it says so and exits 1.
 */
#include <stdio.h>

#include "flags.h"

int main(int argc, char **argv)
{
    struct propscaler_config cfg;
    flags_init(&cfg);
    char err[1024];
    enum flags_result r = flags_parse(&cfg, argc, (const char *const *)argv, err, sizeof err);
    if (r != FLAGS_OK) {
        if (r == FLAGS_ERROR)
            fprintf(stderr, "propscaler: %s\n", err);
        flags_release(&cfg);
        return r == FLAGS_EXIT_OK ? 0 : 2;
    }
    fprintf(stderr, "propscaler %s: configuration is valid: namespace %s, configmap %s, %zu target(s):",
            PROPSCALER_VERSION, cfg.namespace_, cfg.configmap, cfg.n_targets);
    for (size_t i = 0; i < cfg.n_targets; i++)
        fprintf(stderr, " %s/%s", target_kind_name(cfg.targets[i].kind), cfg.targets[i].name);
    fprintf(stderr, "; poll period %ds%s%s\n", cfg.poll_period_seconds, cfg.has_default_params ? "; default params set" : "",
            cfg.dry_run ? "; dry run" : "");
    fprintf(stderr, "propscaler: the watch-driven controller loop is not part of this build yet; exiting\n");
    flags_release(&cfg);
    return 1;
}
