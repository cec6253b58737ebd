/*
 * `propsim guard`: the guard's rule for other tools' runbooks — may these nodes be removed?
 *   propsim guard --nodes N --remove K [--max-node-loss 50%] [--min-absolute 3]
 *   propsim guard --nodelist FILE --remove NAME... [--max-node-loss 50%]
 * The node-removal webhook's rule (policies/nodeguard) for K removals at once; with --nodelist,
 * more than the share of the nodes NotReady refuses any removal (an outage).
 * Exit 0: allow; 1: refuse; 2: usage or input error. The reason is printed on stdout.
 */
#define _DEFAULT_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fileio.h"
#include "guardcli.h"
#include "guard.h"
#include "yamljson.h"

static void usage(FILE *out)
{
    fputs("usage: propsim guard --nodes N --remove K [--max-node-loss 50%] [--min-absolute 3]\n"
          "       propsim guard --nodelist FILE --remove NAME... [--max-node-loss 50%]\n"
          "Answers allow (exit 0) or refuse (exit 1), with the reason: removing more than the given share\n"
          "of the nodes at once looks like a control-plane outage, not a real need.\n",
          out);
}

int guard_main(int argc, char **argv)
{
    enum { O_NODES = 256, O_REMOVE, O_LOSS, O_MIN, O_LIST, O_HELP };
    static const struct option longopts[] = {
        {"nodes", required_argument, NULL, O_NODES}, {"remove", required_argument, NULL, O_REMOVE},
        {"max-node-loss", required_argument, NULL, O_LOSS}, {"min-absolute", required_argument, NULL, O_MIN},
        {"nodelist", required_argument, NULL, O_LIST}, {"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0},
    };
    struct guard_opts o;
    guard_opts_default(&o);
    long nodes = -1, remove = -1, ready = -1;
    const char *list = NULL;
    const char *names[4096];
    int n_names = 0;
    char err[512], *end;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case O_NODES:
            nodes = strtol(optarg, &end, 10);
            if (*end || nodes < 0) {
                fprintf(stderr, "propsim guard: --nodes: expected a non-negative integer\n");
                return 2;
            }
            break;
        case O_REMOVE:
            if (list || strspn(optarg, "0123456789") != strlen(optarg) || !optarg[0]) {
                if (n_names < 4096)
                    names[n_names++] = optarg;
            } else {
                remove = strtol(optarg, &end, 10);
            }
            break;
        case O_LOSS:
            if (guard_parse_share(optarg, &o.max_node_loss, err, sizeof err) != 0) {
                fprintf(stderr, "propsim guard: --max-node-loss: %s\n", err);
                return 2;
            }
            break;
        case O_MIN:
            o.min_absolute = strtol(optarg, &end, 10);
            if (end == optarg || *end || o.min_absolute < 0) {
                fprintf(stderr, "propsim guard: --min-absolute: expected a non-negative integer, got \"%s\"\n", optarg);
                return 2;
            }
            break;
        case O_LIST: list = optarg; break;
        case 'h':
        case O_HELP: usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    for (; optind < argc && n_names < 4096; optind++) /* more names after --remove NAME */
        names[n_names++] = argv[optind];
    if (list) {
        char *data = NULL;
        size_t len;
        if (fileio_read_all(list, 512u << 20, &data, &len, err, sizeof err) != 0) {
            fprintf(stderr, "propsim guard: %s\n", err);
            return 2;
        }
        cJSON *docs = yamljson_parse(data, len, err, sizeof err);
        free(data);
        if (!docs) {
            fprintf(stderr, "propsim guard: %s: %s\n", list, err);
            return 2;
        }
        nodes = 0;
        ready = 0;
        remove = 0;
        const cJSON *doc, *it;
        cJSON_ArrayForEach(doc, docs)
        {
            const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
            cJSON_ArrayForEach(it, items)
            {
                const cJSON *name = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(it, "metadata"), "name");
                if (!cJSON_IsString(name))
                    continue;
                nodes++;
                const cJSON *cond;
                cJSON_ArrayForEach(cond, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(it, "status"), "conditions"))
                {
                    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(cond, "type"), *st = cJSON_GetObjectItemCaseSensitive(cond, "status");
                    if (cJSON_IsString(ty) && strcmp(ty->valuestring, "Ready") == 0 && cJSON_IsString(st) &&
                        strcmp(st->valuestring, "True") == 0)
                        ready++;
                }
                for (int i = 0; i < n_names; i++)
                    if (strcmp(names[i], name->valuestring) == 0) {
                        remove++;
                        break;
                    }
            }
        }
        cJSON_Delete(docs);
        if (remove < n_names) {
            fprintf(stderr, "propsim guard: %ld of the %d names to remove are not in %s\n", (long)n_names - remove, n_names, list);
            return 2;
        }
    }
    if (nodes < 0 || remove < 0) {
        usage(stderr);
        return 2;
    }
    char reason[512];
    int allow = guard_allow_removal(&o, nodes, ready < 0 ? nodes : ready, remove, reason, sizeof reason);
    printf("%s\n", reason);
    return allow ? 0 : 1;
}
