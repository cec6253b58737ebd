/* selfcert — see selfcert.h. */
#include "selfcert.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nettle/base64.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

char *kube_base64_decode(const char *in, size_t *out_len)
{
    /* Nettle's decoder (GnuTLS's own base64): whitespace is skipped, bad characters, data after
     * the padding and a truncated final group are errors */
    size_t n = strlen(in), w = BASE64_DECODE_LENGTH(n);
    char *out = malloc(w + 1);
    if (!out)
        return NULL;
    struct base64_decode_ctx ctx;
    base64_decode_init(&ctx);
    if (!base64_decode_update(&ctx, &w, (uint8_t *)out, n, in) || !base64_decode_final(&ctx)) {
        free(out);
        return NULL;
    }
    out[w] = '\0';
    *out_len = w;
    return out;
}

char *kube_base64_encode(const char *in, size_t len)
{
    char *out = malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
    if (!out)
        return NULL;
    base64_encode_raw(out, len, (const uint8_t *)in);
    out[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
    return out;
}

int selfcert_expiry(const char *pem, size_t len, long long *expires)
{
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) < 0)
        return -1;
    gnutls_datum_t d = {(unsigned char *)(uintptr_t)pem, (unsigned)len};
    int rc = -1;
    if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) >= 0) {
        time_t t = gnutls_x509_crt_get_expiration_time(crt);
        if (t != (time_t)-1) {
            *expires = (long long)t;
            rc = 0;
        }
    }
    gnutls_x509_crt_deinit(crt);
    return rc;
}

static char *pem_string(const gnutls_datum_t *d)
{
    char *s = malloc(d->size + 1);
    if (s) {
        memcpy(s, d->data, d->size);
        s[d->size] = '\0';
    }
    return s;
}

/* One more subjectAltName: an IP address when it parses as one, else a DNS name. */
static int add_name(gnutls_x509_crt_t crt, const char *name)
{
    unsigned char addr[16];
    if (inet_pton(AF_INET, name, addr) == 1)
        return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr, 4, GNUTLS_FSAN_APPEND);
    if (inet_pton(AF_INET6, name, addr) == 1)
        return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr, 16, GNUTLS_FSAN_APPEND);
    return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name, (unsigned)strlen(name), GNUTLS_FSAN_APPEND);
}

int selfcert_generate(const char *const *names, size_t n_names, int days, char **cert_pem, char **key_pem, char *err,
                      size_t errlen)
{
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t cd = {NULL, 0}, kd = {NULL, 0};
    const char *step = "init";
    int r, rc = -1;
    *cert_pem = *key_pem = NULL;
    if ((r = gnutls_x509_privkey_init(&key)) < 0 || (r = gnutls_x509_crt_init(&crt)) < 0)
        goto done;
    step = "generating the key";
    if ((r = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0)
        goto done;
    step = "building the certificate";
    unsigned char serial[16];
    if ((r = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial)) < 0)
        goto done;
    serial[0] &= 0x7f; /* a positive serial */
    time_t now = time(NULL);
    if ((r = gnutls_x509_crt_set_version(crt, 3)) < 0 || (r = gnutls_x509_crt_set_serial(crt, serial, sizeof serial)) < 0 ||
        (r = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
        (r = gnutls_x509_crt_set_expiration_time(crt, now + (time_t)days * 24 * 3600)) < 0 ||
        (r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "propscaler", 10)) < 0 ||
        (r = gnutls_x509_crt_set_key(crt, key)) < 0 || (r = gnutls_x509_crt_set_basic_constraints(crt, 1, -1)) < 0 ||
        (r = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN)) < 0 ||
        (r = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0)
        goto done;
    step = "naming the hosts";
    unsigned char v4[4] = {127, 0, 0, 1}, v6[16] = {0};
    v6[15] = 1;
    if ((r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9, GNUTLS_FSAN_APPEND)) < 0 ||
        (r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v4, 4, GNUTLS_FSAN_APPEND)) < 0 ||
        (r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v6, 16, GNUTLS_FSAN_APPEND)) < 0)
        goto done;
    for (size_t i = 0; i < n_names; i++)
        if (names[i] && names[i][0] && strcmp(names[i], "127.0.0.1") != 0 && strcmp(names[i], "localhost") != 0 &&
            (r = add_name(crt, names[i])) < 0)
            goto done;
    step = "signing";
    if ((r = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0)
        goto done;
    step = "exporting";
    if ((r = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cd)) < 0 ||
        (r = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kd)) < 0)
        goto done;
    *cert_pem = pem_string(&cd);
    *key_pem = pem_string(&kd);
    if (!*cert_pem || !*key_pem) {
        free(*cert_pem);
        free(*key_pem);
        *cert_pem = *key_pem = NULL;
        r = GNUTLS_E_MEMORY_ERROR;
        goto done;
    }
    rc = 0;
done:
    if (rc != 0)
        snprintf(err, errlen, "a self-signed certificate: %s failed: %s", step, gnutls_strerror(r));
    gnutls_free(cd.data);
    if (kd.data) {
        memset(kd.data, 0, kd.size);
        gnutls_free(kd.data);
    }
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    return rc;
}
