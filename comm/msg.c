// msg.c — see msg.h and docs/protocol.md.
#define _POSIX_C_SOURCE 200809L
#include "msg.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void msg_buf_free(msg_buf *m) {
    free(m->buf);
    memset(m, 0, sizeof *m);
}

const msg_header *msg_head(const msg_buf *m) { return (const msg_header *)m->buf; }

void msg_set_times(msg_buf *m, float rollout_s, float reward_s) {
    FX_ASSERT(m->len >= sizeof(msg_header));
    msg_header *h = (msg_header *)m->buf;
    h->time_rollout_s = rollout_s, h->time_reward_s = reward_s;
}

static void reserve(msg_buf *m, size_t n) {
    if (n <= m->cap) return;
    m->cap = n;
    m->buf = fx_realloc(m->buf, n);
}

static void put_header(msg_buf *m, msg_kind kind, int sender, int64_t version, uint64_t seq, const uint64_t *counts,
                       uint64_t payload) {
    msg_header h = {.magic = MSG_MAGIC, .protocol = MSG_PROTOCOL, .kind = (uint16_t)kind, .sender = sender,
                    .policy_version = version, .seq = seq, .payload_bytes = payload, .update = -1};
    for (int k = 0; k < MSG_NCOUNTS; k++) h.counts[k] = counts ? counts[k] : 0;
    reserve(m, sizeof h + payload);
    memcpy(m->buf, &h, sizeof h);
    m->len = sizeof h + payload;
}

// Bytes of the trace payload for the given counts; 0 with *overflow set when too large.
static uint64_t traces_payload(const uint64_t counts[MSG_NCOUNTS], int *overflow) {
    uint64_t total = 0;
    *overflow = 0;
    for (int c = 0; c < trace_ncolumns; c++) {
        uint64_t rows = counts[trace_columns[c].per], size = trace_type_size(trace_columns[c].type);
        if (rows > MSG_MAX_BYTES / size || total > MSG_MAX_BYTES - rows * size) {
            *overflow = 1;
            return 0;
        }
        total += rows * size;
    }
    return total;
}

static void encode_batch(msg_buf *m, msg_kind kind, const trace_batch *b, int sender, int64_t policy_version,
                         uint64_t seq) {
    uint64_t counts[MSG_NCOUNTS];
    for (int p = 0; p < MSG_NCOUNTS; p++) counts[p] = (uint64_t)trace_batch_rows(b, (trace_per)p);
    int overflow;
    uint64_t payload = traces_payload(counts, &overflow);
    FX_ASSERT(!overflow); // a batch this large is a bug in the caller's batching
    put_header(m, kind, sender, policy_version, seq, counts, payload);
    unsigned char *p = m->buf + sizeof(msg_header);
    for (int c = 0; c < trace_ncolumns; c++) {
        size_t bytes = (size_t)counts[trace_columns[c].per] * trace_type_size(trace_columns[c].type);
        if (bytes) memcpy(p, trace_batch_array(b, &trace_columns[c]), bytes);
        p += bytes;
    }
}

void msg_encode_traces(msg_buf *m, const trace_batch *b, int sender, int64_t policy_version, uint64_t seq) {
    encode_batch(m, MSG_TRACES, b, sender, policy_version, seq);
}

void msg_encode_train(msg_buf *m, const trace_batch *b, int sender, int64_t update, uint64_t seq) {
    FX_ASSERT(update >= 0);
    encode_batch(m, MSG_TRAIN, b, sender, 0, seq);
    ((msg_header *)m->buf)->update = update;
}

void msg_encode_stop(msg_buf *m, int sender, int code, uint64_t seq) {
    FX_ASSERT(code >= 0 && code <= 255);
    put_header(m, MSG_STOP, sender, 0, seq, NULL, 0);
    ((msg_header *)m->buf)->code = code;
}

void msg_encode_sync(msg_buf *m, int sender, int64_t version, uint64_t seq) {
    put_header(m, MSG_SYNC, sender, version, seq, NULL, 0);
}

void msg_encode_ckpt(msg_buf *m, int sender, uint64_t seq) { put_header(m, MSG_CKPT, sender, 0, seq, NULL, 0); }

void msg_encode_save(msg_buf *m, int sender, uint64_t seq) { put_header(m, MSG_SAVE, sender, 0, seq, NULL, 0); }

void msg_encode_eval(msg_buf *m, int sender, int64_t version, const double *values, int n, uint64_t seq) {
    FX_ASSERT(n == 0 || n == MSG_EVAL_VALUES);
    uint64_t counts[MSG_NCOUNTS] = {(uint64_t)n};
    put_header(m, MSG_EVAL, sender, version, seq, counts, (uint64_t)n * 8);
    if (n) memcpy(m->buf + sizeof(msg_header), values, (size_t)n * 8);
}

int msg_decode_eval(const msg_buf *m, const char *who, double *values, int *n, fx_err *err) {
    if (msg_check_header(m, who, err)) return -1;
    const msg_header *h = msg_head(m);
    if (h->kind != MSG_EVAL) return fx_errf(err, "message from %s: kind: %u, expected eval (%d)", who, h->kind, MSG_EVAL);
    *n = (int)h->counts[0];
    if (*n) memcpy(values, m->buf + sizeof(msg_header), (size_t)*n * 8);
    for (int i = 0; i < *n; i++)
        if (!isfinite(values[i]))
            return fx_errf(err, "message from %s: evaluation value %d: %g, expected a finite number", who, i + 1,
                           values[i]);
    return 0;
}

void msg_encode_work(msg_buf *m, int sender, int64_t update, const int64_t *problems, int64_t n, uint64_t seq) {
    FX_ASSERT(n >= 0 && (uint64_t)n < MSG_MAX_BYTES / 8 - 1);
    FX_ASSERT(update >= 0);
    uint64_t counts[MSG_NCOUNTS] = {(uint64_t)n};
    put_header(m, MSG_WORK, sender, 0, seq, counts, (uint64_t)n * 8);
    ((msg_header *)m->buf)->update = update;
    if (n) memcpy(m->buf + sizeof(msg_header), problems, (size_t)n * 8);
}

int msg_decode_work(const msg_buf *m, const char *who, int64_t *update, const int64_t **problems, int64_t *n,
                    fx_err *err) {
    if (msg_check_header(m, who, err)) return -1;
    const msg_header *h = msg_head(m);
    if (h->kind != MSG_WORK) return fx_errf(err, "message from %s: kind: %u, expected work (%d)", who, h->kind, MSG_WORK);
    *update = h->update;
    *n = (int64_t)h->counts[0];
    *problems = (const int64_t *)(const void *)(m->buf + sizeof(msg_header)); // 88 bytes: 8-byte aligned
    for (int64_t i = 0; i < *n; i++)
        if ((*problems)[i] < 0)
            return fx_errf(err, "message from %s: problem %lld: index %lld, expected >= 0", who, (long long)i,
                           (long long)(*problems)[i]);
    return 0;
}

int msg_check_header(const msg_buf *m, const char *who, fx_err *err) {
    if (m->len < sizeof(msg_header))
        return fx_errf(err, "message from %s: %zu bytes, shorter than the %zu-byte header", who, m->len, sizeof(msg_header));
    msg_header h;
    memcpy(&h, m->buf, sizeof h);
    if (h.magic != MSG_MAGIC) return fx_errf(err, "message from %s: magic: 0x%08x, expected 0x%08x", who, h.magic, MSG_MAGIC);
    if (h.protocol != MSG_PROTOCOL)
        return fx_errf(err, "message from %s: protocol: version %u, expected %u (mixed fluxrl versions?)", who,
                       h.protocol, MSG_PROTOCOL);
    if (h.payload_bytes != m->len - sizeof h)
        return fx_errf(err, "message from %s: payload_bytes: %llu, but %zu bytes followed the header", who,
                       (unsigned long long)h.payload_bytes, m->len - sizeof h);
    if (h.kind == MSG_STOP ? h.code < 0 || h.code > 255 : h.code != 0)
        return fx_errf(err, "message from %s: code: %d, expected %s", who, h.code,
                       h.kind == MSG_STOP ? "an exit code 0-255" : "0 (only a stop carries an exit code)");
    if (h.kind == MSG_WORK || h.kind == MSG_TRAIN ? h.update < 0 : h.update != -1)
        return fx_errf(err, "message from %s: update: %lld, expected %s", who, (long long)h.update,
                       h.kind == MSG_WORK || h.kind == MSG_TRAIN ? ">= 0" : "-1 (only work and train carry an update)");
    switch (h.kind) {
    case MSG_TRAIN:
    case MSG_TRACES: {
        int overflow;
        uint64_t want = traces_payload(h.counts, &overflow);
        if (overflow || want != h.payload_bytes)
            return fx_errf(err, "message from %s: counts: %llu traces, %llu prompt ids, %llu response ids, %llu steps "
                                "need %s bytes, the payload has %llu",
                           who, (unsigned long long)h.counts[0], (unsigned long long)h.counts[1],
                           (unsigned long long)h.counts[2], (unsigned long long)h.counts[3],
                           overflow ? "more than the 1 GiB limit of" : "a different number of", (unsigned long long)h.payload_bytes);
        return 0;
    }
    case MSG_STOP:
    case MSG_SYNC:
    case MSG_CKPT:
    case MSG_SAVE:
        if (h.payload_bytes != 0)
            return fx_errf(err, "message from %s: a %s message carries no payload", who,
                           h.kind == MSG_STOP   ? "stop"
                           : h.kind == MSG_SYNC ? "sync"
                           : h.kind == MSG_CKPT ? "checkpoint"
                                                : "save");
        return 0;
    case MSG_EVAL:
        if ((h.counts[0] != 0 && h.counts[0] != MSG_EVAL_VALUES) || h.payload_bytes != h.counts[0] * 8)
            return fx_errf(err, "message from %s: counts: %llu evaluation values in %llu bytes, expected 0 or %d in 8 "
                                "bytes each", who, (unsigned long long)h.counts[0], (unsigned long long)h.payload_bytes,
                           MSG_EVAL_VALUES);
        return 0;
    case MSG_WORK:
        if (h.counts[0] >= MSG_MAX_BYTES / 8 || h.payload_bytes != h.counts[0] * 8)
            return fx_errf(err, "message from %s: counts: %llu problems need %llu bytes, the payload has %llu", who,
                           (unsigned long long)h.counts[0], (unsigned long long)h.counts[0] * 8,
                           (unsigned long long)h.payload_bytes);
        return 0;
    default: return fx_errf(err, "message from %s: kind: %u is not a known message kind", who, h.kind);
    }
}

int msg_decode_traces(const msg_buf *m, const char *who, trace_batch *b, fx_err *err) {
    if (msg_check_header(m, who, err)) return -1;
    msg_header h;
    memcpy(&h, m->buf, sizeof h);
    if (h.kind != MSG_TRACES && h.kind != MSG_TRAIN)
        return fx_errf(err, "message from %s: kind: %u, expected traces (%d) or train (%d)", who, h.kind, MSG_TRACES,
                       MSG_TRAIN);
    trace_batch_resize(b, (int64_t)h.counts[0], (int64_t)h.counts[1], (int64_t)h.counts[2], (int64_t)h.counts[3]);
    const unsigned char *p = m->buf + sizeof h;
    for (int c = 0; c < trace_ncolumns; c++) {
        size_t bytes = (size_t)h.counts[trace_columns[c].per] * trace_type_size(trace_columns[c].type);
        if (bytes) memcpy(trace_batch_array(b, &trace_columns[c]), p, bytes);
        p += bytes;
    }
    char source[96];
    snprintf(source, sizeof source, "message from %s", who);
    return trace_batch_check(b, source, err);
}

void msg_who(const comm_world *w, int rank, char *buf, size_t n) {
    snprintf(buf, n, "rank %d (%s)", rank, comm_role_name(comm_role_of(w, rank)));
}

int msg_unexpected(const msg_buf *m, const char *who, const char *expected, fx_err *err) {
    return fx_errf(err, "message from %s: kind: %u, expected %s", who, msg_head(m)->kind, expected);
}

void msg_send(const msg_buf *m, int dest, int tag) {
    FX_ASSERT(m->len <= MSG_MAX_BYTES + sizeof(msg_header));
    COMM_CHECK(MPI_Send(m->buf, (int)m->len, MPI_BYTE, dest, tag, MPI_COMM_WORLD));
}

static void (*g_idle)(void);

void msg_set_idle(void (*idle)(void)) { g_idle = idle; }

int msg_recv(msg_buf *m, int source, int tag, const comm_world *w, int *from, fx_err *err) {
    MPI_Status st;
    if (!g_idle) COMM_CHECK(MPI_Probe(source, tag, MPI_COMM_WORLD, &st));
    else
        for (int ready = 0;;) {
            COMM_CHECK(MPI_Iprobe(source, tag, MPI_COMM_WORLD, &ready, &st));
            if (ready) break;
            g_idle();
            nanosleep(&(struct timespec){0, 1000000}, NULL);
        }
    int count = 0;
    COMM_CHECK(MPI_Get_count(&st, MPI_BYTE, &count));
    *from = st.MPI_SOURCE;
    reserve(m, count > 0 ? (size_t)count : 1);
    COMM_CHECK(MPI_Recv(m->buf, count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    m->len = (size_t)count;
    char who[64];
    msg_who(w, *from, who, sizeof who);
    if (msg_check_header(m, who, err)) return -1;
    if (msg_head(m)->sender != *from)
        return fx_errf(err, "message from %s: sender: the header says rank %d", who, msg_head(m)->sender);
    return 0;
}
