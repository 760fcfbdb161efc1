/*
 * options.c - nn_setsockopt / nn_getsockopt. Level 0 is the socket's own options, a
 * positive level the protocol's (its ops->setopt/getopt), a negative one a transport's:
 * those are checked against the option's definition in the transport registry and kept in
 * the socket's store (topt.h) for the transport to read.
 */
#include "core/table.h"
#include "core/topt.h"
#include "transports/transport.h"

#include <string.h>

static int options_get_int(const void *val, size_t len, int *out)
{
    if (len != sizeof(int) || !val)
        return -EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

static int options_put_int(void *val, size_t *len, int v)
{
    size_t n = *len < sizeof(int) ? *len : sizeof(int);
    memcpy(val, &v, n);
    *len = sizeof(int);
    return 0;
}

/* The int options of level 0 and the range each accepts. */
static int options_set_socket_int(np_sock *s, int opt, int v)
{
    switch (opt) {
    case NP_LINGER: s->linger = v; return 0;
    case NP_SNDBUF: if (v <= 0) return -EINVAL; s->sndbuf = v; return 0;
    case NP_RCVBUF: if (v <= 0) return -EINVAL; s->rcvbuf = v; return 0;
    case NP_SNDTIMEO: s->sndtimeo = v; return 0;
    case NP_RCVTIMEO: s->rcvtimeo = v; return 0;
    case NP_RECONNECT_IVL: if (v < 0) return -EINVAL; s->reconnect_ivl = v; return 0;
    case NP_RECONNECT_IVL_MAX: if (v < 0) return -EINVAL; s->reconnect_ivl_max = v; return 0;
    case NP_SNDPRIO: if (v < 1 || v > 16) return -EINVAL; s->sndprio = v; return 0;
    case NP_RCVPRIO: if (v < 1 || v > 16) return -EINVAL; s->rcvprio = v; return 0;
    case NP_IPV4ONLY: if (v != 0 && v != 1) return -EINVAL; s->ipv4only = v; return 0;
    case NP_RCVMAXSIZE: if (v < -1) return -EINVAL; s->rcvmaxsize = v; return 0;
    case NP_MAXTTL: if (v < 1 || v > 255) return -EINVAL; s->maxttl = v; return 0;
    }
    return -ENOPROTOOPT;
}

static int options_set_socket(np_sock *s, int opt, const void *val, size_t len)
{
    int v;
    if (opt == NP_SOCKET_NAME) {
        if (len > NP_SOCKET_NAME_MAX)
            return -EINVAL;
        memcpy(s->name, val, len);
        s->name[len] = 0;
        return 0;
    }
    switch (opt) {
    case NP_LINGER: case NP_SNDBUF: case NP_RCVBUF: case NP_SNDTIMEO: case NP_RCVTIMEO:
    case NP_RECONNECT_IVL: case NP_RECONNECT_IVL_MAX: case NP_SNDPRIO: case NP_RCVPRIO:
    case NP_IPV4ONLY: case NP_RCVMAXSIZE: case NP_MAXTTL:
        break;
    default:
        return -ENOPROTOOPT;  /* includes the read-only NN_SNDFD, NN_DOMAIN... */
    }
    if (options_get_int(val, len, &v))
        return -EINVAL;
    return options_set_socket_int(s, opt, v);
}

static int options_set_transport(np_sock *s, int level, int opt, const void *val, size_t len)
{
    int known, v;
    const np_tran_option *def = np_transport_option(level, opt, &known);
    if (!def)
        return -ENOPROTOOPT;
    switch (def->kind) {
    case NP_TOPT_INT:
        if (options_get_int(val, len, &v) || v < def->min || v > def->max)
            return -EINVAL;
        return np_topt_store(s, level, opt, &v, sizeof(v));
    case NP_TOPT_BLOB:
        if ((len && !val) || len > (size_t)def->max)
            return -EINVAL;
        return np_topt_store(s, level, opt, val, len);
    default:  /* NP_TOPT_IGNORED */
        return len < sizeof(int) ? -EINVAL : 0;
    }
}

int np_setsockopt(int id, int level, int opt, const void *val, size_t len)
{
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->lock);
    if (level == NP_SOL_SOCKET)
        rc = options_set_socket(s, opt, val, len);
    else if (level > 0)
        rc = (level == s->ops->opt_level && s->ops->setopt) ? s->ops->setopt(s, opt, val, len)
                                                            : -ENOPROTOOPT;
    else
        rc = options_set_transport(s, level, opt, val, len);
    np_sock_update_ready(s);
    pthread_mutex_unlock(&s->lock);
    np_table_release(s);
    return rc;
}

static int options_get_socket(np_sock *s, int opt, void *val, size_t *len)
{
    switch (opt) {
    case NP_LINGER: return options_put_int(val, len, s->linger);
    case NP_SNDBUF: return options_put_int(val, len, s->sndbuf);
    case NP_RCVBUF: return options_put_int(val, len, s->rcvbuf);
    case NP_SNDTIMEO: return options_put_int(val, len, s->sndtimeo);
    case NP_RCVTIMEO: return options_put_int(val, len, s->rcvtimeo);
    case NP_RECONNECT_IVL: return options_put_int(val, len, s->reconnect_ivl);
    case NP_RECONNECT_IVL_MAX: return options_put_int(val, len, s->reconnect_ivl_max);
    case NP_SNDPRIO: return options_put_int(val, len, s->sndprio);
    case NP_RCVPRIO: return options_put_int(val, len, s->rcvprio);
    case NP_SNDFD:
        if (!(s->ops->dirs & NP_CAN_SEND))
            return -ENOPROTOOPT;
        return options_put_int(val, len, np_efd_pollfd(&s->snd_efd));
    case NP_RCVFD:
        if (!(s->ops->dirs & NP_CAN_RECV))
            return -ENOPROTOOPT;
        return options_put_int(val, len, np_efd_pollfd(&s->rcv_efd));
    case NP_DOMAIN: return options_put_int(val, len, s->domain);
    case NP_PROTOCOL: return options_put_int(val, len, s->protocol);
    case NP_IPV4ONLY: return options_put_int(val, len, s->ipv4only);
    case NP_RCVMAXSIZE: return options_put_int(val, len, s->rcvmaxsize);
    case NP_MAXTTL: return options_put_int(val, len, s->maxttl);
    case NP_SOCKET_NAME: {
        size_t n = strlen(s->name);
        memcpy(val, s->name, n < *len ? n : *len);
        *len = n;
        return 0;
    }
    }
    return -ENOPROTOOPT;
}

static int options_get_transport(np_sock *s, int level, int opt, void *val, size_t *len)
{
    int known;
    const np_tran_option *def = np_transport_option(level, opt, &known);
    if (!def || def->kind == NP_TOPT_IGNORED)
        return -ENOPROTOOPT;
    const np_topt *o = np_topt_lookup(s, level, opt);
    if (def->kind == NP_TOPT_INT) {
        int v = def->def;
        if (o && o->len == sizeof(int))
            memcpy(&v, o->value, sizeof(int));
        return options_put_int(val, len, v);
    }
    size_t n = o ? o->len : 0;
    if (n)
        memcpy(val, o->value, n < *len ? n : *len);
    *len = n;
    return 0;
}

int np_getsockopt(int id, int level, int opt, void *val, size_t *len)
{
    np_sock *s;
    int rc = np_table_hold(id, &s);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->lock);
    if (level == NP_SOL_SOCKET)
        rc = options_get_socket(s, opt, val, len);
    else if (level > 0)
        rc = (level == s->ops->opt_level && s->ops->getopt) ? s->ops->getopt(s, opt, val, len)
                                                            : -ENOPROTOOPT;
    else
        rc = options_get_transport(s, level, opt, val, len);
    pthread_mutex_unlock(&s->lock);
    np_table_release(s);
    return rc;
}
