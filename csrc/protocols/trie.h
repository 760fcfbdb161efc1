/*
 * trie.h - SUB's subscription set: a radix tree (edges carry byte strings, nodes split on
 * partial matches and merge back on unsubscribe). Matching walks the message's leading bytes
 * once, so its cost depends on the topic length, not on how many other topics exist.
 * Subscriptions are reference counted: subscribing twice needs two unsubscribes.
 */
#ifndef NP_TRIE_H
#define NP_TRIE_H

#include <stddef.h>
#include <stdint.h>

typedef struct np_trie_node np_trie_node;

typedef struct np_trie {
    np_trie_node *root;
} np_trie;

void np_trie_init(np_trie *t);
void np_trie_fini(np_trie *t);
/* 0, or -ENOMEM. */
int np_trie_subscribe(np_trie *t, const uint8_t *topic, size_t len);
/* 0, or -EINVAL when the topic is not subscribed. */
int np_trie_unsubscribe(np_trie *t, const uint8_t *topic, size_t len);
/* 1 if some subscription is a prefix of data[0..len). */
int np_trie_match(const np_trie *t, const uint8_t *data, size_t len);

#endif
