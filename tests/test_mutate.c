// test_mutate.c — a mutation fuzzer over fluxrl's two HDF5 formats: a trace store and a training
// checkpoint are written, then copies with one bit flipped (at every 17th byte of the first 8 KiB,
// where the superblock and most object headers are, and at random offsets over the whole file)
// and copies truncated at many lengths are read back in child processes (one per core, at most
// 4 at once) under alarm(). Each must end with success or a one-line error naming the file; a
// crash or a hang (the alarm's SIGALRM, 10 s where a read takes milliseconds) is a failure. The offsets come from a fixed
// seed, so a failure names a case that reproduces.
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "rollout/trace_store.h"
#include "trace_fixture.h"
#include "trainer/ckpt.h"
#include "test.h"

static char dir[] = "/tmp/fluxrl-test-mutate-XXXXXX";
static int cases;

enum { NP = 2000 };
static float params[NP];
static int64_t rng_state[4];
static ckpt_array arrays[2] = {{"params", CKPT_F32, NP, params, NULL, NULL, NULL, NULL}, {"rng", CKPT_I64, 4, rng_state, NULL, NULL, NULL, NULL}};

static unsigned char *slurp(const char *path, long *n) {
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    rewind(f);
    unsigned char *b = malloc((size_t)*n);
    if (fread(b, 1, (size_t)*n, f) != (size_t)*n) *n = 0;
    fclose(f);
    return b;
}

// The reader under test, in the child: 0 when the file read back, 2 when it was refused with a
// message that names it.
static int read_store(const char *path) {
    trace_store *s;
    fx_err err;
    if (trace_store_open(&s, path, &err)) return strstr(err.msg, path) ? 2 : 5;
    trace_batch b;
    trace_batch_init(&b);
    int rc = 0;
    for (int64_t first = 0; first < trace_store_count(s) && !rc; first += 7) {
        int64_t n = trace_store_count(s) - first < 7 ? trace_store_count(s) - first : 7;
        rc = trace_store_read(s, first, n, &b, &err);
    }
    FILE *null = fopen("/dev/null", "w");
    if (!rc) rc = trace_store_export_jsonl(s, null, &err);
    fclose(null);
    int64_t *idx = NULL, n = 0;
    if (!rc) rc = trace_store_group(s, 3, &idx, &n, &err);
    free(idx);
    trace_batch_free(&b);
    trace_store_close(s, &err);
    return rc ? (strstr(err.msg, path) ? 2 : 5) : 0;
}

static int read_ckpt(const char *path) {
    fx_err err;
    int64_t step;
    free(ckpt_config(path));
    if (ckpt_load(path, arrays, 2, &step, &err)) return strstr(err.msg, path) ? 2 : 5;
    return 0;
}

// One mutant: the original's bytes with bit `bit` of byte `at` flipped (bit >= 0), or cut to `at`
// bytes (bit < 0).
typedef struct {
    int (*reader)(const char *);
    long at;
    int bit;
    pid_t pid;
    int status;
} mutant;

// In the child: writes the mutant to a file of its own (slot) and reads it under alarm().
static void run_child(const mutant *m, const unsigned char *b, long n, int slot) {
    char path[600];
    snprintf(path, sizeof path, "%s/mutant%d.h5", dir, slot);
    FILE *f = fopen(path, "wb");
    if (!f) _exit(7);
    long len = m->bit >= 0 ? n : m->at;
    if (m->bit >= 0) {
        fwrite(b, 1, (size_t)m->at, f);
        fputc(b[m->at] ^ (1u << m->bit), f);
        fwrite(b + m->at + 1, 1, (size_t)(n - m->at - 1), f);
    } else fwrite(b, 1, (size_t)len, f);
    if (fclose(f)) _exit(7);
    alarm(10);
    _exit(m->reader(path));
}

// Reads every mutant in a child process, a few at a time (one per core, at most 4): each ends
// with its own status, checked in order once all have run, so the result does not depend on
// which finished first. A signal (SIGALRM for a hang) or an unnamed error fails.
static void run_mutants(mutant *ms, int nm, const unsigned char *b, long n) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int jobs = cores < 1 ? 1 : cores > 4 ? 4 : (int)cores, live = 0, next = 0;
    int slot_of[4] = {-1, -1, -1, -1};
    while (next < nm || live) {
        while (live < jobs && next < nm) {
            int slot = 0;
            while (slot_of[slot] >= 0) slot++;
            pid_t pid = fork();
            if (pid == 0) run_child(&ms[next], b, n, slot);
            ms[next].pid = pid, slot_of[slot] = next++, live++;
        }
        int status = 0;
        pid_t pid = wait(&status);
        if (pid < 0) break;
        for (int s = 0; s < jobs; s++)
            if (slot_of[s] >= 0 && ms[slot_of[s]].pid == pid) ms[slot_of[s]].status = status, slot_of[s] = -1, live--;
    }
    for (int i = 0; i < nm; i++) {
        const mutant *m = &ms[i];
        int st = m->status;
        bool ok = WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 2);
        if (ok) {
            CHECK(true);
            continue;
        }
        fprintf(stderr, "%s: %s at %ld: %s %d\n", m->reader == read_store ? "trace store" : "checkpoint",
                m->bit >= 0 ? "bit flip" : "truncated to", m->at, WIFSIGNALED(st) ? "killed by signal" : "exit",
                WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        CHECK(ok);
    }
    cases += nm;
}

// MUTATE_ONLY=AT (with MUTATE_CKPT=1 for the checkpoint) runs the mutants at that offset alone.
static bool wanted(int (*reader)(const char *), long at) {
    const char *only = getenv("MUTATE_ONLY");
    return !only || (atol(only) == at && (reader == read_store) == !getenv("MUTATE_CKPT"));
}

static void fuzz(int (*reader)(const char *), const char *orig, int random_flips, int truncations) {
    long n;
    unsigned char *b = slurp(orig, &n);
    mutant *ms = calloc((size_t)(8192 / 17 + random_flips + truncations), sizeof *ms);
    int nm = 0;
    uint64_t x = 0x9e3779b97f4a7c15ull; // xorshift: the same offsets on every run
    for (long k = 0; k < 8192 / 17 + random_flips; k++) {
        long at = k < 8192 / 17 ? k * 17 : 0;
        if (k >= 8192 / 17) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            at = (long)(x % (uint64_t)n);
        }
        if (at < n && wanted(reader, at)) ms[nm++] = (mutant){reader, at, (int)(k % 8), 0, 0};
    }
    for (int k = 0; k < truncations; k++) {
        long len = k < truncations / 2 ? (long)k * 97 : n - 1 - (long)(k - truncations / 2) * (n / truncations);
        if (len >= 0 && len < n && wanted(reader, len)) ms[nm++] = (mutant){reader, len, -1, 0, 0};
    }
    run_mutants(ms, nm, b, n);
    free(ms);
    free(b);
}

// The global heap collection of the store's variable-length string attributes, whose object
// lengths no checksum covers and libhdf5 1.10 trusts (a flipped bit in one read past the heap,
// at offset 7854 of this store, before fx_h5_check_global_heaps): two bits of every byte of the
// collection's header and of its objects' headers, up to and including the free-space object's.
static void fuzz_global_heap(const char *orig) {
    long n;
    unsigned char *b = slurp(orig, &n);
    long at = -1;
    for (long i = 0; i + 8 <= n && at < 0; i++)
        if (memcmp(b + i, "GCOL\1\0\0\0", 8) == 0) at = i;
    CHECK(at > 0);
    long head[64];
    int heads = 0;
    if (at > 0) head[heads++] = at; // the collection's own header, then each object's
    for (long h = at + 16; at > 0 && h + 16 <= n && heads < 64;) {
        head[heads++] = h;
        unsigned idx = b[h] | (unsigned)b[h + 1] << 8;
        uint64_t len = 0;
        for (int k = 7; k >= 0; k--) len = len << 8 | b[h + 8 + k];
        if (idx == 0) break; // the free space, last
        h += 16 + (long)((len + 7) / 8 * 8);
    }
    CHECK(heads >= 3);
    mutant *ms = calloc((size_t)heads * 32, sizeof *ms);
    int nm = 0;
    for (int k = 0; k < heads; k++)
        for (long i = head[k]; i < head[k] + 16 && i < n; i++) {
            ms[nm++] = (mutant){read_store, i, (int)(i % 8), 0, 0};
            if (i % 8 != 7) ms[nm++] = (mutant){read_store, i, 7, 0, 0};
        }
    run_mutants(ms, nm, b, n);
    free(ms);
    free(b);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    fx_log_set_level(FX_LOG_ERROR); // the fallback warnings of a damaged checkpoint are expected
    fx_err err;
    char store[600], ckpt[4300];
    snprintf(store, sizeof store, "%s/t.h5", dir);
    trace_store *s;
    CHECK_INT(trace_store_create(&s, store, "{}", "m", "t", &err), 0);
    trace_batch b;
    trace_batch_init(&b);
    for (int64_t i = 0; i < 30; i++) {
        make_trace(i, 1, &b);
        if (b.n < 10) continue;
        CHECK_INT(trace_store_append(s, &b, &err), 0);
        trace_batch_clear(&b);
    }
    trace_batch_free(&b);
    CHECK_INT(trace_store_close(s, &err), 0);
    CHECK_INT(read_store(store), 0);
    for (int i = 0; i < NP; i++) params[i] = 0.5f * (float)i;
    CHECK_INT(ckpt_save(dir, 7, arrays, 2, "{\"run\": {}}", "sft", 0, ckpt, sizeof ckpt, &err), 0);
    CHECK_INT(read_ckpt(ckpt), 0);

    fuzz(read_store, store, 300, 120);
    if (!getenv("MUTATE_ONLY")) fuzz_global_heap(store);
    fuzz(read_ckpt, ckpt, 150, 60);
    printf("%d mutants of a trace store and a checkpoint\n", cases);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    return test_summary("test_mutate");
}
