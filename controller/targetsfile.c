/* --targets-file: the file read at start, and again when it changes. See controller_internal.h. */
#define _DEFAULT_SOURCE
#include "controller_internal.h"

#define TARGETS_FILE_CAP (4u << 20)

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int targetsfile_load(struct controller *c, struct targets_config *out, char *err, size_t errlen)
{
    const char *path = c->cfg->targets_file;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        snprintf(err, errlen, "--targets-file: cannot open %s: %s", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    char *data = malloc(TARGETS_FILE_CAP + 1);
    size_t len = data ? fread(data, 1, TARGETS_FILE_CAP + 1, f) : 0;
    bool bad = !data || ferror(f) || len > TARGETS_FILE_CAP;
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "--targets-file: cannot read %s: %s", path,
                 data ? "read error or larger than 4 MiB" : "out of memory");
        free(data);
        return -1;
    }
    c->targets_stat = st; /* this content has been read (and judged) */
    struct targets_defaults d = {.ns = c->cfg->namespace_, .guard = &c->cfg->guard};
    char why[1200];
    int rc = targets_parse(data, len, &d, out, why, sizeof why);
    free(data);
    if (rc != 0)
        snprintf(err, errlen, "--targets-file %s: %s", path, why);
    return rc;
}

/* What a running controller cannot change in place: the targets themselves, their params'
 * source, their node filters (each has its watch state and node cache). NULL: the same shape. */
static const char *shape_change(const struct targets_config *a, const struct targets_config *b, char *buf, size_t len)
{
    if (a->n != b->n) {
        snprintf(buf, len, "it now lists %zu targets instead of %zu", b->n, a->n);
        return buf;
    }
    for (size_t i = 0; i < a->n; i++) {
        const struct target_config *x = &a->targets[i], *y = &b->targets[i];
        const char *what = NULL;
        if (x->kind != y->kind || strcmp(x->name, y->name) != 0 || strcmp(x->ns, y->ns) != 0)
            what = "another workload";
        else if (x->replicas != y->replicas || (x->replicas == REPLICAS_CONFIGMAP && strcmp(x->configmap, y->configmap) != 0))
            what = "another params source";
        else if (strcmp(x->filter_key, y->filter_key) != 0)
            what = "another node filter";
        else if (x->vertical != y->vertical)
            what = x->vertical ? "no vertical sizing any more" : "vertical sizing added";
        if (what) {
            snprintf(buf, len, "targets[%zu] (%.300s) has %s", i, x->label, what);
            return buf;
        }
    }
    return NULL;
}

/* The new config in force: every pointer into the old one moves to the new one. */
static void take(struct controller *c, struct targets_config *next)
{
    pthread_mutex_lock(&c->mu); /* /last-poll and /metrics read the labels and names */
    struct targets_config old = c->targets_file;
    c->targets_file = *next;
    memset(next, 0, sizeof *next);
    for (size_t i = 0; i < c->n_targets; i++) {
        struct target_state *ts = &c->targets[i];
        struct target_config *tc = &c->targets_file.targets[i];
        tc->nodes.legacy_schedulable = c->cfg->count_opts.legacy_schedulable;
        ts->tc = tc;
        ts->ns = tc->ns;
        c->file_targets[i].name = tc->name;
        c->file_targets[i].ns = tc->ns;
        ts->opts.guard = tc->guard;
        ts->opts.placement_warn_only = tc->placement_warn_only;
        c->groups[ts->group].opts = &tc->nodes; /* (the same filter: any of its targets' will do) */
        c->groups[ts->group].key = tc->filter_key;
    }
    c->targets_gen++;
    c->targets_error[0] = '\0';
    pthread_mutex_unlock(&c->mu);
    targets_config_release(&old);
}

void targetsfile_check(struct controller *c)
{
    if (!c->cfg->targets_file)
        return;
    struct stat st;
    if (stat(c->cfg->targets_file, &st) == 0 && same_file(&st, &c->targets_stat))
        return;
    if (c->reconcile_running)
        return; /* never under a decision in flight (it reads the rules): at the next tick */
    struct targets_config next;
    targets_config_init(&next);
    char err[1400], buf[600];
    const char *change = NULL;
    if (targetsfile_load(c, &next, err, sizeof err) == 0 && !(change = shape_change(&c->targets_file, &next, buf, sizeof buf))) {
        LOG_INFO("--targets-file %s changed: its new rules are in force", c->cfg->targets_file);
        take(c, &next);
        reconcile_schedule(c, 0);
        return;
    }
    targets_config_release(&next);
    if (change)
        snprintf(err, sizeof err, "--targets-file %s changed, but %s: restart propscaler to apply that", c->cfg->targets_file,
                 change);
    if (strcmp(err, c->targets_error) != 0) /* said once per distinct problem */
        LOG_ERROR("%s; keeping the config in force", err);
    pthread_mutex_lock(&c->mu);
    snprintf(c->targets_error, sizeof c->targets_error, "%s", err);
    pthread_mutex_unlock(&c->mu);
}
