/*
 * table.h - the socket table: ids to sockets, and the "hold" a call takes on its socket so
 * that nn_close can wake it (EBADF) and wait for it to leave before freeing anything.
 */
#ifndef NP_TABLE_H
#define NP_TABLE_H

#include "core/sock.h"

/* Take a hold on socket `id` for the duration of a call: 0, -EBADF or -ETERM. */
int np_table_hold(int id, np_sock **out);
void np_table_release(np_sock *s);
/* The error a call on a closing socket reports (EBADF, or ETERM after nn_term). */
int np_table_closed_error(void);

/* Put a new socket in the table: its id, or -EMFILE / -ETERM. */
int np_table_insert(np_sock *s);
/* Is there a free slot (a cheap check before building a socket)? */
int np_table_has_room(void);
/* Mark socket `id` closing and return it (NULL if absent or already closing). */
np_sock *np_table_begin_close(int id);
/* Wait for every call holding s to leave (s is closing). */
void np_table_wait_holds(np_sock *s);
/* Free the id of a closed socket. */
void np_table_remove(int id);

/* nn_term: mark the library terminated (every later call gets ETERM). */
void np_table_terminate(void);

/* fork(): hold the table lock across it (so the child's copy is consistent), and in the
 * child forget every inherited socket (old ids answer EBADF). */
void np_table_lock_for_fork(void);
void np_table_unlock_for_fork(void);
void np_table_forget_after_fork(void);

#endif
