/*
 * serve_tokens — ServiceAccount tokens, as `kubectl create token` and a TokenRequest get them:
 * POST .../serviceaccounts/NAME/token issues a bearer token bound to that ServiceAccount, which
 * the server then accepts like its --token (propsim serve authenticates; it does not authorize:
 * RBAC is the real server's, tested there). Tokens are random (getrandom), expire as asked
 * (spec.expirationSeconds, at least 600, default 3600), and at most SERVE_TOKENS_MAX are kept
 * (the oldest is forgotten first). Thread-safe.
 */
#ifndef PROPSIM_SERVE_TOKENS_H
#define PROPSIM_SERVE_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

#define SERVE_TOKENS_MAX 4096

/* A new token for ns/name valid for `seconds` (token: at least 64 bytes). 0, or -1 (no randomness). */
int serve_token_issue(const char *ns, const char *name, double seconds, char *token, size_t len, double *expires_at);
/* Is this an unexpired token issued here? (compared in constant time per entry) */
bool serve_token_valid(const char *token);

#endif
