/* watchfloor — the least a watch client can cost per event, for bench_churn_floor.sh.
 *
 * Usage: watchfloor curl|gnutls URL TOKEN CAFILE
 *
 * Opens one watch (URL: https://127.0.0.1:PORT/api/v1/nodes?watch=1&...) and counts its events
 * (lines), doing nothing else with them, on a libev loop as propscaler does:
 *   curl    libcurl's multi socket interface with the options kclient sets for a watch (HTTP/1.1,
 *           no signals, the CA, a bearer token): what libcurl + GnuTLS + libev cost, with none of
 *           propscaler's work;
 *   gnutls  GnuTLS straight on the socket (the HTTP answer not even parsed: bytes are counted):
 *           what the TLS records and the kernel cost without libcurl.
 * It prints the events seen on stderr when it is stopped (SIGTERM/SIGINT). A bench tool, not a
 * client: only 127.0.0.1 with a port, no proxy, no redirect.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct ev_loop *loop;
static unsigned long long lines;

static void count_lines(const char *p, size_t n)
{
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
        lines++;
}

/* ---- curl: the multi socket interface on libev ---- */

static CURLM *multi;
static ev_timer curl_timer;
static int running;

static size_t curl_write(char *p, size_t size, size_t n, void *u)
{
    (void)u;
    count_lines(p, size * n);
    return size * n;
}

static void curl_io(struct ev_loop *l, ev_io *w, int revents)
{
    (void)l;
    int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(multi, w->fd, action, &running);
}

static void curl_timeout(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l, (void)w, (void)revents;
    curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
}

static int curl_socket(CURL *e, curl_socket_t s, int what, void *u, void *socketp)
{
    (void)e, (void)u;
    ev_io *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            ev_io_stop(loop, w);
            free(w);
        }
        curl_multi_assign(multi, s, NULL);
        return 0;
    }
    int kind = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    if (!w) {
        if (!(w = malloc(sizeof *w)))
            return -1;
        ev_io_init(w, curl_io, s, kind);
        curl_multi_assign(multi, s, w);
    } else {
        ev_io_stop(loop, w);
        ev_io_set(w, s, kind);
    }
    ev_io_start(loop, w);
    return 0;
}

static int curl_timer_set(CURLM *m, long ms, void *u)
{
    (void)m, (void)u;
    ev_timer_stop(loop, &curl_timer);
    if (ms >= 0) {
        ev_timer_set(&curl_timer, (double)ms / 1000.0, 0);
        ev_timer_start(loop, &curl_timer);
    }
    return 0;
}

static int start_curl(const char *url, const char *token, const char *ca)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(multi = curl_multi_init()))
        return -1;
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, curl_socket);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, curl_timer_set);
    ev_timer_init(&curl_timer, curl_timeout, 0, 0);
    CURL *e = curl_easy_init();
    char auth[4096];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    struct curl_slist *headers = curl_slist_append(NULL, auth);
    if (!e || !headers)
        return -1;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, curl_write);
    return curl_multi_add_handle(multi, e) == CURLM_OK ? 0 : -1;
}

/* ---- gnutls: records read straight off the socket ---- */

static gnutls_session_t tls;
static ev_io tls_io;

static void tls_readable(struct ev_loop *l, ev_io *w, int revents)
{
    (void)w, (void)revents;
    static char buf[16384];
    for (;;) {
        ssize_t k = gnutls_record_recv(tls, buf, sizeof buf);
        if (k > 0) {
            count_lines(buf, (size_t)k);
            continue;
        }
        if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED)
            return;
        fprintf(stderr, "watchfloor: the stream ended: %s\n", k ? gnutls_strerror((int)k) : "closed");
        ev_break(l, EVBREAK_ALL);
        return;
    }
}

static int start_gnutls(const char *url, const char *token, const char *ca)
{
    unsigned port;
    char path[2048];
    if (sscanf(url, "https://127.0.0.1:%u%2047s", &port, path) != 2 || port > 65535) {
        fprintf(stderr, "watchfloor: gnutls wants https://127.0.0.1:PORT/PATH, not %s\n", url);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (const struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "watchfloor: connect: %s\n", strerror(errno));
        return -1;
    }
    gnutls_certificate_credentials_t cred;
    if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
        gnutls_certificate_set_x509_trust_file(cred, ca, GNUTLS_X509_FMT_PEM) <= 0 ||
        gnutls_init(&tls, GNUTLS_CLIENT) < 0 || gnutls_set_default_priority(tls) < 0 ||
        gnutls_credentials_set(tls, GNUTLS_CRD_CERTIFICATE, cred) < 0)
        return -1;
    gnutls_session_set_verify_cert(tls, "127.0.0.1", 0);
    gnutls_transport_set_int(tls, fd);
    int rc;
    do
        rc = gnutls_handshake(tls);
    while (rc < 0 && !gnutls_error_is_fatal(rc));
    if (rc < 0) {
        fprintf(stderr, "watchfloor: TLS handshake: %s\n", gnutls_strerror(rc));
        return -1;
    }
    char req[4096];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n", path, token);
    if (n <= 0 || (size_t)n >= sizeof req || gnutls_record_send(tls, req, (size_t)n) != n)
        return -1;
    /* the handshake and the request were blocking; the stream is read on the loop */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -1;
    ev_io_init(&tls_io, tls_readable, fd, EV_READ);
    ev_io_start(loop, &tls_io);
    return 0;
}

static void on_stop(struct ev_loop *l, ev_signal *w, int revents)
{
    (void)w, (void)revents;
    ev_break(l, EVBREAK_ALL);
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[1], "curl") != 0 && strcmp(argv[1], "gnutls") != 0)) {
        fprintf(stderr, "usage: watchfloor curl|gnutls URL TOKEN CAFILE\n");
        return 2;
    }
    loop = EV_DEFAULT;
    ev_signal term, intr;
    ev_signal_init(&term, on_stop, SIGTERM);
    ev_signal_init(&intr, on_stop, SIGINT);
    ev_signal_start(loop, &term);
    ev_signal_start(loop, &intr);
    int rc = argv[1][0] == 'c' ? start_curl(argv[2], argv[3], argv[4]) : start_gnutls(argv[2], argv[3], argv[4]);
    if (rc != 0) {
        fprintf(stderr, "watchfloor: could not start the %s watch\n", argv[1]);
        return 1;
    }
    ev_run(loop, 0);
    fprintf(stderr, "watchfloor: %llu events\n", lines);
    return 0;
}
