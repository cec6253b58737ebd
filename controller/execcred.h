/*
 * execcred — Kubernetes exec credential plugins (client.authentication.k8s.io/v1 and v1beta1),
 * run as client-go runs them: the kubeconfigs of EKS (`aws eks get-token`), GKE
 * (`gke-gcloud-auth-plugin`) and AKS (`kubelogin`) name one instead of a token.
 *
 * The plugin is started with the process's environment plus the kubeconfig's `env`, and
 * KUBERNETES_EXEC_INFO (an ExecCredential whose spec says interactive: false, and with
 * provideClusterInfo the cluster's server and CA); stdin is /dev/null (propscaler has no terminal:
 * interactiveMode Always is refused at load), stderr passes through, stdout is read (at most
 * 1 MiB) as an ExecCredential of the configured apiVersion whose status carries a token and
 * optionally an expirationTimestamp. Tokens are never logged; messages name the plugin, its exit
 * status and the installHint.
 *
 * Ownership: struct exec_plugin and struct exec_credential are caller-owned; the functions fill
 * them with heap memory that the matching release frees (the token is zeroed first).
 * Functions return 0, or -1 with err saying what is wrong.
 */
#ifndef PROPSCALER_EXECCRED_H
#define PROPSCALER_EXECCRED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "buf.h"

enum exec_interactive { EXEC_INTERACTIVE_NEVER, EXEC_INTERACTIVE_IF_AVAILABLE };

struct exec_plugin {
    char *api_version;
    char *command;          /* a relative path with a '/' is resolved against the kubeconfig's directory */
    char **args;
    size_t n_args;
    char **env;             /* "NAME=value" */
    size_t n_env;
    char *install_hint;
    bool provide_cluster_info;
    enum exec_interactive interactive;
};

struct exec_credential {
    char *token;
    double expires;         /* Unix time; 0: no expirationTimestamp (valid until a 401) */
};

/* The cluster's view a plugin may ask for (provideClusterInfo). */
struct exec_cluster {
    const char *server;
    const char *ca_pem;     /* NULL: none */
    size_t ca_len;
    bool insecure;
};

/* `user.exec` of a kubeconfig; what: "kubeconfig F: user \"U\"" for messages; dir: the kubeconfig's
 * directory (relative commands). */
int execcred_config_parse(const cJSON *exec, const char *what, const char *dir, struct exec_plugin *out, char *err,
                          size_t errlen);
void execcred_config_release(struct exec_plugin *p);

/* The plugin's stdout, as client-go reads it. */
int execcred_parse_output(const char *text, size_t len, const char *api_version, struct exec_credential *out, char *err,
                          size_t errlen);

/* Run the plugin once (blocking, at most timeout_s seconds; then it is killed). */
int execcred_run(const struct exec_plugin *p, const struct exec_cluster *cluster, double timeout_s,
                 struct exec_credential *out, char *err, size_t errlen);

/* The same run, driven by the caller's event loop (kclient: a plugin that takes seconds must not
 * stall the controller). execcred_spawn starts the plugin: job->fd is the read end of its stdout
 * (non-blocking), job->pid the process, which the caller reaps (waitpid, or libev's ev_child).
 * execcred_job_read reads what is there: 1 at the end of the output (fd closed), 0 when more may
 * come, -1 when it passed 1 MiB (fd closed; kill the plugin). execcred_job_finish gives the
 * verdict from the exit status and the output, as execcred_run does (timed_out_after_s > 0: it was
 * killed at that deadline), and releases the job. execcred_job_release drops a job unfinished
 * (kills the plugin; the caller still reaps it). */
struct execcred_job {
    pid_t pid;              /* -1: none */
    int fd;                 /* -1: closed */
    bool too_big;
    struct buf out;         /* zeroed before it is freed: it holds the token */
};
int execcred_spawn(const struct exec_plugin *p, const struct exec_cluster *cluster, struct execcred_job *job, char *err,
                   size_t errlen);
int execcred_job_read(struct execcred_job *job);
int execcred_job_finish(const struct exec_plugin *p, struct execcred_job *job, int wait_status, double timed_out_after_s,
                        struct exec_credential *out, char *err, size_t errlen);
void execcred_job_release(struct execcred_job *job);

void execcred_credential_release(struct exec_credential *c);

#endif
