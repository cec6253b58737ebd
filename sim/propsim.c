/*
 * propsim — everything offline: evaluate CPA decisions, replay recorded cluster histories, lint
 * manifests, generate scenarios, import traces and serve an emulated API server. Each command
 * has its folder (serve/, replay/, import/, tools/: sim/CMakeLists.txt) and a *_main entry point.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "eval.h"
#include "generate.h"
#include "guardcli.h"
#include "import.h"
#include "replay.h"
#include "serve.h"

static void usage(FILE *out)
{
    fputs("usage: propsim COMMAND [options]\n"
          "\n"
          "commands:\n"
          "  eval      the replica count CPA would choose for given params and cluster\n"
          "  serve     an emulated Kubernetes API server that plays a cluster history\n"
          "  replay    replay a recorded cluster history offline: timeline, summary, chart\n"
          "  import    a recorded cluster history into a trace (google2011, kubectl-watch, kwok, alibaba2017,\n"
          "            alibaba2018, or csv: any machine-event table, given its columns)\n"
          "  generate  synthetic scenarios: growth, outage, mass-delete, upgrade, flapping\n"
          "  guard     may K of N nodes be removed? the safety guard's rule for runbooks\n"
          "  check     lint manifests: replicas spread across nodes (hostname anti-affinity)\n"
          "\n"
          "`propsim COMMAND --help` describes a command. propsim --version prints the version.\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "eval") == 0)
        return eval_main(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return check_main(argc - 1, argv + 1);
    if (strcmp(cmd, "guard") == 0)
        return guard_main(argc - 1, argv + 1);
    if (strcmp(cmd, "generate") == 0)
        return generate_main(argc - 1, argv + 1);
    if (strcmp(cmd, "import") == 0)
        return import_main(argc - 1, argv + 1);
    if (strcmp(cmd, "replay") == 0)
        return replay_main(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0)
        return serve_main(argc - 1, argv + 1);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("propsim %s\n", PROPSCALER_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "propsim: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return 2;
}
