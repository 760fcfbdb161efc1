/* tls_engine.c - OpenSSL loaded at run time, driven on non-blocking descriptors; see
 * tls_engine.h. Only the few entry points used are declared, with opaque types. */
#include "tls_engine.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_method_st SSL_METHOD;
typedef struct x509_verify_param_st X509_VERIFY_PARAM;

/* OpenSSL's stable ABI numbers (same in 1.1.1 and 3.x). */
#define O_SSL_FILETYPE_PEM 1
#define O_SSL_VERIFY_NONE 0
#define O_SSL_VERIFY_PEER 1
#define O_SSL_VERIFY_FAIL_IF_NO_PEER_CERT 2
#define O_SSL_ERROR_SSL 1
#define O_SSL_ERROR_WANT_READ 2
#define O_SSL_ERROR_WANT_WRITE 3
#define O_SSL_ERROR_SYSCALL 5
#define O_SSL_ERROR_ZERO_RETURN 6
#define O_SSL_CTRL_MODE 33
#define O_SSL_CTRL_SET_TLSEXT_HOSTNAME 55
#define O_SSL_CTRL_SET_MIN_PROTO_VERSION 123
#define O_SSL_MODE_PARTIAL_WRITE 0x1
#define O_SSL_MODE_MOVING_BUFFER 0x2
#define O_TLS1_2_VERSION 0x0303
#define O_X509_V_OK 0

static struct {
    unsigned long (*version_num)(void);
    const SSL_METHOD *(*tls_method)(void);
    SSL_CTX *(*ctx_new)(const SSL_METHOD *);
    void (*ctx_free)(SSL_CTX *);
    long (*ctx_ctrl)(SSL_CTX *, int, long, void *);
    int (*ctx_use_chain)(SSL_CTX *, const char *);
    int (*ctx_use_key)(SSL_CTX *, const char *, int);
    int (*ctx_check_key)(const SSL_CTX *);
    int (*ctx_load_verify)(SSL_CTX *, const char *, const char *);
    int (*ctx_default_verify)(SSL_CTX *);
    void (*ctx_set_verify)(SSL_CTX *, int, void *);
    SSL *(*ssl_new)(SSL_CTX *);
    void (*ssl_free)(SSL *);
    int (*set_fd)(SSL *, int);
    void (*set_connect)(SSL *);
    void (*set_accept)(SSL *);
    int (*do_handshake)(SSL *);
    int (*read)(SSL *, void *, int);
    int (*write)(SSL *, const void *, int);
    int (*get_error)(const SSL *, int);
    int (*pending)(const SSL *);
    long (*ssl_ctrl)(SSL *, int, long, void *);
    int (*set1_host)(SSL *, const char *);
    X509_VERIFY_PARAM *(*get0_param)(SSL *);
    int (*param_set1_ip_asc)(X509_VERIFY_PARAM *, const char *);
    long (*get_verify_result)(const SSL *);
    const char *(*verify_string)(long);
    unsigned long (*err_get)(void);
    void (*err_string)(unsigned long, char *, size_t);
    void (*err_clear)(void);
} O;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded;
static char load_error[256];

static void load(void)
{
    static const char *names[] = {"libssl.so.3", "libssl.so.1.1", "libssl.3.dylib",
                                  "libssl.1.1.dylib", "libssl.so"};
    void *h = NULL;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !h; i++)
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(load_error, sizeof(load_error),
                 "TLS needs OpenSSL 1.1.1 or 3.x (libssl.so.3 or libssl.so.1.1), "
                 "which could not be loaded: install OpenSSL (e.g. apt-get install libssl3)");
        return;
    }
    struct {
        void **slot;
        const char *name;
    } syms[] = {
        {(void **)&O.version_num, "OpenSSL_version_num"},
        {(void **)&O.tls_method, "TLS_method"},
        {(void **)&O.ctx_new, "SSL_CTX_new"},
        {(void **)&O.ctx_free, "SSL_CTX_free"},
        {(void **)&O.ctx_ctrl, "SSL_CTX_ctrl"},
        {(void **)&O.ctx_use_chain, "SSL_CTX_use_certificate_chain_file"},
        {(void **)&O.ctx_use_key, "SSL_CTX_use_PrivateKey_file"},
        {(void **)&O.ctx_check_key, "SSL_CTX_check_private_key"},
        {(void **)&O.ctx_load_verify, "SSL_CTX_load_verify_locations"},
        {(void **)&O.ctx_default_verify, "SSL_CTX_set_default_verify_paths"},
        {(void **)&O.ctx_set_verify, "SSL_CTX_set_verify"},
        {(void **)&O.ssl_new, "SSL_new"},
        {(void **)&O.ssl_free, "SSL_free"},
        {(void **)&O.set_fd, "SSL_set_fd"},
        {(void **)&O.set_connect, "SSL_set_connect_state"},
        {(void **)&O.set_accept, "SSL_set_accept_state"},
        {(void **)&O.do_handshake, "SSL_do_handshake"},
        {(void **)&O.read, "SSL_read"},
        {(void **)&O.write, "SSL_write"},
        {(void **)&O.get_error, "SSL_get_error"},
        {(void **)&O.pending, "SSL_pending"},
        {(void **)&O.ssl_ctrl, "SSL_ctrl"},
        {(void **)&O.set1_host, "SSL_set1_host"},
        {(void **)&O.get0_param, "SSL_get0_param"},
        {(void **)&O.param_set1_ip_asc, "X509_VERIFY_PARAM_set1_ip_asc"},
        {(void **)&O.get_verify_result, "SSL_get_verify_result"},
        {(void **)&O.verify_string, "X509_verify_cert_error_string"},
        {(void **)&O.err_get, "ERR_get_error"},
        {(void **)&O.err_string, "ERR_error_string_n"},
        {(void **)&O.err_clear, "ERR_clear_error"},
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        *syms[i].slot = dlsym(h, syms[i].name);
        if (!*syms[i].slot) {
            snprintf(load_error, sizeof(load_error),
                     "TLS needs OpenSSL 1.1.1 or 3.x; the libssl found lacks %s",
                     syms[i].name);
            return;
        }
    }
    if (O.version_num() < 0x10101000UL) {
        snprintf(load_error, sizeof(load_error),
                 "TLS needs OpenSSL 1.1.1 or 3.x; found version %#lx", O.version_num());
        return;
    }
    loaded = 1;  /* the library stays loaded for the life of the process */
}

int np_tls_available(char *why, size_t cap)
{
    pthread_once(&load_once, load);
    if (!loaded && why && cap)
        snprintf(why, cap, "%s", load_error);
    return loaded;
}

/* ---- last endpoint error --------------------------------------------------------------- */

static pthread_mutex_t last_error_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_error[256];

void np_tls_set_last_error(const char *why)
{
    pthread_mutex_lock(&last_error_lock);
    snprintf(last_error, sizeof(last_error), "%s", why);
    pthread_mutex_unlock(&last_error_lock);
}

int np_tls_take_last_error(char *buf, size_t cap)
{
    pthread_mutex_lock(&last_error_lock);
    int had = last_error[0] != 0;
    if (had && buf && cap)
        snprintf(buf, cap, "%s", last_error);
    last_error[0] = 0;
    pthread_mutex_unlock(&last_error_lock);
    return had;
}

/* ---- configuration blob ----------------------------------------------------------------- */

/* The parsed blob: "name=value" lines (see tls_engine.h). */
typedef struct {
    int server, verify;
    char cert[1024], key[1024], ca[1024], name[256];
} blob_view;

static int blob_field(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap)
        return -EINVAL;
    memcpy(dst, v, n);
    dst[n] = 0;
    return 0;
}

static int blob_flag(int *dst, const char *v, size_t n)
{
    if (n != 1 || (v[0] != '0' && v[0] != '1'))
        return -EINVAL;
    *dst = v[0] - '0';
    return 0;
}

static int blob_parse(const void *blob, size_t len, blob_view *v)
{
    memset(v, 0, sizeof(*v));
    v->server = -1;
    v->verify = 1;
    const char *p = blob, *end = p + len;
    if (!blob || len == 0 || len > NP_TLS_BLOB_MAX || memchr(p, 0, len))
        return -EINVAL;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *eq = memchr(p, '=', (size_t)(eol - p));
        if (eq) {
            size_t nl = (size_t)(eq - p), vl = (size_t)(eol - eq - 1);
            const char *val = eq + 1;
            int rc;
#define NAME_IS(lit) (nl == sizeof(lit) - 1 && memcmp(p, lit, nl) == 0)
            if (NAME_IS("server"))
                rc = blob_flag(&v->server, val, vl);
            else if (NAME_IS("verify"))
                rc = blob_flag(&v->verify, val, vl);
            else if (NAME_IS("cert_file"))
                rc = blob_field(v->cert, sizeof(v->cert), val, vl);
            else if (NAME_IS("key_file"))
                rc = blob_field(v->key, sizeof(v->key), val, vl);
            else if (NAME_IS("ca_file"))
                rc = blob_field(v->ca, sizeof(v->ca), val, vl);
            else if (NAME_IS("server_name"))
                rc = blob_field(v->name, sizeof(v->name), val, vl);
            else
                rc = -EINVAL;
#undef NAME_IS
            if (rc)
                return rc;
        } else if (eol != p) {
            return -EINVAL;
        }
        p = eol + 1;
    }
    return v->server < 0 ? -EINVAL : 0;
}

struct np_tls_ctx {
    SSL_CTX *ctx;
    int server;
    char host[256];   /* name the server's certificate must carry ("" = no check) */
    int host_is_ip;
};

struct np_tls {
    SSL *ssl;
    np_tls_ctx *c;
    char why[200];
};

static void library_error(char *why, size_t cap, const char *what, const char *file)
{
    char e[160] = "";
    unsigned long code = O.err_get();
    if (code)
        O.err_string(code, e, sizeof(e));
    O.err_clear();
    snprintf(why, cap, "%s%s%s: %s", what, file ? " " : "", file ? file : "",
             e[0] ? e : "error");
}

np_tls_ctx *np_tls_ctx_new(const void *blob, size_t len, int is_server, const char *host,
                           int *err, char *why, size_t cap)
{
    blob_view v;
    *err = EINVAL;
    if (blob_parse(blob, len, &v) < 0) {
        snprintf(why, cap, "malformed TLS configuration");
        return NULL;
    }
    if (v.server != is_server) {
        snprintf(why, cap, "the socket's TLS configuration is for a %s, not a %s",
                 v.server ? "server (bind)" : "client (connect)",
                 is_server ? "server (bind)" : "client (connect)");
        return NULL;
    }
    if (!np_tls_available(why, cap)) {
        *err = EPROTONOSUPPORT;
        return NULL;
    }
    *err = EINVAL;
    if (is_server && (!v.cert[0] || !v.key[0])) {
        snprintf(why, cap, "a TLS server needs cert_file and key_file");
        return NULL;
    }
    np_tls_ctx *c = calloc(1, sizeof(*c));
    if (!c) {
        *err = ENOMEM;
        return NULL;
    }
    c->server = is_server;
    O.err_clear();
    c->ctx = O.ctx_new(O.tls_method());
    if (!c->ctx) {
        library_error(why, cap, "SSL_CTX_new failed", NULL);
        goto fail;
    }
    O.ctx_ctrl(c->ctx, O_SSL_CTRL_SET_MIN_PROTO_VERSION, O_TLS1_2_VERSION, NULL);
    /* Writes may be partial (one record at a time) and resumed from a moved buffer. */
    O.ctx_ctrl(c->ctx, O_SSL_CTRL_MODE, O_SSL_MODE_PARTIAL_WRITE | O_SSL_MODE_MOVING_BUFFER,
               NULL);
    if (v.cert[0] && O.ctx_use_chain(c->ctx, v.cert) != 1) {
        library_error(why, cap, "cannot load certificate", v.cert);
        goto fail;
    }
    if (v.key[0] && O.ctx_use_key(c->ctx, v.key, O_SSL_FILETYPE_PEM) != 1) {
        library_error(why, cap, "cannot load private key", v.key);
        goto fail;
    }
    if (v.cert[0] && v.key[0] && O.ctx_check_key(c->ctx) != 1) {
        library_error(why, cap, "private key does not match certificate", v.key);
        goto fail;
    }
    int mode = O_SSL_VERIFY_NONE;
    if (v.verify) {
        if (v.ca[0]) {
            if (O.ctx_load_verify(c->ctx, v.ca, NULL) != 1) {
                library_error(why, cap, "cannot load CA file", v.ca);
                goto fail;
            }
        } else if (!is_server) {
            O.ctx_default_verify(c->ctx);
        }
        /* A client always checks the server. A server asks for (and requires) a client
         * certificate only when it was given a CA to check it against. */
        if (!is_server)
            mode = O_SSL_VERIFY_PEER;
        else if (v.ca[0])
            mode = O_SSL_VERIFY_PEER | O_SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    O.ctx_set_verify(c->ctx, mode, NULL);
    if (!is_server && v.verify) {
        const char *name = v.name[0] ? v.name : (host ? host : "");
        snprintf(c->host, sizeof(c->host), "%s", name);
        uint8_t addr[16];
        c->host_is_ip = inet_pton(AF_INET, c->host, addr) == 1 ||
                        inet_pton(AF_INET6, c->host, addr) == 1;
    } else if (!is_server) {
        /* SNI still goes out (servers with several names need it), unchecked. */
        snprintf(c->host, sizeof(c->host), "%s", v.name[0] ? v.name : (host ? host : ""));
        c->host_is_ip = -1;
    }
    *err = 0;
    return c;
fail:
    np_tls_ctx_free(c);
    return NULL;
}

void np_tls_ctx_free(np_tls_ctx *c)
{
    if (!c)
        return;
    if (c->ctx)
        O.ctx_free(c->ctx);
    free(c);
}

np_tls *np_tls_new(np_tls_ctx *c, int fd)
{
    np_tls *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->c = c;
    t->ssl = O.ssl_new(c->ctx);
    if (!t->ssl || O.set_fd(t->ssl, fd) != 1)
        goto fail;
    if (c->server) {
        O.set_accept(t->ssl);
    } else {
        O.set_connect(t->ssl);
        uint8_t addr[16];
        int literal = inet_pton(AF_INET, c->host, addr) == 1 ||
                      inet_pton(AF_INET6, c->host, addr) == 1;
        if (c->host[0] && !literal)
            O.ssl_ctrl(t->ssl, O_SSL_CTRL_SET_TLSEXT_HOSTNAME, 0, c->host);
        if (c->host[0] && c->host_is_ip == 1) {
            if (O.param_set1_ip_asc(O.get0_param(t->ssl), c->host) != 1)
                goto fail;
        } else if (c->host[0] && c->host_is_ip == 0) {
            if (O.set1_host(t->ssl, c->host) != 1)
                goto fail;
        }
    }
    return t;
fail:
    O.err_clear();
    np_tls_free(t);
    return NULL;
}

void np_tls_free(np_tls *t)
{
    if (!t)
        return;
    if (t->ssl)
        O.ssl_free(t->ssl);
    free(t);
}

const char *np_tls_why(np_tls *t) { return t->why; }

/* Map an SSL_* result to ours; records the reason of a failure. */
static int outcome(np_tls *t, int rc, int in_handshake)
{
    int e = O.get_error(t->ssl, rc);
    switch (e) {
    case O_SSL_ERROR_WANT_READ:
        return NP_TLS_WANT_READ;
    case O_SSL_ERROR_WANT_WRITE:
        return NP_TLS_WANT_WRITE;
    case O_SSL_ERROR_ZERO_RETURN:
        O.err_clear();
        snprintf(t->why, sizeof(t->why), "peer closed the TLS session");
        return in_handshake ? -ECONNRESET : 0;
    case O_SSL_ERROR_SYSCALL: {
        int saved = errno;
        O.err_clear();
        snprintf(t->why, sizeof(t->why), "connection lost during TLS (%s)",
                 saved ? strerror(saved) : "unexpected end of stream");
        return -ECONNRESET;
    }
    default: {
        long vr = O.get_verify_result(t->ssl);
        if (in_handshake && vr != O_X509_V_OK) {
            O.err_clear();
            snprintf(t->why, sizeof(t->why), "certificate verification failed: %s",
                     O.verify_string(vr));
        } else {
            library_error(t->why, sizeof(t->why), in_handshake ? "TLS handshake failed"
                                                               : "TLS error", NULL);
        }
        return -EPROTO;
    }
    }
}

int np_tls_handshake(np_tls *t)
{
    O.err_clear();
    int rc = O.do_handshake(t->ssl);
    return rc == 1 ? 0 : outcome(t, rc, 1);
}

ssize_t np_tls_read(np_tls *t, void *buf, size_t len)
{
    if (len > INT32_MAX)
        len = INT32_MAX;
    O.err_clear();
    int rc = O.read(t->ssl, buf, (int)len);
    return rc > 0 ? rc : outcome(t, rc, 0);
}

ssize_t np_tls_write(np_tls *t, const void *buf, size_t len)
{
    if (len > INT32_MAX)
        len = INT32_MAX;
    O.err_clear();
    int rc = O.write(t->ssl, buf, (int)len);
    if (rc > 0)
        return rc;
    int r = outcome(t, rc, 0);
    return r == 0 ? -ECONNRESET : r;
}

int np_tls_pending(np_tls *t) { return O.pending(t->ssl); }
