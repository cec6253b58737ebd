/* serve_tokens — see serve_tokens.h. */
#define _DEFAULT_SOURCE
#include "serve_tokens.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static struct {
    pthread_mutex_t mu;
    char token[SERVE_TOKENS_MAX][48];
    double expires[SERVE_TOKENS_MAX];
    size_t next, n;
} tokens = {.mu = PTHREAD_MUTEX_INITIALIZER};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int serve_token_issue(const char *ns, const char *name, double seconds, char *token, size_t len, double *expires_at)
{
    (void)ns;
    (void)name;
    unsigned char r[16];
    if (len < 48 || getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return -1;
    int o = snprintf(token, len, "propsim-sa-");
    for (size_t i = 0; i < sizeof r; i++)
        o += snprintf(token + o, len - (size_t)o, "%02x", r[i]);
    *expires_at = now_s() + seconds;
    pthread_mutex_lock(&tokens.mu);
    snprintf(tokens.token[tokens.next], sizeof tokens.token[0], "%s", token);
    tokens.expires[tokens.next] = *expires_at;
    tokens.next = (tokens.next + 1) % SERVE_TOKENS_MAX;
    if (tokens.n < SERVE_TOKENS_MAX)
        tokens.n++;
    pthread_mutex_unlock(&tokens.mu);
    return 0;
}

bool serve_token_valid(const char *token)
{
    if (strncmp(token, "propsim-sa-", 11) != 0 || strlen(token) >= sizeof tokens.token[0])
        return false;
    double now = now_s();
    bool ok = false;
    pthread_mutex_lock(&tokens.mu);
    for (size_t i = 0; i < tokens.n && !ok; i++) {
        unsigned diff = 0;
        for (size_t k = 0; k < sizeof tokens.token[0]; k++) {
            diff |= (unsigned)(tokens.token[i][k] ^ token[k]);
            if (!token[k])
                break;
        }
        ok = diff == 0 && tokens.expires[i] > now;
    }
    pthread_mutex_unlock(&tokens.mu);
    return ok;
}
