/*
 * standalone.c - a main() for the fuzz targets when libFuzzer is not there (gcc builds).
 *
 * Two uses:
 *   standalone FILE_OR_DIR...            run every input once (regression tests: the seed
 *                                        corpus and every saved crash, under ASan/UBSan)
 *   standalone -t SECONDS [-s SEED] FILE_OR_DIR...
 *                                        a crude mutation fuzzer: random byte flips,
 *                                        inserts, deletes and splices of the given inputs.
 *                                        No coverage feedback, so far weaker than libFuzzer;
 *                                        it is the fallback of tools/fuzz.sh on machines
 *                                        without clang.
 * When a sanitizer or an abort() kills the run, the input being tried is written to
 * ./crash-standalone-<n> first (sanitizer death callback / SIGABRT handler), so it can be
 * replayed and turned into a regression input.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    uint8_t *data;
    size_t len;
} blob;

static blob *inputs;
static size_t ninputs, cap_inputs;
static const uint8_t *current;
static size_t current_len;
static int mutating;

static void save_current(void)
{
    if (!mutating || !current)
        return;
    char name[64];
    snprintf(name, sizeof(name), "crash-standalone-%ld", (long)getpid());
    FILE *f = fopen(name, "wb");
    if (f) {
        fwrite(current, 1, current_len, f);
        fclose(f);
        fprintf(stderr, "standalone: input written to %s\n", name);
    }
}

/* Provided by the sanitizer runtimes; weak so a build without them still links. */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static void on_abort(int sig)
{
    save_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void add_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        perror(path);
        exit(2);
    }
    fclose(f);
    if (ninputs == cap_inputs) {
        cap_inputs = cap_inputs ? cap_inputs * 2 : 64;
        inputs = realloc(inputs, cap_inputs * sizeof(*inputs));
        if (!inputs)
            exit(2);
    }
    inputs[ninputs].data = buf;
    inputs[ninputs].len = (size_t)n;
    ninputs++;
}

static void add_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        add_file(path);
        return;
    }
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sub[4096];
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        add_path(sub);
    }
    if (d)
        closedir(d);
}

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t mutate(uint8_t *buf, size_t len, size_t cap)
{
    int rounds = 1 + (int)(rnd() % 8);
    for (int r = 0; r < rounds; r++) {
        switch (rnd() % 6) {
        case 0:  /* flip a bit */
            if (len)
                buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
            break;
        case 1:  /* set an interesting byte */
            if (len) {
                static const uint8_t vals[] = {0, 1, 0x7f, 0x80, 0xff, 'S', 'P', 4, 8, 9};
                buf[rnd() % len] = vals[rnd() % sizeof(vals)];
            }
            break;
        case 2:  /* insert a random byte */
            if (len < cap) {
                size_t at = len ? rnd() % (len + 1) : 0;
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = (uint8_t)rnd();
                len++;
            }
            break;
        case 3:  /* delete a range */
            if (len) {
                size_t at = rnd() % len, n = 1 + rnd() % 8;
                if (n > len - at)
                    n = len - at;
                memmove(buf + at, buf + at + n, len - at - n);
                len -= n;
            }
            break;
        case 4: {  /* splice in part of another input */
            blob *o = &inputs[rnd() % ninputs];
            if (o->len && len < cap) {
                size_t from = rnd() % o->len, n = 1 + rnd() % 32;
                if (n > o->len - from)
                    n = o->len - from;
                if (n > cap - len)
                    n = cap - len;
                size_t at = len ? rnd() % (len + 1) : 0;
                memmove(buf + at + n, buf + at, len - at);
                memcpy(buf + at, o->data + from, n);
                len += n;
            }
            break;
        }
        default:  /* truncate */
            if (len)
                len = rnd() % len;
            break;
        }
    }
    return len;
}

int main(int argc, char **argv)
{
    double seconds = 0;
    int opt;
    while ((opt = getopt(argc, argv, "t:s:")) != -1) {
        if (opt == 't')
            seconds = atof(optarg);
        else if (opt == 's')
            rng_state = strtoull(optarg, NULL, 0) | 1;
        else
            return 2;
    }
    for (int i = optind; i < argc; i++)
        add_path(argv[i]);
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(save_current);
    signal(SIGABRT, on_abort);

    for (size_t i = 0; i < ninputs; i++) {
        current = inputs[i].data;
        current_len = inputs[i].len;
        LLVMFuzzerTestOneInput(current, current_len);
    }
    printf("replayed %zu inputs\n", ninputs);
    if (seconds <= 0)
        return 0;
    if (!ninputs) {
        static uint8_t empty[1];
        inputs = malloc(sizeof(*inputs));
        inputs[0].data = empty;
        inputs[0].len = 0;
        ninputs = 1;
    }
    enum { CAP = 4096 };
    static uint8_t buf[CAP];
    mutating = 1;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned long long execs = 0;
    for (;;) {
        blob *b = &inputs[rnd() % ninputs];
        size_t len = b->len < CAP ? b->len : CAP;
        memcpy(buf, b->data, len);
        len = mutate(buf, len, CAP);
        /* A fresh heap copy of exactly len bytes so ASan sees overreads past the end. */
        uint8_t *in = malloc(len ? len : 1);
        memcpy(in, buf, len);
        current = in;
        current_len = len;
        LLVMFuzzerTestOneInput(in, len);
        free(in);
        execs++;
        if ((execs & 255) == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
                break;
        }
    }
    printf("stat::number_of_executed_units: %llu\n", execs);
    return 0;
}
