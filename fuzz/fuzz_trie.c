/*
 * fuzz_trie.c - libFuzzer target: the subscription trie against a brute-force reference.
 *
 * The input is a stream of operations (subscribe / unsubscribe / match). The reference is
 * a plain list of (topic, count); matching is "some topic with count > 0 is a prefix".
 * trie.c is compiled in so the tree's shape can be checked after each operation too: a
 * tree that answers right but never merges back leaks per subscribe/unsubscribe cycle.
 *
 * Op encoding: one byte (bits 0-1: 0 sub, 1 unsub, 2-3 match; bit 2: small alphabet
 * "abc" instead of raw bytes; bits 3-7: length 0..31), then that many topic bytes.
 */
#include "protocols/trie.c"

#include <errno.h>
#include <stdio.h>

#define MAX_TOPICS 512
#define MAX_LEN 31

typedef struct {
    uint8_t s[MAX_LEN];
    size_t len;
    unsigned count;
} ref_topic;

static ref_topic ref[MAX_TOPICS];
static size_t nref;

static void die(const char *what)
{
    fprintf(stderr, "fuzz_trie: %s\n", what);
    abort();
}

static ref_topic *ref_find(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < nref; i++)
        if (ref[i].len == len && memcmp(ref[i].s, s, len) == 0)
            return &ref[i];
    return NULL;
}

static int ref_match(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < nref; i++)
        if (ref[i].count && ref[i].len <= len && memcmp(ref[i].s, s, ref[i].len) == 0)
            return 1;
    return 0;
}

static void check_shape(const np_trie_node *n, int is_root)
{
    if (n->nchild < 0 || n->nchild > n->cap)
        die("child count out of range");
    if (!is_root) {
        if (n->plen == 0 || !n->prefix)
            die("empty edge label below the root");
        if (n->refs == 0 && n->nchild == 0)
            die("dead leaf left in the tree");
        if (n->refs == 0 && n->nchild == 1)
            die("pass-through node not merged");
    }
    for (int i = 0; i < n->nchild; i++) {
        if (i && n->children[i - 1]->prefix[0] >= n->children[i]->prefix[0])
            die("children not sorted by first byte");
        check_shape(n->children[i], 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    np_trie t;
    np_trie_init(&t);
    nref = 0;
    size_t pos = 0;
    while (pos < size) {
        uint8_t op = data[pos++];
        size_t len = op >> 3;
        if (len > size - pos)
            len = size - pos;
        uint8_t topic[MAX_LEN];
        for (size_t k = 0; k < len; k++)
            topic[k] = (op & 4) ? (uint8_t)('a' + data[pos + k] % 3) : data[pos + k];
        pos += len;
        ref_topic *r = ref_find(topic, len);
        switch (op & 3) {
        case 0:
            if (!r && nref == MAX_TOPICS)
                break;  /* reference full: skip, keep the two in step */
            if (np_trie_subscribe(&t, topic, len) != 0)
                die("subscribe failed");
            if (!r) {
                r = &ref[nref++];
                memcpy(r->s, topic, len);
                r->len = len;
                r->count = 0;
            }
            r->count++;
            break;
        case 1: {
            int rc = np_trie_unsubscribe(&t, topic, len);
            if (r && r->count) {
                if (rc != 0)
                    die("unsubscribe of a subscribed topic failed");
                r->count--;
            } else if (rc != -EINVAL) {
                die("unsubscribe of an unknown topic did not return -EINVAL");
            }
            break;
        }
        default:
            if (np_trie_match(&t, topic, len) != ref_match(topic, len))
                die("match disagrees with the reference");
            break;
        }
        check_shape(t.root, 1);
    }
    /* Remove what is left: the tree must be back to a bare root. */
    for (size_t i = 0; i < nref; i++)
        while (ref[i].count) {
            if (np_trie_unsubscribe(&t, ref[i].s, ref[i].len) != 0)
                die("final unsubscribe failed");
            ref[i].count--;
        }
    if (t.root->refs || t.root->nchild)
        die("tree not empty after removing every subscription");
    np_trie_fini(&t);
    return 0;
}
