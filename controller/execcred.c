#define _GNU_SOURCE /* environ, pipe2 */
#include "execcred.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "selfcert.h" /* kube_base64_encode */

extern char **environ;

#define EXEC_MAX_OUTPUT (1u << 20)

static const char *const api_versions[] = {"client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"};

static const cJSON *member(const cJSON *o, const char *k)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

void execcred_config_release(struct exec_plugin *p)
{
    free(p->api_version);
    free(p->command);
    for (size_t i = 0; i < p->n_args; i++)
        free(p->args[i]);
    free(p->args);
    for (size_t i = 0; i < p->n_env; i++)
        free(p->env[i]);
    free(p->env);
    free(p->install_hint);
    memset(p, 0, sizeof *p);
}

/* A list of strings (absent or null: empty). */
static int string_list(const cJSON *v, const char *what, const char *field, char ***out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v)) {
        snprintf(err, errlen, "%s: exec.%s must be a list", what, field);
        return -1;
    }
    size_t count = (size_t)cJSON_GetArraySize(v);
    *out = calloc(count + 1, sizeof **out);
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsString(e)) {
            snprintf(err, errlen, "%s: exec.%s[%zu] must be a string", what, field, *n);
            return -1;
        }
        if (!((*out)[(*n)++] = strdup(e->valuestring))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

int execcred_config_parse(const cJSON *exec, const char *what, const char *dir, struct exec_plugin *out, char *err,
                          size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(exec)) {
        snprintf(err, errlen, "%s: exec must be a mapping", what);
        return -1;
    }
    const cJSON *av = member(exec, "apiVersion"), *cmd = member(exec, "command");
    if (!cJSON_IsString(av)) {
        snprintf(err, errlen, "%s: exec.apiVersion is required (client.authentication.k8s.io/v1 or v1beta1)", what);
        return -1;
    }
    if (strcmp(av->valuestring, api_versions[0]) != 0 && strcmp(av->valuestring, api_versions[1]) != 0) {
        snprintf(err, errlen, "%s: exec.apiVersion \"%.100s\" is not supported: use client.authentication.k8s.io/v1 "
                 "(or v1beta1; v1alpha1 was removed in Kubernetes 1.24)", what, av->valuestring);
        return -1;
    }
    if (!cJSON_IsString(cmd) || !cmd->valuestring[0]) {
        snprintf(err, errlen, "%s: exec.command is required", what);
        return -1;
    }
    bool v1 = strcmp(av->valuestring, api_versions[0]) == 0;
    const cJSON *im = member(exec, "interactiveMode");
    out->interactive = EXEC_INTERACTIVE_IF_AVAILABLE; /* v1beta1's default */
    if (im && !cJSON_IsNull(im)) {
        const char *m = cJSON_IsString(im) ? im->valuestring : "";
        if (strcmp(m, "Never") == 0) {
            out->interactive = EXEC_INTERACTIVE_NEVER;
        } else if (strcmp(m, "Always") == 0) {
            snprintf(err, errlen, "%s: exec.interactiveMode Always needs a terminal, and propscaler runs without one; "
                     "use IfAvailable or Never with a plugin that can get a token unattended", what);
            return -1;
        } else if (strcmp(m, "IfAvailable") != 0) {
            snprintf(err, errlen, "%s: exec.interactiveMode must be Never, IfAvailable or Always", what);
            return -1;
        }
    } else if (v1) {
        snprintf(err, errlen, "%s: exec.interactiveMode is required with client.authentication.k8s.io/v1 "
                 "(Never or IfAvailable)", what);
        return -1;
    }
    const cJSON *pci = member(exec, "provideClusterInfo");
    if (pci && !cJSON_IsBool(pci) && !cJSON_IsNull(pci)) {
        snprintf(err, errlen, "%s: exec.provideClusterInfo must be true or false", what);
        return -1;
    }
    out->provide_cluster_info = cJSON_IsTrue(pci);
    const cJSON *hint = member(exec, "installHint");
    if (hint && !cJSON_IsString(hint) && !cJSON_IsNull(hint)) {
        snprintf(err, errlen, "%s: exec.installHint must be a string", what);
        return -1;
    }
    const char *c = cmd->valuestring;
    size_t need = strlen(c) + (dir ? strlen(dir) : 0) + 2;
    out->api_version = strdup(av->valuestring);
    out->command = malloc(need);
    out->install_hint = cJSON_IsString(hint) ? strdup(hint->valuestring) : NULL;
    if (!out->api_version || !out->command || (cJSON_IsString(hint) && !out->install_hint)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* as client-go: a relative path with a separator is relative to the kubeconfig's directory;
     * a bare name is looked up in PATH */
    if (c[0] != '/' && strchr(c, '/') && dir)
        snprintf(out->command, need, "%s/%s", dir, c);
    else
        snprintf(out->command, need, "%s", c);
    if (string_list(member(exec, "args"), what, "args", &out->args, &out->n_args, err, errlen) != 0)
        goto fail;
    const cJSON *env = member(exec, "env");
    if (env && !cJSON_IsNull(env)) {
        if (!cJSON_IsArray(env)) {
            snprintf(err, errlen, "%s: exec.env must be a list of {name, value}", what);
            goto fail;
        }
        out->env = calloc((size_t)cJSON_GetArraySize(env) + 1, sizeof *out->env);
        if (!out->env) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        const cJSON *e;
        cJSON_ArrayForEach(e, env)
        {
            const cJSON *n = member(e, "name"), *v = member(e, "value");
            if (!cJSON_IsString(n) || !n->valuestring[0] || strchr(n->valuestring, '=') || !cJSON_IsString(v)) {
                snprintf(err, errlen, "%s: exec.env[%zu] needs a string name (no '=') and a string value", what, out->n_env);
                goto fail;
            }
            size_t len = strlen(n->valuestring) + strlen(v->valuestring) + 2;
            char *kv = malloc(len);
            if (!kv) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
            snprintf(kv, len, "%s=%s", n->valuestring, v->valuestring);
            out->env[out->n_env++] = kv;
        }
    }
    return 0;
fail:
    execcred_config_release(out);
    return -1;
}

void execcred_credential_release(struct exec_credential *c)
{
    if (c->token) {
        memset(c->token, 0, strlen(c->token));
        free(c->token);
    }
    memset(c, 0, sizeof *c);
}

/* RFC 3339 as Kubernetes writes it: 2026-12-06T05:00:00Z, with an optional fraction and a Z or
 * a numeric offset. */
static int parse_rfc3339(const char *s, double *out)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
        return -1;
    const char *p = s + n;
    double frac = 0;
    if (*p == '.') {
        double scale = 0.1;
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac += (*p - '0') * scale;
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5 || oh > 23 || om > 59)
            return -1;
        offset = (*p == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = (double)t - (double)offset + frac;
    return 0;
}

int execcred_parse_output(const char *text, size_t len, const char *api_version, struct exec_credential *out, char *err,
                          size_t errlen)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "its output is not a JSON ExecCredential (%zu bytes)", len);
        cJSON_Delete(root);
        return -1;
    }
    int rc = -1;
    const cJSON *kind = member(root, "kind"), *av = member(root, "apiVersion"), *status = member(root, "status");
    const cJSON *token = member(status, "token"), *exp = member(status, "expirationTimestamp");
    char shown[200];
    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "ExecCredential") != 0) {
        snprintf(shown, sizeof shown, "(none)");
        if (cJSON_IsString(kind))
            text_for_message(kind->valuestring, strlen(kind->valuestring), 40, shown, sizeof shown);
        snprintf(err, errlen, "its output has kind %s, not ExecCredential", shown);
        goto done;
    }
    if (!cJSON_IsString(av) || strcmp(av->valuestring, api_version) != 0) {
        if (cJSON_IsString(av))
            text_for_message(av->valuestring, strlen(av->valuestring), 80, shown, sizeof shown);
        snprintf(err, errlen, "the plugin is configured for %s but returned apiVersion %s", api_version,
                 cJSON_IsString(av) ? shown : "(none)");
        goto done;
    }
    if (!cJSON_IsObject(status)) {
        snprintf(err, errlen, "its ExecCredential has no status");
        goto done;
    }
    if (!cJSON_IsString(token) || !token->valuestring[0]) {
        bool cert = member(status, "clientCertificateData") || member(status, "clientKeyData");
        snprintf(err, errlen, "%s", cert ? "it returned a client certificate; propscaler takes only tokens from plugins "
                                          "(give the certificate as client-certificate-data instead)"
                                        : "its ExecCredential status has no token");
        goto done;
    }
    for (const char *p = token->valuestring; *p; p++)
        if ((unsigned char)*p < 0x21 || *p == 0x7f) { /* it goes into an HTTP header */
            snprintf(err, errlen, "its token holds a control character or space");
            goto done;
        }
    if (exp && !cJSON_IsNull(exp) && (!cJSON_IsString(exp) || parse_rfc3339(exp->valuestring, &out->expires) != 0)) {
        if (cJSON_IsString(exp))
            text_for_message(exp->valuestring, strlen(exp->valuestring), 60, shown, sizeof shown);
        snprintf(err, errlen, "status.expirationTimestamp %s is not an RFC 3339 time (e.g. 2026-12-06T05:00:00Z)",
                 cJSON_IsString(exp) ? shown : "(not a string)");
        out->expires = 0;
        goto done;
    }
    out->token = strdup(token->valuestring);
    if (!out->token) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    rc = 0;
done:
    if (cJSON_IsString(token)) /* the token was in the parsed tree: zero it before it is freed */
        memset(token->valuestring, 0, strlen(token->valuestring));
    cJSON_Delete(root);
    return rc;
}

/* KUBERNETES_EXEC_INFO=<ExecCredential with the spec>, as client-go sets it. */
static char *exec_info(const struct exec_plugin *p, const struct exec_cluster *cluster)
{
    cJSON *o = cJSON_CreateObject(), *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON_AddStringToObject(o, "kind", "ExecCredential");
    cJSON_AddStringToObject(o, "apiVersion", p->api_version);
    if (p->provide_cluster_info && cluster) {
        cJSON *cl = cJSON_AddObjectToObject(spec, "cluster");
        cJSON_AddStringToObject(cl, "server", cluster->server ? cluster->server : "");
        if (cluster->ca_pem && cluster->ca_len) {
            char *b64 = kube_base64_encode(cluster->ca_pem, cluster->ca_len);
            if (b64)
                cJSON_AddStringToObject(cl, "certificate-authority-data", b64);
            free(b64);
        }
        if (cluster->insecure)
            cJSON_AddBoolToObject(cl, "insecure-skip-tls-verify", true);
    }
    cJSON_AddBoolToObject(spec, "interactive", false);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return NULL;
    size_t n = strlen(text) + sizeof "KUBERNETES_EXEC_INFO=";
    char *kv = malloc(n);
    if (kv)
        snprintf(kv, n, "KUBERNETES_EXEC_INFO=%s", text);
    free(text);
    return kv;
}

/* The environment the plugin sees: ours, minus what the kubeconfig's env or KUBERNETES_EXEC_INFO
 * replace, plus those. */
static char **plugin_env(const struct exec_plugin *p, char *info)
{
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **envp = calloc(n + p->n_env + 2, sizeof *envp);
    if (!envp)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool replaced = nl == strlen("KUBERNETES_EXEC_INFO") && strncmp(environ[i], "KUBERNETES_EXEC_INFO", nl) == 0;
        for (size_t j = 0; j < p->n_env && !replaced; j++)
            replaced = strncmp(p->env[j], environ[i], nl) == 0 && p->env[j][nl] == '=';
        if (!replaced)
            envp[k++] = environ[i];
    }
    for (size_t j = 0; j < p->n_env; j++)
        envp[k++] = p->env[j];
    envp[k++] = info;
    envp[k] = NULL;
    return envp;
}

int execcred_spawn(const struct exec_plugin *p, const struct exec_cluster *cluster, struct execcred_job *job, char *err,
                   size_t errlen)
{
    memset(job, 0, sizeof *job);
    job->pid = -1;
    job->fd = -1;
    buf_init(&job->out, EXEC_MAX_OUTPUT);
    char *info = exec_info(p, cluster);
    char **envp = info ? plugin_env(p, info) : NULL;
    char **argv = calloc(p->n_args + 2, sizeof *argv);
    int fds[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    bool fa_ready = false;
    int rc = -1;
    if (!envp || !argv || pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "exec plugin %s: cannot start it: %s", p->command, envp && argv ? strerror(errno) : "out of memory");
        goto done;
    }
    /* our end never blocks: the loop reads what is there when it is there */
    if (fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "exec plugin %s: cannot start it: %s", p->command, strerror(errno));
        goto done;
    }
    argv[0] = p->command;
    for (size_t i = 0; i < p->n_args; i++)
        argv[i + 1] = p->args[i];
    if (posix_spawn_file_actions_init(&fa) != 0) {
        snprintf(err, errlen, "exec plugin %s: cannot start it: out of memory", p->command);
        goto done;
    }
    fa_ready = true;
    /* stdin: nothing (no terminal, never interactive); stdout: the pipe; stderr: ours */
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    pid_t pid;
    int se = posix_spawnp(&pid, p->command, &fa, NULL, argv, envp);
    if (se != 0) {
        char hint[600] = "";
        if (p->install_hint)
            snprintf(hint, sizeof hint, "; %s", p->install_hint);
        snprintf(err, errlen, "exec plugin %s: %s%s", p->command,
                 se == ENOENT ? "not found (is it installed and in PATH?)" : strerror(se), hint);
        goto done;
    }
    job->pid = pid;
    job->fd = fds[0];
    fds[0] = -1;
    rc = 0;
done:
    if (fa_ready)
        posix_spawn_file_actions_destroy(&fa);
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    free(argv);
    free(envp);
    free(info);
    if (rc != 0)
        execcred_job_release(job);
    return rc;
}

int execcred_job_read(struct execcred_job *job)
{
    if (job->fd < 0)
        return job->too_big ? -1 : 1;
    for (;;) {
        char chunk[8192];
        ssize_t got = read(job->fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (got <= 0) { /* the end of its output (or a read error, taken as the end) */
            close(job->fd);
            job->fd = -1;
            return 1;
        }
        int appended = buf_append(&job->out, chunk, (size_t)got);
        memset(chunk, 0, sizeof chunk); /* it may hold the token */
        if (appended != 0) {
            job->too_big = true;
            close(job->fd);
            job->fd = -1;
            return -1;
        }
    }
}

int execcred_job_finish(const struct exec_plugin *p, struct execcred_job *job, int wait_status, double timed_out_after_s,
                        struct exec_credential *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc = -1;
    char hint[600] = "";
    if (p->install_hint)
        snprintf(hint, sizeof hint, "; %s", p->install_hint);
    if (timed_out_after_s > 0) {
        snprintf(err, errlen, "exec plugin %s: no answer within %g s; killed", p->command, timed_out_after_s);
        goto done;
    }
    if (job->too_big) {
        snprintf(err, errlen, "exec plugin %s: its output passed %u KiB", p->command, EXEC_MAX_OUTPUT >> 10);
        goto done;
    }
    if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
        if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 127) /* a shell's, or a spawn without exec errors (valgrind) */
            snprintf(err, errlen, "exec plugin %s: not found or cannot run (exit status 127)%s", p->command, hint);
        else if (WIFEXITED(wait_status))
            snprintf(err, errlen, "exec plugin %s: exit status %d (its messages are on stderr above)", p->command,
                     WEXITSTATUS(wait_status));
        else
            snprintf(err, errlen, "exec plugin %s: killed by signal %d", p->command,
                     WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0);
        goto done;
    }
    char why[600];
    if (execcred_parse_output(job->out.data ? job->out.data : "", job->out.len, p->api_version, out, why, sizeof why) !=
        0) {
        snprintf(err, errlen, "exec plugin %s: %s", p->command, why);
        goto done;
    }
    rc = 0;
done:
    job->pid = -1; /* reaped by the caller */
    execcred_job_release(job);
    return rc;
}

void execcred_job_release(struct execcred_job *job)
{
    if (job->pid > 0)
        kill(job->pid, SIGKILL); /* the caller still reaps it */
    job->pid = -1;
    if (job->fd >= 0)
        close(job->fd);
    job->fd = -1;
    if (job->out.data)
        memset(job->out.data, 0, job->out.len); /* it held the token */
    buf_release(&job->out);
}

static double monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int execcred_run(const struct exec_plugin *p, const struct exec_cluster *cluster, double timeout_s,
                 struct exec_credential *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct execcred_job job;
    if (execcred_spawn(p, cluster, &job, err, errlen) != 0)
        return -1;
    pid_t pid = job.pid;
    double deadline = monotonic_now() + timeout_s;
    bool timed_out = false;
    int r;
    while ((r = execcred_job_read(&job)) == 0) {
        double left = deadline - monotonic_now();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd pfd = {.fd = job.fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            break;
    }
    if (r <= 0) /* the deadline passed, the output passed its cap, or poll failed: no answer is coming */
        kill(pid, SIGKILL);
    /* its exit, within the same deadline (a plugin may close its stdout and go on running) */
    int wst = 0;
    for (;;) {
        pid_t w = waitpid(pid, &wst, r > 0 ? WNOHANG : 0);
        if (w == pid || (w < 0 && errno != EINTR))
            break;
        if (w == 0 && monotonic_now() >= deadline) {
            kill(pid, SIGKILL);
            timed_out = true;
            r = 0; /* now wait for it to go */
        } else if (w == 0) {
            poll(NULL, 0, 10);
        }
    }
    return execcred_job_finish(p, &job, wst, timed_out ? timeout_s : 0, out, err, errlen);
}
