/* trie.c - radix tree of subscriptions; see trie.h. */
#include "protocols/trie.h"

#include "platform/np_errno.h"
#include <stdlib.h>
#include <string.h>

struct np_trie_node {
    uint32_t refs;              /* subscriptions ending exactly here */
    size_t plen;                /* label of the edge leading into this node */
    uint8_t *prefix;
    int nchild, cap;
    np_trie_node **children;    /* sorted by the first byte of their label */
};

static np_trie_node *trie_node_new(const uint8_t *label, size_t len)
{
    np_trie_node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    if (len) {
        n->prefix = malloc(len);
        if (!n->prefix) {
            free(n);
            return NULL;
        }
        memcpy(n->prefix, label, len);
    }
    n->plen = len;
    return n;
}

static void trie_node_free(np_trie_node *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->nchild; i++)
        trie_node_free(n->children[i]);
    free(n->children);
    free(n->prefix);
    free(n);
}

/* Index of the child whose label starts with byte c, or -(insert position) - 1. */
static int trie_child_find(const np_trie_node *n, uint8_t c)
{
    int lo = 0, hi = n->nchild - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        uint8_t k = n->children[mid]->prefix[0];
        if (k == c)
            return mid;
        if (k < c)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -lo - 1;
}

static int trie_child_insert(np_trie_node *n, int pos, np_trie_node *c)
{
    if (n->nchild == n->cap) {
        int cap = n->cap ? n->cap * 2 : 2;
        np_trie_node **a = realloc(n->children, (size_t)cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        n->children = a;
        n->cap = cap;
    }
    memmove(&n->children[pos + 1], &n->children[pos],
            (size_t)(n->nchild - pos) * sizeof(*n->children));
    n->children[pos] = c;
    n->nchild++;
    return 0;
}

static void trie_child_remove(np_trie_node *n, int pos)
{
    memmove(&n->children[pos], &n->children[pos + 1],
            (size_t)(n->nchild - pos - 1) * sizeof(*n->children));
    n->nchild--;
}

void np_trie_init(np_trie *t) { t->root = trie_node_new(NULL, 0); }

void np_trie_fini(np_trie *t)
{
    trie_node_free(t->root);
    t->root = NULL;
}

int np_trie_subscribe(np_trie *t, const uint8_t *topic, size_t len)
{
    if (!t->root)
        return -ENOMEM;
    np_trie_node *n = t->root;
    size_t i = 0;
    for (;;) {
        if (i == len) {
            n->refs++;
            return 0;
        }
        int pos = trie_child_find(n, topic[i]);
        if (pos < 0) {
            np_trie_node *c = trie_node_new(topic + i, len - i);
            if (!c)
                return -ENOMEM;
            if (trie_child_insert(n, -pos - 1, c) != 0) {
                trie_node_free(c);
                return -ENOMEM;
            }
            c->refs = 1;
            return 0;
        }
        np_trie_node *c = n->children[pos];
        size_t common = 0;
        while (common < c->plen && i + common < len && c->prefix[common] == topic[i + common])
            common++;
        if (common < c->plen) {
            /* Split c's label: a new node for the shared part, c keeps the rest. */
            np_trie_node *mid = trie_node_new(c->prefix, common);
            uint8_t *rest = malloc(c->plen - common);
            if (!mid || !rest || trie_child_insert(mid, 0, c) != 0) {
                trie_node_free(mid);
                free(rest);
                return -ENOMEM;
            }
            memcpy(rest, c->prefix + common, c->plen - common);
            free(c->prefix);
            c->prefix = rest;
            c->plen -= common;
            n->children[pos] = mid;
            c = mid;
        }
        n = c;
        i += common;
    }
}

/* Fold a node without subscriptions and with one child into that child's label. */
static void trie_merge_with_only_child(np_trie_node *n)
{
    np_trie_node *c = n->children[0];
    uint8_t *label = malloc(n->plen + c->plen);
    if (!label)
        return;  /* stays unmerged: still correct, just less compact */
    memcpy(label, n->prefix, n->plen);
    memcpy(label + n->plen, c->prefix, c->plen);
    free(n->prefix);
    n->prefix = label;
    n->plen += c->plen;
    n->refs = c->refs;
    free(n->children);
    n->children = c->children;
    n->nchild = c->nchild;
    n->cap = c->cap;
    free(c->prefix);
    free(c);
}

static int trie_unsub(np_trie_node *n, const uint8_t *topic, size_t len, int is_root)
{
    if (len == 0) {
        if (n->refs == 0)
            return -EINVAL;
        n->refs--;
    } else {
        int pos = trie_child_find(n, topic[0]);
        if (pos < 0)
            return -EINVAL;
        np_trie_node *c = n->children[pos];
        if (c->plen > len || memcmp(c->prefix, topic, c->plen) != 0)
            return -EINVAL;
        int rc = trie_unsub(c, topic + c->plen, len - c->plen, 0);
        if (rc)
            return rc;
        if (c->refs == 0 && c->nchild == 0) {
            trie_child_remove(n, pos);
            trie_node_free(c);
        }
    }
    if (!is_root && n->refs == 0 && n->nchild == 1)
        trie_merge_with_only_child(n);
    return 0;
}

int np_trie_unsubscribe(np_trie *t, const uint8_t *topic, size_t len)
{
    if (!t->root)
        return -EINVAL;
    return trie_unsub(t->root, topic, len, 1);
}

int np_trie_match(const np_trie *t, const uint8_t *data, size_t len)
{
    const np_trie_node *n = t->root;
    size_t i = 0;
    while (n) {
        if (n->refs)
            return 1;
        if (i == len)
            return 0;
        int pos = trie_child_find(n, data[i]);
        if (pos < 0)
            return 0;
        const np_trie_node *c = n->children[pos];
        if (len - i < c->plen || memcmp(c->prefix, data + i, c->plen) != 0)
            return 0;
        i += c->plen;
        n = c;
    }
    return 0;
}
