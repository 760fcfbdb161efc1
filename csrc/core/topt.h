/*
 * topt.h - the per-socket store of transport-level option values. The core keeps them as
 * bytes keyed by (level, option) and never interprets them; transports read them with
 * np_topt_int / np_topt_blob (transports/transport.h). All under sock->lock.
 */
#ifndef NP_TOPT_H
#define NP_TOPT_H

#include "core/sock.h"

/* Store a value (sock->lock held). 0 or -ENOMEM. */
int np_topt_store(np_sock *s, int level, int option, const void *val, size_t len);
/* The stored value (sock->lock held), or NULL when never set. */
const np_topt *np_topt_lookup(const np_sock *s, int level, int option);

#endif
