/*
 * registry.c - the transports nanopy knows, by URL scheme. Adding one is a new file in this
 * folder defining its np_transport, plus one line in each list below.
 */
#include "transports/transport.h"

#include <string.h>

extern const np_transport np_inproc_transport;
extern const np_transport np_ipc_transport;
extern const np_transport np_tcp_transport;
extern const np_transport np_tls_tcp_transport;
extern const np_transport np_ws_transport;
extern const np_transport np_wss_transport;
extern const np_transport np_abstract_transport;

static const np_transport *const registry_transports[] = {
    &np_inproc_transport,
    &np_ipc_transport,
    &np_tcp_transport,
    &np_tls_tcp_transport,
    &np_ws_transport,
    &np_wss_transport,
    &np_abstract_transport,
    NULL,
};

const np_transport *np_transport_find(const char *scheme, size_t len)
{
    for (const np_transport *const *t = registry_transports; *t; t++)
        if (strlen((*t)->scheme) == len && memcmp((*t)->scheme, scheme, len) == 0)
            return *t;
    return NULL;
}

const np_tran_option *np_transport_option(int level, int option, int *level_known)
{
    *level_known = 0;
    for (const np_transport *const *t = registry_transports; *t; t++) {
        for (const np_tran_option *o = (*t)->options; o && o->level; o++) {
            if (o->level != level)
                continue;
            *level_known = 1;
            if (o->option == option)
                return o;
        }
    }
    return NULL;
}

void np_transports_after_fork(void)
{
    for (const np_transport *const *t = registry_transports; *t; t++)
        if ((*t)->after_fork)
            (*t)->after_fork();
}
