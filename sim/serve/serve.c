/* `propsim serve`: options, startup, shutdown. See serve.h. */
#define _DEFAULT_SOURCE
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <nettle/base64.h>

#include "fileio.h"
#include "selfcert.h"
#include "serve_admit.h"
#include "serve_hostile.h"
#include "serve_park.h"

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

static void usage(FILE *out)
{
    fputs("usage: propsim serve [--listen 127.0.0.1:PORT] [--nodes N] [--trace FILE [--speed X] [--paused]]\n"
          "                     [--apply FILE]... [--tls-cert F --tls-key F] [--token T] [--write-kubeconfig FILE]\n"
          "\n"
          "An emulated Kubernetes API server on loopback whose nodes follow a trace. Runs until SIGTERM/SIGINT.\n"
          "  --listen ADDR:PORT        address (loopback IPv4) and port; port 0 picks a free one (default 127.0.0.1:8001)\n"
          "  --nodes N                 start with N realistic generated nodes\n"
          "  --trace FILE              play a trace (JSON lines {\"t\":s,\"type\":..,\"object\":{..}}, .gz read directly)\n"
          "  --speed X                 play X times faster than recorded (default 1; 0 = as fast as possible)\n"
          "  --paused                  start paused; advance with POST /propsim/step?n=N, /propsim/resume\n"
          "  --apply FILE              create the objects of a YAML/JSON manifest (repeatable)\n"
          "  --tls-cert F --tls-key F  serve HTTPS with this PEM certificate and key\n"
          "  --token T                 require Authorization: Bearer T (401 otherwise); served over HTTPS\n"
          "                            (a generated self-signed certificate unless --tls-cert is given: kubectl\n"
          "                            never sends a token over plain http), its CA in --write-kubeconfig\n"
          "  --write-kubeconfig FILE   write a kubeconfig for kubectl and propscaler\n"
          "  --watch-window N          events of history kept per resource for watch resume (default 10000)\n"
          "  --bookmark-interval S     seconds between BOOKMARK events on watches that ask (default 60, as\n"
          "                            kube-apiserver; one also comes 2 s before the watch's deadline)\n"
          "  --scheduler spread|most-requested  how pods of workloads are placed (default spread)\n"
          "  --no-pods                 do not create pods for workloads\n"
          "Fault injection:\n"
          "  --fail-rate F             answer this fraction of API requests with --fail-code (default 500)\n"
          "  --fail-code 500|429       429 carries Retry-After (--retry-after S, default 1)\n"
          "  --latency-ms N            delay every API request\n"
          "  --cut-watch-after S       end every watch stream after S seconds\n"
          "  --cut-watch-events N      end every watch stream after N events\n"
          "  --audit-log FILE          append a line per API request (REQ), workload replica write (WRITE),\n"
          "                            node count change (NODES) and Lease holder (LEASE), wall-clock stamped\n"
          "  --hostile MODE            answer reads with malformed bodies: list-no-items, list-wrong-kind,\n"
          "                            list-items-not-array, scale-huge, scale-string, scale-fraction, html,\n"
          "                            truncated, protobuf, deep, huge (none: off)\n"
          "Control: GET /propsim/stats, GET /propsim/requests,\n"
          "         POST /propsim/pause|resume|step?n=N  (trace playback)\n"
          "         POST /propsim/compact                (expire every resourceVersion so far: 410s)\n"
          "         POST /propsim/stop|start             (API outage: 503s, open watches end)\n"
          "         POST /propsim/drain?seconds=S        (a graceful stop: new requests 503, open watches\n"
          "                                              stream S more seconds, then end; /propsim/start ends it)\n"
          "         POST /propsim/faults?fail_rate=F&fail_code=C&retry_after=S&latency_ms=N&answer_delay_ms=N&cut_watch_after=S&cut_watch_events=N&hostile=MODE\n"
          "         POST /propsim/faults?token=T         (rotate the accepted bearer token)\n",
          out);
}

static int write_kubeconfig(const char *path, const struct serve_ctx *ctx, const char *cert_pem, char *err, size_t errlen)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    /* it may hold the bearer token: owner-only, like kubectl's own files */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 && fchmod(fd, 0600) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fprintf(f, "apiVersion: v1\nkind: Config\nclusters:\n- name: propsim\n  cluster:\n    server: %s://%s:%d\n",
            ctx->tls ? "https" : "http", ctx->listen_host, ctx->port);
    if (cert_pem) {
        /* base64 of the PEM, as certificate-authority-data (Nettle's encoder) */
        size_t n = strlen(cert_pem);
        char *b64 = malloc(BASE64_ENCODE_RAW_LENGTH(n) + 1);
        if (!b64) {
            fclose(f);
            unlink(tmp);
            snprintf(err, errlen, "out of memory writing %s", path);
            return -1;
        }
        base64_encode_raw(b64, n, (const uint8_t *)cert_pem);
        b64[BASE64_ENCODE_RAW_LENGTH(n)] = '\0';
        fprintf(f, "    certificate-authority-data: %s", b64);
        free(b64);
        fputc('\n', f);
    }
    fprintf(f, "users:\n- name: propsim\n  user:\n");
    if (ctx->token)
        fprintf(f, "    token: %s\n", ctx->token);
    else
        fprintf(f, "    {}\n");
    fprintf(f, "contexts:\n- name: propsim\n  context:\n    cluster: propsim\n    user: propsim\n    namespace: default\n"
               "current-context: propsim\n");
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int create_namespaces(struct serve_ctx *ctx)
{
    static const char *names[] = {"default", "kube-system", "kube-public", "kube-node-lease"};
    struct kresource *r = kstore_find(ctx->store, "", "namespaces");
    char err[256];
    for (size_t i = 0; i < 4; i++) {
        cJSON *ns = cJSON_CreateObject();
        cJSON_AddStringToObject(cJSON_AddObjectToObject(ns, "metadata"), "name", names[i]);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(ns, "status"), "phase", "Active");
        if (kstore_create(ctx->store, r, NULL, ns, NULL, err, sizeof err) != KS_OK)
            return -1;
    }
    return 0;
}

/* A non-negative number flag, at most `max`: false (with a message naming the flag) otherwise. */
static bool flag_number(const char *flag, const char *arg, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (end == arg || *end || errno || !(v >= 0 && v <= max)) {
        fprintf(stderr, "propsim serve: --%s: expected a number from 0 to %.0f, got \"%s\"\n", flag, max, arg);
        return false;
    }
    *out = v;
    return true;
}


/* Every connection is a file descriptor: the soft limit (1,024 by default) would refuse the
 * 1,001st watcher, so it is raised to the hard limit, up to what the connection limit needs. */
static void raise_open_files_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = SERVE_MAX_CONNECTIONS + 256;
    if (rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

int serve_main(int argc, char **argv)
{
    enum { O_LISTEN = 256, O_NODES, O_TRACE, O_SPEED, O_PAUSED, O_APPLY, O_CERT, O_KEY, O_TOKEN, O_KUBECONFIG,
           O_WINDOW, O_BOOKMARK, O_SCHEDULER, O_NO_PODS, O_FAIL_RATE, O_FAIL_CODE, O_RETRY_AFTER, O_LATENCY, O_CUT_S, O_CUT_N, O_HOSTILE, O_AUDIT, O_HELP };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN}, {"nodes", required_argument, NULL, O_NODES},
        {"trace", required_argument, NULL, O_TRACE}, {"speed", required_argument, NULL, O_SPEED},
        {"paused", no_argument, NULL, O_PAUSED}, {"apply", required_argument, NULL, O_APPLY},
        {"tls-cert", required_argument, NULL, O_CERT}, {"tls-key", required_argument, NULL, O_KEY},
        {"token", required_argument, NULL, O_TOKEN}, {"write-kubeconfig", required_argument, NULL, O_KUBECONFIG},
        {"watch-window", required_argument, NULL, O_WINDOW}, {"bookmark-interval", required_argument, NULL, O_BOOKMARK},
        {"scheduler", required_argument, NULL, O_SCHEDULER}, {"no-pods", no_argument, NULL, O_NO_PODS},
        {"hostile", required_argument, NULL, O_HOSTILE}, {"audit-log", required_argument, NULL, O_AUDIT}, {"fail-rate", required_argument, NULL, O_FAIL_RATE}, {"fail-code", required_argument, NULL, O_FAIL_CODE},
        {"retry-after", required_argument, NULL, O_RETRY_AFTER}, {"latency-ms", required_argument, NULL, O_LATENCY},
        {"cut-watch-after", required_argument, NULL, O_CUT_S}, {"cut-watch-events", required_argument, NULL, O_CUT_N},
        {"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0},
    };
    struct serve_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    pthread_mutex_init(&ctx.counters.mu, NULL);
    pthread_mutex_init(&ctx.play_mu, NULL);
    pthread_cond_init(&ctx.play_cv, NULL);
    snprintf(ctx.listen_host, sizeof ctx.listen_host, "127.0.0.1");
    ctx.port = 8001;
    ctx.speed = 1;
    ctx.faults.fail_code = 500;
    ctx.faults.retry_after_s = 1;
    ctx.bookmark_interval_s = 60; /* kube-apiserver's cacher: defaultBookmarkFrequency */
    ctx.pods_enabled = true;
    long nodes = 0, window = 10000;
    const char *applies[64];
    int n_apply = 0;
    const char *cert_path = NULL, *key_path = NULL, *kubeconfig = NULL;
    char *cert = NULL, *key = NULL;
    char err[1024];
    int rc = 2;
    struct MHD_Daemon *daemon = NULL;
    pthread_t player;
    bool player_started = false;

    optind = 1;
    int opt;
    char *end;
    double num;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        errno = 0;
        switch (opt) {
        case O_LISTEN: {
            const char *colon = strrchr(optarg, ':');
            if (!colon || (size_t)(colon - optarg) >= sizeof ctx.listen_host) {
                fprintf(stderr, "propsim serve: --listen: expected HOST:PORT such as 127.0.0.1:8001\n");
                goto done;
            }
            memcpy(ctx.listen_host, optarg, (size_t)(colon - optarg));
            ctx.listen_host[colon - optarg] = '\0';
            long port = strtol(colon + 1, &end, 10);
            if (*end || port < 0 || port > 65535) {
                fprintf(stderr, "propsim serve: --listen: bad port \"%s\"\n", colon + 1);
                goto done;
            }
            ctx.port = (int)port;
            break;
        }
        case O_NODES:
            nodes = strtol(optarg, &end, 10);
            if (*end || nodes < 0 || nodes > 1000000) {
                fprintf(stderr, "propsim serve: --nodes: expected 0 to 1000000, got \"%s\"\n", optarg);
                goto done;
            }
            break;
        case O_TRACE: ctx.trace_path = optarg; break;
        case O_SPEED:
            if (!flag_number("speed", optarg, 1e9, &ctx.speed))
                goto done;
            break;
        case O_PAUSED: ctx.paused = true; break;
        case O_APPLY:
            if (n_apply == 64) {
                fprintf(stderr, "propsim serve: at most 64 --apply files\n");
                goto done;
            }
            applies[n_apply++] = optarg;
            break;
        case O_CERT: cert_path = optarg; break;
        case O_KEY: key_path = optarg; break;
        case O_TOKEN: ctx.token = optarg; break;
        case O_KUBECONFIG: kubeconfig = optarg; break;
        case O_AUDIT:
            if (ctx.audit)
                fclose(ctx.audit);
            ctx.audit = fopen(optarg, "a");
            if (!ctx.audit) {
                fprintf(stderr, "propsim serve: --audit-log: cannot write %s: %s\n", optarg, strerror(errno));
                goto done;
            }
            break;
        case O_WINDOW:
            window = strtol(optarg, &end, 10);
            if (*end || window < 16) {
                fprintf(stderr, "propsim serve: --watch-window: expected an integer >= 16\n");
                goto done;
            }
            break;
        case O_BOOKMARK:
            if (!flag_number("bookmark-interval", optarg, 1e9, &ctx.bookmark_interval_s))
                goto done;
            break;
        case O_SCHEDULER:
            if (strcmp(optarg, "spread") != 0 && strcmp(optarg, "most-requested") != 0) {
                fprintf(stderr, "propsim serve: --scheduler: spread or most-requested\n");
                goto done;
            }
            ctx.most_requested = strcmp(optarg, "most-requested") == 0;
            break;
        case O_NO_PODS: ctx.pods_enabled = false; break;
        case O_HOSTILE:
            ctx.faults.hostile = serve_hostile_parse(optarg);
            if (ctx.faults.hostile < 0) {
                fprintf(stderr, "propsim serve: --hostile: one of %s, got \"%s\"\n", serve_hostile_names(), optarg);
                goto done;
            }
            break;
        case O_FAIL_RATE:
            if (!flag_number("fail-rate", optarg, 1, &ctx.faults.fail_rate))
                goto done;
            break;
        case O_FAIL_CODE:
            ctx.faults.fail_code = atoi(optarg);
            if (ctx.faults.fail_code != 500 && ctx.faults.fail_code != 429) {
                fprintf(stderr, "propsim serve: --fail-code: 500 or 429\n");
                goto done;
            }
            break;
        case O_RETRY_AFTER:
            if (!flag_number("retry-after", optarg, 86400, &num))
                goto done;
            ctx.faults.retry_after_s = (int)num;
            break;
        case O_LATENCY:
            if (!flag_number("latency-ms", optarg, 600000, &num))
                goto done;
            ctx.faults.latency_ms = (int)num;
            break;
        case O_CUT_S:
            if (!flag_number("cut-watch-after", optarg, 1e9, &ctx.faults.cut_watch_after_s))
                goto done;
            break;
        case O_CUT_N:
            if (!flag_number("cut-watch-events", optarg, 1e12, &num))
                goto done;
            ctx.faults.cut_watch_after_events = (long)num;
            break;
        case O_HELP:
        case 'h':
            usage(stdout);
            rc = 0;
            goto done;
        default:
            usage(stderr);
            goto done;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "propsim serve: unexpected argument \"%s\"\n", argv[optind]);
        goto done;
    }
    if (!!cert_path != !!key_path) {
        fprintf(stderr, "propsim serve: --tls-cert and --tls-key go together\n");
        goto done;
    }
    if (strncmp(ctx.listen_host, "127.", 4) != 0 && strcmp(ctx.listen_host, "localhost") != 0 && !ctx.token) {
        /* an emulator that accepts any write must not be open to the network by accident */
        fprintf(stderr, "propsim serve: --listen %s is not a loopback address: give --token T so that only clients "
                        "holding it are served (or listen on 127.0.0.1)\n", ctx.listen_host);
        goto done;
    }
    if (cert_path) {
        size_t len;
        if (fileio_read_all(cert_path, 1 << 20, &cert, &len, err, sizeof err) != 0 ||
            fileio_read_all(key_path, 1 << 20, &key, &len, err, sizeof err) != 0) {
            fprintf(stderr, "propsim serve: %s\n", err);
            goto done;
        }
        ctx.tls = true;
    } else if (ctx.token) {
        const char *names[] = {ctx.listen_host};
        if (selfcert_generate(names, 1, 30, &cert, &key, err, sizeof err) != 0) {
            fprintf(stderr, "propsim serve: %s\n", err);
            rc = 1;
            goto done;
        }
        ctx.tls = true;
    }
    ctx.store = kstore_new((size_t)window);
    if (ctx.store)
        ctx.park = serve_park_new(ctx.store);
    if (!ctx.store || !ctx.park || create_namespaces(&ctx) != 0) {
        fprintf(stderr, "propsim serve: out of memory\n");
        rc = 1;
        goto done;
    }
    raise_open_files_limit();
    if (nodes && serve_generate_nodes(&ctx, nodes, err, sizeof err) != 0) {
        fprintf(stderr, "propsim serve: generating nodes: %s\n", err);
        rc = 1;
        goto done;
    }
    for (int i = 0; i < n_apply; i++)
        if (serve_apply_file(&ctx, applies[i], err, sizeof err) != 0) {
            fprintf(stderr, "propsim serve: --apply %s\n", err);
            goto done;
        }
    if (serve_http_start(&ctx, cert, key, &daemon, err, sizeof err) != 0) {
        fprintf(stderr, "propsim serve: %s\n", err);
        rc = 1;
        goto done;
    }
    if (kubeconfig && write_kubeconfig(kubeconfig, &ctx, cert, err, sizeof err) != 0) {
        fprintf(stderr, "propsim serve: %s\n", err);
        rc = 1;
        goto done;
    }
    if (ctx.trace_path) {
        if (pthread_create(&player, NULL, serve_trace_thread, &ctx) != 0) {
            fprintf(stderr, "propsim serve: cannot start the trace player\n");
            rc = 1;
            goto done;
        }
        player_started = true;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "propsim serve: listening on %s://%s:%d%s%s (%ld generated nodes%s%s)\n", ctx.tls ? "https" : "http",
            ctx.listen_host, ctx.port, kubeconfig ? ", kubeconfig " : "", kubeconfig ? kubeconfig : "", nodes,
            ctx.trace_path ? ", trace " : "", ctx.trace_path ? ctx.trace_path : "");
    printf("%d\n", ctx.port); /* the port, for scripts that asked for port 0 */
    fflush(stdout);
    while (!got_signal)
        pause();
    fprintf(stderr, "propsim serve: stopping (signal %d)\n", (int)got_signal);
    rc = 0;
done:
    ctx.stopping = 1;
    if (ctx.store)
        kstore_wake_all(ctx.store);
    pthread_mutex_lock(&ctx.play_mu);
    pthread_cond_broadcast(&ctx.play_cv);
    pthread_mutex_unlock(&ctx.play_mu);
    serve_park_stop(ctx.park); /* nothing may be suspended when the daemon stops: */
    serve_admit_wait_idle(35.0); /* (a webhook's timeout is at most 30 s) */
    if (daemon)
        MHD_stop_daemon(daemon);
    serve_park_free(ctx.park);
    if (player_started)
        pthread_join(player, NULL);
    kstore_free(ctx.store);
    if (ctx.audit)
        fclose(ctx.audit);
    free(cert);
    free(key);
    return rc;
}
