/*
 * table.c - the socket table; see table.h. (What a forked child forgets is decided in
 * socket.c, which registers the fork handlers.)
 */
#include "core/table.h"

#include <stdio.h>
#include <string.h>

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static np_sock *table[NP_MAX_SOCKETS];
static int table_free_slots[NP_MAX_SOCKETS];
static int table_nfree = -1;  /* -1: table not initialised yet */
static atomic_int table_terminated;

int np_is_terminated(void) { return atomic_load(&table_terminated); }

void np_table_lock_for_fork(void) { pthread_mutex_lock(&table_lock); }
void np_table_unlock_for_fork(void) { pthread_mutex_unlock(&table_lock); }

void np_table_forget_after_fork(void)
{
    pthread_mutex_init(&table_lock, NULL);
    memset(table, 0, sizeof(table));
    table_nfree = -1;
}

static void table_init_locked(void)
{
    if (table_nfree >= 0)
        return;
    /* LIFO stack of free handles: a fresh process hands out 0, 1, 2, ... */
    table_nfree = 0;
    for (int i = NP_MAX_SOCKETS - 1; i >= 0; i--)
        table_free_slots[table_nfree++] = i;
}

int np_table_hold(int id, np_sock **out)
{
    if (atomic_load(&table_terminated))
        return -NP_ETERM;
    pthread_mutex_lock(&table_lock);
    if (id < 0 || id >= NP_MAX_SOCKETS || !table[id] || table[id]->closing) {
        pthread_mutex_unlock(&table_lock);
        return atomic_load(&table_terminated) ? -NP_ETERM : -EBADF;
    }
    np_sock *s = table[id];
    s->holds++;
    pthread_mutex_unlock(&table_lock);
    *out = s;
    return 0;
}

void np_table_release(np_sock *s)
{
    pthread_mutex_lock(&table_lock);
    if (--s->holds == 0 && s->closing)
        pthread_cond_broadcast(&s->holds_cond);
    pthread_mutex_unlock(&table_lock);
}

int np_table_closed_error(void)
{
    return atomic_load(&table_terminated) ? -NP_ETERM : -EBADF;
}

int np_table_has_room(void)
{
    pthread_mutex_lock(&table_lock);
    table_init_locked();
    int room = table_nfree > 0;
    pthread_mutex_unlock(&table_lock);
    return room;
}

int np_table_insert(np_sock *s)
{
    pthread_mutex_lock(&table_lock);
    table_init_locked();
    if (atomic_load(&table_terminated) || table_nfree == 0) {
        pthread_mutex_unlock(&table_lock);
        return atomic_load(&table_terminated) ? -NP_ETERM : -EMFILE;
    }
    int id = table_free_slots[--table_nfree];
    s->id = id;
    snprintf(s->name, sizeof(s->name), "%d", id);
    table[id] = s;
    pthread_mutex_unlock(&table_lock);
    return id;
}

np_sock *np_table_begin_close(int id)
{
    pthread_mutex_lock(&table_lock);
    table_init_locked();
    np_sock *s = NULL;
    if (id >= 0 && id < NP_MAX_SOCKETS && table[id] && !table[id]->closing) {
        s = table[id];
        s->closing = 1;
    }
    pthread_mutex_unlock(&table_lock);
    return s;
}

void np_table_wait_holds(np_sock *s)
{
    pthread_mutex_lock(&table_lock);
    while (s->holds > 0)
        pthread_cond_wait(&s->holds_cond, &table_lock);
    pthread_mutex_unlock(&table_lock);
}

void np_table_remove(int id)
{
    pthread_mutex_lock(&table_lock);
    table[id] = NULL;
    table_free_slots[table_nfree++] = id;
    pthread_mutex_unlock(&table_lock);
}

void np_table_terminate(void) { atomic_store(&table_terminated, 1); }
