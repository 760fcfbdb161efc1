/* topt.c - per-socket transport option values; see topt.h. */
#include "core/topt.h"

#include "transports/transport.h"

#include <stdlib.h>
#include <string.h>

const np_topt *np_topt_lookup(const np_sock *s, int level, int option)
{
    for (const np_topt *o = s->topts; o; o = o->next)
        if (o->level == level && o->option == option)
            return o;
    return NULL;
}

int np_topt_store(np_sock *s, int level, int option, const void *val, size_t len)
{
    np_topt *o = malloc(sizeof(*o) + len);
    if (!o)
        return -ENOMEM;
    o->level = level;
    o->option = option;
    o->len = len;
    if (len)
        memcpy(o->value, val, len);
    /* Replace an older value in place, so the list holds one entry per option. */
    for (np_topt **pp = &s->topts; *pp; pp = &(*pp)->next) {
        if ((*pp)->level == level && (*pp)->option == option) {
            o->next = (*pp)->next;
            free(*pp);
            *pp = o;
            return 0;
        }
    }
    o->next = s->topts;
    s->topts = o;
    return 0;
}

int np_topt_int(np_sock *s, int level, int option, int def)
{
    int v = def;
    pthread_mutex_lock(&s->lock);
    const np_topt *o = np_topt_lookup(s, level, option);
    if (o && o->len == sizeof(int))
        memcpy(&v, o->value, sizeof(int));
    pthread_mutex_unlock(&s->lock);
    return v;
}

size_t np_topt_blob(np_sock *s, int level, int option, void *buf, size_t cap)
{
    size_t len = 0;
    pthread_mutex_lock(&s->lock);
    const np_topt *o = np_topt_lookup(s, level, option);
    if (o) {
        len = o->len;
        memcpy(buf, o->value, len < cap ? len : cap);
    }
    pthread_mutex_unlock(&s->lock);
    return len;
}
