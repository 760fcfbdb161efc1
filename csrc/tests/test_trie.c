/*
 * test_trie.c - SUB's subscription radix tree.
 *
 * trie.c is compiled into this file so the tests can also check the tree's shape after
 * every operation (sorted children, no empty labels, no dead or foldable nodes): a tree that
 * still answers correctly but never merges back would leak memory per subscribe/unsubscribe
 * cycle, and that only shows in the shape.
 */
// deps:
#include "protocols/trie.c"
#include "tinytest.h"

#include <errno.h>

#define T(s) (const uint8_t *)(s), strlen(s)

/* Shape invariants; returns the number of nodes, or -1 (with a failure printed). */
static long check_node(const np_trie_node *n, int is_root)
{
    long count = 1;
    if (n->nchild > n->cap || n->nchild < 0)
        return -1;
    if (!is_root) {
        if (n->plen == 0 || !n->prefix)
            return -1;
        if (n->refs == 0 && n->nchild == 0)
            return -1;  /* dead leaf: should have been removed */
        if (n->refs == 0 && n->nchild == 1)
            return -1;  /* pass-through node: should have been merged */
    }
    for (int i = 0; i < n->nchild; i++) {
        if (i > 0 && n->children[i - 1]->prefix[0] >= n->children[i]->prefix[0])
            return -1;  /* unsorted or two children on the same first byte */
        long c = check_node(n->children[i], 0);
        if (c < 0)
            return -1;
        count += c;
    }
    return count;
}

#define CHECK_SHAPE(t)                                                                        \
    do {                                                                                      \
        if (check_node((t)->root, 1) < 0)                                                     \
            TT_FAIL_AT(__FILE__, __LINE__, "trie shape invariant broken");                    \
    } while (0)

static int trie_is_empty(const np_trie *t)
{
    return t->root->refs == 0 && t->root->nchild == 0;
}

static void test_empty_matches_nothing(void)
{
    np_trie t;
    np_trie_init(&t);
    CHECK_EQ(np_trie_match(&t, T("")), 0);
    CHECK_EQ(np_trie_match(&t, T("abc")), 0);
    CHECK_EQ(np_trie_match(&t, NULL, 0), 0);
    CHECK_EQ(np_trie_unsubscribe(&t, T("")), -EINVAL);
    CHECK_EQ(np_trie_unsubscribe(&t, T("a")), -EINVAL);
    CHECK(trie_is_empty(&t));
    np_trie_fini(&t);
}

static void test_empty_topic_matches_all(void)
{
    np_trie t;
    np_trie_init(&t);
    CHECK_EQ(np_trie_subscribe(&t, T("")), 0);
    CHECK_EQ(np_trie_match(&t, T("")), 1);
    CHECK_EQ(np_trie_match(&t, T("anything")), 1);
    CHECK_EQ(np_trie_match(&t, (const uint8_t *)"\0\xff", 2), 1);
    CHECK_EQ(np_trie_unsubscribe(&t, T("")), 0);
    CHECK_EQ(np_trie_match(&t, T("anything")), 0);
    CHECK(trie_is_empty(&t));
    np_trie_fini(&t);
}

static void test_prefix_matching(void)
{
    np_trie t;
    np_trie_init(&t);
    CHECK_EQ(np_trie_subscribe(&t, T("foo")), 0);
    CHECK_EQ(np_trie_match(&t, T("foo")), 1);
    CHECK_EQ(np_trie_match(&t, T("foobar")), 1);
    CHECK_EQ(np_trie_match(&t, T("fo")), 0);   /* shorter than the topic */
    CHECK_EQ(np_trie_match(&t, T("fob")), 0);
    CHECK_EQ(np_trie_match(&t, T("bar")), 0);
    CHECK_EQ(np_trie_match(&t, T("")), 0);
    /* Bytes, not C strings: NUL and 0xff are ordinary. */
    CHECK_EQ(np_trie_subscribe(&t, (const uint8_t *)"\0\xff\0", 3), 0);
    CHECK_EQ(np_trie_match(&t, (const uint8_t *)"\0\xff\0\x01", 4), 1);
    CHECK_EQ(np_trie_match(&t, (const uint8_t *)"\0\xff", 2), 0);
    CHECK_SHAPE(&t);
    np_trie_fini(&t);
}

static void test_split_and_merge(void)
{
    np_trie t;
    np_trie_init(&t);
    CHECK_EQ(np_trie_subscribe(&t, T("abcdef")), 0);
    CHECK_EQ(np_trie_subscribe(&t, T("abcxyz")), 0);  /* splits "abcdef" at "abc" */
    CHECK_SHAPE(&t);
    REQUIRE(t.root->nchild == 1);
    CHECK_EQ(t.root->children[0]->plen, 3);
    CHECK_EQ(t.root->children[0]->nchild, 2);
    CHECK_EQ(np_trie_subscribe(&t, T("ab")), 0);       /* splits again, inside the label */
    CHECK_SHAPE(&t);
    CHECK_EQ(np_trie_match(&t, T("abq")), 1);
    CHECK_EQ(np_trie_match(&t, T("a")), 0);
    CHECK_EQ(np_trie_unsubscribe(&t, T("ab")), 0);     /* "ab" node folds back into "abc" */
    CHECK_SHAPE(&t);
    CHECK_EQ(np_trie_match(&t, T("abq")), 0);
    CHECK_EQ(np_trie_match(&t, T("abcxyz!")), 1);
    CHECK_EQ(np_trie_unsubscribe(&t, T("abcxyz")), 0); /* "abc" + "def" merge to "abcdef" */
    CHECK_SHAPE(&t);
    REQUIRE(t.root->nchild == 1);
    CHECK_EQ(t.root->children[0]->plen, 6);
    CHECK_MEM(t.root->children[0]->prefix, "abcdef", 6);
    CHECK_EQ(np_trie_match(&t, T("abcdef")), 1);
    CHECK_EQ(np_trie_match(&t, T("abcxyz")), 0);
    CHECK_EQ(np_trie_unsubscribe(&t, T("abcdef")), 0);
    CHECK(trie_is_empty(&t));
    np_trie_fini(&t);
}

static void test_topic_is_prefix_of_existing_label(void)
{
    /* Subscribing a strict prefix of an existing edge splits the edge with no new leaf. */
    np_trie t;
    np_trie_init(&t);
    CHECK_EQ(np_trie_subscribe(&t, T("hello")), 0);
    CHECK_EQ(np_trie_subscribe(&t, T("hel")), 0);
    CHECK_SHAPE(&t);
    CHECK_EQ(np_trie_match(&t, T("help")), 1);
    CHECK_EQ(np_trie_unsubscribe(&t, T("hello")), 0);
    CHECK_SHAPE(&t);
    CHECK_EQ(np_trie_match(&t, T("help")), 1);
    CHECK_EQ(np_trie_match(&t, T("he")), 0);
    CHECK_EQ(np_trie_unsubscribe(&t, T("hel")), 0);
    CHECK(trie_is_empty(&t));
    np_trie_fini(&t);
}

static void test_refcounts(void)
{
    np_trie t;
    np_trie_init(&t);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(np_trie_subscribe(&t, T("x")), 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(np_trie_match(&t, T("xy")), 1);
        CHECK_EQ(np_trie_unsubscribe(&t, T("x")), 0);
    }
    CHECK_EQ(np_trie_match(&t, T("xy")), 0);
    CHECK_EQ(np_trie_unsubscribe(&t, T("x")), -EINVAL);
    /* The same for the root (""). */
    CHECK_EQ(np_trie_subscribe(&t, T("")), 0);
    CHECK_EQ(np_trie_subscribe(&t, T("")), 0);
    CHECK_EQ(np_trie_unsubscribe(&t, T("")), 0);
    CHECK_EQ(np_trie_match(&t, T("q")), 1);
    CHECK_EQ(np_trie_unsubscribe(&t, T("")), 0);
    CHECK_EQ(np_trie_unsubscribe(&t, T("")), -EINVAL);
    CHECK(trie_is_empty(&t));
    np_trie_fini(&t);
}

static void test_unsubscribe_unknown(void)
{
    np_trie t;
    np_trie_init(&t);
    CHECK_EQ(np_trie_subscribe(&t, T("abcd")), 0);
    CHECK_EQ(np_trie_subscribe(&t, T("abxy")), 0);
    const char *unknown[] = {"", "a", "ab", "abc", "abcde", "abx", "abxyz", "zzz", "b"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        if (np_trie_unsubscribe(&t, T(unknown[i])) != -EINVAL)
            TT_FAIL_AT(__FILE__, __LINE__, "unsubscribe(\"%s\") did not fail", unknown[i]);
        CHECK_SHAPE(&t);
    }
    /* Nothing was disturbed. */
    CHECK_EQ(np_trie_match(&t, T("abcd")), 1);
    CHECK_EQ(np_trie_match(&t, T("abxy")), 1);
    CHECK_EQ(np_trie_match(&t, T("ab")), 0);
    CHECK_EQ(np_trie_unsubscribe(&t, T("abcd")), 0);
    CHECK_EQ(np_trie_unsubscribe(&t, T("abxy")), 0);
    CHECK(trie_is_empty(&t));
    np_trie_fini(&t);
}

static void test_dense_node(void)
{
    /* All 256 first bytes under the root and under one inner node (> 8 children). */
    np_trie t;
    np_trie_init(&t);
    uint8_t buf[2];
    for (int b = 0; b < 256; b++) {
        buf[0] = (uint8_t)((b * 97) & 255);  /* insert out of order */
        CHECK_EQ(np_trie_subscribe(&t, buf, 1), 0);
        buf[0] = 'Q';
        buf[1] = (uint8_t)((b * 31) & 255);
        CHECK_EQ(np_trie_subscribe(&t, buf, 2), 0);
    }
    CHECK_SHAPE(&t);
    CHECK_EQ(t.root->nchild, 256);
    for (int b = 0; b < 256; b++) {
        buf[0] = (uint8_t)b;
        CHECK_EQ(np_trie_match(&t, buf, 1), 1);
    }
    /* Remove the single-byte ones; "Q" stays as an inner node with 256 children. */
    for (int b = 0; b < 256; b++) {
        buf[0] = (uint8_t)((b * 13) & 255);
        CHECK_EQ(np_trie_unsubscribe(&t, buf, 1), 0);
        CHECK_SHAPE(&t);
    }
    CHECK_EQ(t.root->nchild, 1);
    buf[0] = 'Q';
    CHECK_EQ(np_trie_match(&t, buf, 1), 0);
    for (int b = 0; b < 256; b++) {
        buf[1] = (uint8_t)b;
        CHECK_EQ(np_trie_match(&t, buf, 2), 1);
    }
    for (int b = 0; b < 256; b++) {
        buf[1] = (uint8_t)((b * 7) & 255);
        CHECK_EQ(np_trie_unsubscribe(&t, buf, 2), 0);
        CHECK_SHAPE(&t);
    }
    CHECK(trie_is_empty(&t));
    np_trie_fini(&t);
}

/* ---- against a brute-force reference ----------------------------------------------- */

/* Small alphabet, short topics: every topic maps to an index, so the reference is an array
 * of counts and matching is a loop over all possible prefixes. Collisions are frequent,
 * which is what drives splits and merges. */
#define ALPHA 3
#define MAXLEN 6
#define NTOPICS 1093  /* sum of 3^k, k = 0..6 */

static int topic_index(const uint8_t *s, size_t len)
{
    int base = 0, p = 1, v = 0;
    for (size_t k = 0; k < len; k++) {
        base += p;
        p *= ALPHA;
    }
    for (size_t k = 0; k < len; k++)
        v = v * ALPHA + (s[k] - 'a');
    return base + v;
}

static void test_random_ops_vs_reference(void)
{
    static int ref[NTOPICS];
    memset(ref, 0, sizeof(ref));
    np_trie t;
    np_trie_init(&t);
    uint64_t seed = 12345;
    for (int step = 0; step < 200000; step++) {
        uint8_t s[MAXLEN + 4];
        size_t len = tt_rand(&seed) % (MAXLEN + 1);
        for (size_t k = 0; k < len; k++)
            s[k] = (uint8_t)('a' + tt_rand(&seed) % ALPHA);
        int idx = topic_index(s, len);
        unsigned op = (unsigned)(tt_rand(&seed) % 3);
        if (op == 0) {
            CHECK_EQ(np_trie_subscribe(&t, s, len), 0);
            ref[idx]++;
        } else if (op == 1) {
            int rc = np_trie_unsubscribe(&t, s, len);
            if (ref[idx]) {
                CHECK_EQ(rc, 0);
                ref[idx]--;
            } else {
                CHECK_EQ(rc, -EINVAL);
            }
        } else {
            /* Matching may look past MAXLEN: pad with more letters. */
            size_t mlen = len + tt_rand(&seed) % 4;
            for (size_t k = len; k < mlen; k++)
                s[k] = (uint8_t)('a' + tt_rand(&seed) % ALPHA);
            int want = 0;
            for (size_t k = 0; k <= mlen && k <= MAXLEN && !want; k++)
                want = ref[topic_index(s, k)] > 0;
            if (np_trie_match(&t, s, mlen) != want) {
                TT_FAIL_AT(__FILE__, __LINE__, "step %d: match(%.*s) != %d", step, (int)mlen,
                           (const char *)s, want);
                break;
            }
        }
        if (step % 1000 == 0 && check_node(t.root, 1) < 0) {
            TT_FAIL_AT(__FILE__, __LINE__, "shape broken at step %d", step);
            break;
        }
    }
    /* Drain: after removing every remaining subscription the tree is empty again. */
    for (int i = 0; i < NTOPICS; i++) {
        /* rebuild the topic from its index */
        int base = 0, p = 1, len = 0;
        while (i >= base + p) {
            base += p;
            p *= ALPHA;
            len++;
        }
        uint8_t s[MAXLEN];
        int v = i - base;
        for (int k = len - 1; k >= 0; k--) {
            s[k] = (uint8_t)('a' + v % ALPHA);
            v /= ALPHA;
        }
        while (ref[i]) {
            CHECK_EQ(np_trie_unsubscribe(&t, s, (size_t)len), 0);
            ref[i]--;
        }
    }
    CHECK(trie_is_empty(&t));
    np_trie_fini(&t);
}

/* 100k random topics over the full byte alphabet, checked against a sorted array. */
#define NBIG 100000

typedef struct {
    uint8_t len;
    uint8_t s[15];
} topic;

static int topic_cmp(const void *a, const void *b)
{
    const topic *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (int)x->len - (int)y->len;
}

static int ref_match(const topic *set, size_t n, const uint8_t *data, size_t len)
{
    /* Some subscribed topic is a prefix of data: try every prefix length. */
    for (size_t k = 0; k <= len && k < 16; k++) {
        topic key;
        key.len = (uint8_t)k;
        memcpy(key.s, data, k);
        if (bsearch(&key, set, n, sizeof(topic), topic_cmp))
            return 1;
    }
    return 0;
}

static void test_100k_random_topics(void)
{
    static topic set[NBIG];
    uint64_t seed = 99;
    np_trie t;
    np_trie_init(&t);
    for (size_t i = 0; i < NBIG; i++) {
        /* Skewed bytes (mostly a few values) so topics share long prefixes. */
        set[i].len = (uint8_t)(1 + tt_rand(&seed) % 14);
        for (int k = 0; k < set[i].len; k++) {
            uint64_t r = tt_rand(&seed);
            set[i].s[k] = (uint8_t)((r & 3) ? "abcd"[(r >> 8) & 3] : (r >> 16));
        }
        REQUIRE(np_trie_subscribe(&t, set[i].s, set[i].len) == 0);
    }
    CHECK_SHAPE(&t);
    qsort(set, NBIG, sizeof(topic), topic_cmp);
    /* Every subscribed topic matches itself; random messages agree with the reference. */
    for (size_t i = 0; i < NBIG; i += 7)
        CHECK_EQ(np_trie_match(&t, set[i].s, set[i].len), 1);
    for (int q = 0; q < 50000; q++) {
        uint8_t msg[20];
        size_t len = tt_rand(&seed) % 20;
        for (size_t k = 0; k < len; k++) {
            uint64_t r = tt_rand(&seed);
            msg[k] = (uint8_t)((r & 3) ? "abcd"[(r >> 8) & 3] : (r >> 16));
        }
        int want = ref_match(set, NBIG, msg, len);
        if (np_trie_match(&t, msg, len) != want) {
            TT_FAIL_AT(__FILE__, __LINE__, "query %d disagrees (want %d)", q, want);
            break;
        }
    }
    /* Unsubscribe everything (duplicates included) in sorted order: the tree empties. */
    for (size_t i = 0; i < NBIG; i++)
        if (np_trie_unsubscribe(&t, set[i].s, set[i].len) != 0) {
            TT_FAIL_AT(__FILE__, __LINE__, "unsubscribe %zu failed", i);
            break;
        }
    CHECK(trie_is_empty(&t));
    np_trie_fini(&t);
}

static void test_fini_twice_and_use_after_fini(void)
{
    np_trie t;
    np_trie_init(&t);
    CHECK_EQ(np_trie_subscribe(&t, T("a")), 0);
    np_trie_fini(&t);
    np_trie_fini(&t);
    /* After fini the calls fail cleanly instead of touching freed memory. */
    CHECK_EQ(np_trie_subscribe(&t, T("a")), -ENOMEM);
    CHECK_EQ(np_trie_unsubscribe(&t, T("a")), -EINVAL);
    CHECK_EQ(np_trie_match(&t, T("a")), 0);
}

int main(void)
{
    TT_RUN(test_empty_matches_nothing);
    TT_RUN(test_empty_topic_matches_all);
    TT_RUN(test_prefix_matching);
    TT_RUN(test_split_and_merge);
    TT_RUN(test_topic_is_prefix_of_existing_label);
    TT_RUN(test_refcounts);
    TT_RUN(test_unsubscribe_unknown);
    TT_RUN(test_dense_node);
    TT_RUN(test_random_ops_vs_reference);
    TT_RUN(test_100k_random_topics);
    TT_RUN(test_fini_twice_and_use_after_fini);
    return tt_summary();
}
