// mpi_comm.c — under mpirun -np 3 (trainer, rollout, reward): trace batches flow rollout ->
// reward -> trainer as typed messages and arrive intact; a corrupt message is refused naming its
// sender; weights broadcast by the trainer leader arrive bit for bit; a rank with a different
// parameter count is named before any bucket moves; ranges of sliced buffers collected and
// distributed; decoding fully sharded weights gives the whole model's samples.
#include <stdlib.h>

#include "comm/dp.h"
#include "comm/msg.h"
#include "comm/wsync.h"
#include "core/rng.h"
#include "rollout/decode.h"
#include "../test.h"
#include "../tiny_configs.h"
#include "../trace_fixture.h"

enum { TAG_TRACES = 1 };

static void fill(float *p, size_t n, uint64_t seed) {
    fx_rng r = fx_rng_stream(seed, 0, 0, 0);
    for (size_t i = 0; i < n; i++) p[i] = (float)fx_rng_normal(&r);
}

static void test_messages(const comm_world *w) {
    trace_batch b;
    trace_batch_init(&b);
    msg_buf m = {0};
    fx_err err;
    int from = -1;
    if (w->role == COMM_ROLE_ROLLOUT) {
        for (int64_t i = 0; i < 40; i++) make_trace(i, 3, &b);
        msg_encode_traces(&m, &b, w->rank, 4, 0);
        msg_send(&m, w->first[COMM_ROLE_REWARD], TAG_TRACES);
        ((msg_header *)m.buf)->magic = 0xdeadbeef;
        msg_send(&m, w->first[COMM_ROLE_REWARD], TAG_TRACES);
    } else if (w->role == COMM_ROLE_REWARD) {
        CHECK_INT(msg_recv(&m, MPI_ANY_SOURCE, TAG_TRACES, w, &from, &err), 0);
        CHECK_INT(from, 1);
        CHECK_INT(msg_decode_traces(&m, "rank 1 (rollout)", &b, &err), 0);
        CHECK_INT(b.n, 40);
        msg_encode_traces(&m, &b, w->rank, 4, 0); // forwarded to the trainer
        msg_send(&m, 0, TAG_TRACES);
        CHECK_INT(msg_recv(&m, MPI_ANY_SOURCE, TAG_TRACES, w, &from, &err), -1);
        CHECK_STR(err.msg, "message from rank 1 (rollout): magic: 0xdeadbeef, expected 0x4c52584d");
    } else {
        CHECK_INT(msg_recv(&m, MPI_ANY_SOURCE, TAG_TRACES, w, &from, &err), 0);
        CHECK_INT(from, 2);
        CHECK_INT(msg_decode_traces(&m, "rank 2 (reward)", &b, &err), 0);
        CHECK_INT(msg_head(&m)->policy_version, 4);
        int bad = 0;
        for (int64_t i = 0; i < b.n; i++) {
            trace t = trace_batch_get(&b, i);
            bad += !same_as(&t, i, 3);
        }
        CHECK_INT(b.n, 40);
        CHECK_INT(bad, 0);
    }
    msg_buf_free(&m);
    trace_batch_free(&b);
}

static void test_weight_sync(const comm_world *w) {
    const size_t n = 1000003; // not a multiple of the bucket
    float *p = calloc(n, sizeof *p), *want = malloc(n * sizeof *want);
    fill(want, n, 77);
    int64_t version = 0;
    if (w->rank == 0) memcpy(p, want, n * sizeof *p), version = 12;
    fx_err err;
    CHECK_INT(wsync_broadcast(p, n, &version, 64 << 10, 0, w->sync_comm, &err), 0);
    CHECK_INT(version, 12);
    CHECK(memcmp(p, want, n * sizeof *p) == 0);
    // A rank holding a different model is refused by name, on every rank, before data moves.
    size_t mine = w->rank == 2 ? n - 1 : n;
    int rc = wsync_broadcast(p, mine, &version, 64 << 10, 0, w->sync_comm, &err);
    CHECK_INT(rc, -1);
    if (w->rank == 2) CHECK_STR(err.msg, "weight sync: the trainer leader sends 1000003 parameters but this rank's model has 1000002");
    else CHECK_STR(err.msg, "weight sync: another rank's model has a different parameter count; stopping");
    free(p);
    free(want);
}

// The root's weights bucket by bucket from a fill (a sharded leader's, gathered as it sends): each
// bucket filled once, in order, and every rank gets them bit for bit.
static size_t fills, fill_next;
static int fill_order_bad;
static void fill_bucket(void *ctx, size_t lo, size_t hi, float *dst) {
    const float *want = ctx;
    fill_order_bad += lo != fill_next || hi - lo > (64 << 10) / sizeof(float);
    fill_next = hi, fills++;
    memcpy(dst, want + lo, (hi - lo) * sizeof *dst);
}

static void test_weight_sync_each(const comm_world *w) {
    size_t n = 1000003;
    float *p = calloc(n, sizeof *p), *want = malloc(n * sizeof *want);
    fill(want, n, 78);
    int64_t version = w->rank == 0 ? 13 : 0;
    fx_err err;
    CHECK_INT(wsync_broadcast_each(w->rank == 0 ? NULL : p, n, &version, 64 << 10, 0, w->sync_comm, fill_bucket, want,
                                   &err), 0);
    CHECK_INT(version, 13);
    if (w->rank == 0) {
        CHECK_INT(fills, (n + 16383) / 16384); // 64 KiB buckets
        CHECK_INT(fill_next, n);
        CHECK_INT(fill_order_bad, 0);
    } else CHECK(memcmp(p, want, n * sizeof *p) == 0);
    free(p);
    free(want);
}

// Any range of a buffer held in slices (trainer_shard_range over the 3 ranks) collected onto
// rank 0, each rank sending its part of it, and distributed back from rank 0: ranges within one
// slice, across two and three slices, and empty.
static void test_collect_range(const comm_world *w) {
    comm_dp d;
    comm_dp_init(&d, MPI_COMM_WORLD);
    size_t n = 100003, lo, hi; // this rank's slice
    float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    fill(want, n, 79);
    trainer_shard_range(n, d.rank, d.size, &lo, &hi);
    size_t b1, b2, e;
    trainer_shard_range(n, 1, d.size, &b1, &e);
    trainer_shard_range(n, 2, d.size, &b2, &e);
    size_t ranges[][2] = {{5, 900}, {b1 - 7, b1 + 11}, {3, n - 2}, {b2 + 1, n}, {b1, b1}, {0, n}};
    for (int k = 0; k < 6; k++) {
        size_t a = ranges[k][0], z = ranges[k][1];
        size_t ma = lo > a ? lo : a;
        memset(got, 0, n * sizeof *got);
        comm_dp_collect(&d, want + ma, w->rank == 0 ? got : NULL, a, z, n); // this rank's part of the range
        if (w->rank == 0) CHECK(memcmp(got, want + a, (z - a) * sizeof *got) == 0);
        // And back (comm_dp_distribute): rank 0's range, each rank receiving its part of it.
        size_t mz = hi < z ? hi : z, k_mine = ma < mz ? mz - ma : 0;
        memset(got, 0, n * sizeof *got);
        got[k_mine] = -1; // past this rank's part: untouched
        comm_dp_distribute(&d, w->rank == 0 ? want + a : NULL, got, a, z, n);
        CHECK(memcmp(got, want + ma, k_mine * sizeof *got) == 0 && got[k_mine] == -1);
    }
    free(want), free(got);
}

// Decoding with the weights sharded over the 3 ranks (trainer.shard = full, each layer gathered at
// every step): rank 0 decodes 4 steps, rank 2 13, rank 1 has no rows of its own (idle), so ranks
// end their own rows at different steps and keep gathering with the others; each rank's samples,
// log-probs and lengths equal its prompts decoded by the whole model on that rank, bit for bit.
static void test_sharded_decode(const comm_world *w) {
    comm_dp d;
    comm_dp_init(&d, MPI_COMM_WORLD);
    trainer_dp dp = comm_dp_hook(&d);
    dp.shard = TRAINER_SHARD_FULL;
    backend *be = backend_cpu_create(1);
    model_config c = cfg_qwen2();
    model whole, s;
    model_init_random(&whole, &c, MODEL_HEAD_LM, be, 31, 0.3f, 0.1f);
    model_init_random_shard(&s, &c, MODEL_HEAD_LM, be, 31, 0.3f, 0.1f, d.rank, d.size);
    trainer_train_init(&s, &dp);
    trainer_attach(&s, &dp);
    CHECK(s.params_layer != NULL && (s.param_lo > 0) == (d.rank > 0));
    enum { B = 3, MAXN = 16 };
    int plen[B] = {2, 5, 3}, max_new = 4 + 9 * (d.rank / 2);
    int32_t p[B][5];
    fx_rng r = fx_rng_make(41, (uint64_t)d.rank);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < plen[b]; t++) p[b][t] = (int32_t)fx_rng_below(&r, (uint64_t)c.vocab_size);
    const int32_t *pp[B] = {p[0], p[1], p[2]};
    rollout_decode_opts o = {.sample = {.temperature = 1.0f, .top_p = 1.0f}, .seed = 3, .max_new = max_new};
    o.more = trainer_dp_more, o.more_ctx = &dp;
    int32_t out[B * MAXN], ref[B * MAXN];
    float lp[B * MAXN], ref_lp[B * MAXN];
    int len[B], ref_len[B];
    if (d.rank == 1) rollout_decode_idle(&s, &o);
    else rollout_decode(&s, pp, plen, B, &o, out, lp, len, NULL);
    if (d.rank != 1) {
        rollout_decode_opts alone = o;
        alone.more = NULL;
        rollout_decode(&whole, pp, plen, B, &alone, ref, ref_lp, ref_len, NULL);
        bool same = true;
        for (int b = 0; b < B; b++) {
            same = same && len[b] == ref_len[b] && len[b] == max_new;
            for (int k = 0; k < len[b]; k++) {
                size_t i = (size_t)b * (size_t)max_new + (size_t)k;
                same = same && out[i] == ref[i] && memcmp(&lp[i], &ref_lp[i], sizeof(float)) == 0;
            }
        }
        CHECK(same);
    }
    model_free(&s), model_free(&whole);
    backend_destroy(be);
    (void)w;
}

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    fx_config c;
    cfg_defaults(&c);
    comm_world w;
    fx_err err;
    if (comm_world_build(&w, &c, &err)) fx_fatal("%s", err.msg);
    test_messages(&w);
    test_weight_sync(&w);
    test_weight_sync_each(&w);
    test_collect_range(&w);
    test_sharded_decode(&w);
    int counts[2] = {test_passed, test_failed}, total[2];
    MPI_Reduce(counts, total, 2, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (w.rank == 0) printf("mpi_comm: %d passed, %d failed\n", total[0], total[1]);
    int failed = total[1];
    MPI_Bcast(&failed, 1, MPI_INT, 0, MPI_COMM_WORLD);
    comm_world_free(&w);
    comm_finalize();
    return failed ? 1 : 0;
}
