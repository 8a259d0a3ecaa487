// test_msg.c — typed messages: trace batches round-trip through the wire format, and every kind
// of malformed message is refused with the sender and the field named.
#include <stdlib.h>

#include "comm/msg.h"
#include "test.h"
#include "trace_fixture.h"

static const char *who = "rank 2 (rollout)";

static const char *decode_err(const msg_buf *m) {
    static fx_err err;
    trace_batch b;
    trace_batch_init(&b);
    err.msg[0] = '\0';
    msg_decode_traces(m, who, &b, &err);
    trace_batch_free(&b);
    return err.msg;
}

#define CHECK_HAS(haystack, needle)                                                            \
    do {                                                                                       \
        const char *h_ = (haystack);                                                           \
        if (!strstr(h_, needle)) fprintf(stderr, "  message was: \"%s\"\n", h_);              \
        CHECK(strstr(h_, needle) != NULL);                                                     \
    } while (0)

static msg_header *head(msg_buf *m) { return (msg_header *)m->buf; }

int main(void) {
    trace_batch b, got;
    trace_batch_init(&b);
    trace_batch_init(&got);
    for (int64_t i = 0; i < 30; i++) make_trace(i, 2, &b);
    msg_buf m = {0};
    msg_encode_traces(&m, &b, 2, 17, 5);
    fx_err err;
    CHECK_INT(msg_check_header(&m, who, &err), 0);
    CHECK_INT(head(&m)->kind, MSG_TRACES);
    CHECK_INT(head(&m)->policy_version, 17);
    CHECK_INT(head(&m)->seq, 5);
    CHECK_INT(msg_decode_traces(&m, who, &got, &err), 0);
    CHECK_INT(got.n, 30);
    int bad = 0;
    for (int64_t i = 0; i < got.n; i++) {
        trace t = trace_batch_get(&got, i);
        bad += !same_as(&t, i, 2);
    }
    CHECK_INT(bad, 0);
    // An empty batch and a stop message are valid too.
    trace_batch empty;
    trace_batch_init(&empty);
    msg_buf e = {0};
    msg_encode_traces(&e, &empty, 1, 0, 0);
    CHECK_INT(msg_decode_traces(&e, who, &got, &err), 0);
    CHECK_INT(got.n, 0);
    msg_encode_stop(&e, 1, 3, 9);
    CHECK_INT(msg_check_header(&e, who, &err), 0);
    CHECK_INT(head(&e)->code, 3);
    CHECK_INT(head(&e)->update, -1);
    CHECK_HAS(decode_err(&e), "message from rank 2 (rollout): kind: 2, expected traces (1) or train (5)");
    head(&e)->code = 256;
    CHECK_HAS(decode_err(&e), "code: 256, expected an exit code 0-255");
    head(&e)->code = -1;
    CHECK_HAS(decode_err(&e), "code: -1, expected an exit code 0-255");
    head(&e)->code = 0;
    head(&e)->update = 4;
    CHECK_HAS(decode_err(&e), "update: 4, expected -1 (only work and train carry an update)");
    // A trainer's share: a trace batch with its own update field.
    msg_encode_train(&e, &b, 0, 7, 1);
    CHECK_INT(head(&e)->kind, MSG_TRAIN);
    CHECK_INT(head(&e)->update, 7);
    CHECK_INT(head(&e)->code, 0);
    CHECK_INT(msg_decode_traces(&e, who, &got, &err), 0);
    CHECK_INT(got.n, 30);
    head(&e)->update = -1;
    CHECK_HAS(decode_err(&e), "update: -1, expected >= 0");
    head(&e)->update = 7;
    head(&e)->code = 2;
    CHECK_HAS(decode_err(&e), "code: 2, expected 0 (only a stop carries an exit code)");
    // Every kind refused where another is expected names the sender, the kind and the expectation.
    CHECK_INT(msg_unexpected(&e, who, "work (3), sync (4) or stop (2)", &err), -1);
    CHECK_HAS(err.msg, "message from rank 2 (rollout): kind: 5, expected work (3), sync (4) or stop (2)");

    // Malformed headers.
    msg_buf c = {0};
    msg_encode_traces(&c, &b, 2, 17, 5);
    size_t len = c.len;
    c.len = 40;
    CHECK_HAS(decode_err(&c), "message from rank 2 (rollout): 40 bytes, shorter than the 88-byte header");
    c.len = len;
    head(&c)->magic = 0x12345678;
    CHECK_HAS(decode_err(&c), "message from rank 2 (rollout): magic: 0x12345678, expected 0x4c52584d");
    head(&c)->magic = MSG_MAGIC;
    head(&c)->protocol = 9;
    CHECK_HAS(decode_err(&c), "protocol: version 9, expected 7");
    head(&c)->protocol = MSG_PROTOCOL;
    head(&c)->kind = 77;
    CHECK_HAS(decode_err(&c), "kind: 77 is not a known message kind");
    head(&c)->kind = MSG_TRACES;
    c.len = len - 4;
    CHECK_HAS(decode_err(&c), "payload_bytes: ");
    c.len = len;
    head(&c)->counts[2] += 1;
    CHECK_HAS(decode_err(&c), "need a different number of bytes");
    head(&c)->counts[2] = UINT64_MAX / 2;
    CHECK_HAS(decode_err(&c), "need more than the 1 GiB limit of bytes");
    msg_buf_free(&c);

    // Malformed payloads: spans, steps, finish reasons.
    trace_batch x;
    trace_batch_init(&x);
    trace_batch_append(&x, &b);
    x.response_start[3] = x.n_response_ids; // trace 3 has a non-empty response: now past the end
    msg_encode_traces(&c, &x, 2, 0, 0);
    CHECK_HAS(decode_err(&c), "message from rank 2 (rollout): trace 3: response_start");
    trace_batch_clear(&x);
    trace_batch_append(&x, &b);
    x.step_end[x.step_start[2] + 1] = 1000;
    msg_encode_traces(&c, &x, 2, 0, 0);
    CHECK_HAS(decode_err(&c), "trace 2: step 1 ends at 1000");
    trace_batch_clear(&x);
    trace_batch_append(&x, &b);
    x.finish[4] = 7;
    msg_encode_traces(&c, &x, 2, 0, 0);
    CHECK_HAS(decode_err(&c), "trace 4: finish_reason 7 is not one of 0..3");
    trace_batch_clear(&x);
    trace_batch_append(&x, &b);
    x.prompt_len[0] = -5;
    msg_encode_traces(&c, &x, 2, 0, 0);
    CHECK_HAS(decode_err(&c), "trace 0: prompt_start 0 + length -5");
    // Random corruption of the payload never crashes: it decodes or is refused.
    msg_encode_traces(&c, &b, 2, 0, 0);
    uint64_t state = 12345;
    int refused = 0;
    for (int trial = 0; trial < 2000; trial++) {
        msg_buf d = {0};
        msg_encode_traces(&d, &b, 2, 0, 0);
        for (int k = 0; k < 4; k++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = sizeof(msg_header) + (size_t)(state >> 33) % (d.len - sizeof(msg_header));
            d.buf[at] ^= (unsigned char)(1u << ((state >> 20) & 7));
        }
        refused += decode_err(&d)[0] != '\0';
        msg_buf_free(&d);
    }
    CHECK(refused > 0);
    // Work and sync: round trip, and malformed ones refused with the field named.
    int64_t problems[3] = {40, 41, 97}, update = -1, n = -1;
    const int64_t *got_p = NULL;
    msg_buf w = {0};
    msg_encode_work(&w, 0, 6, problems, 3, 9);
    CHECK_INT(msg_decode_work(&w, who, &update, &got_p, &n, &err), 0);
    CHECK_INT(update, 6);
    CHECK_INT(n, 3);
    CHECK(got_p && got_p[0] == 40 && got_p[1] == 41 && got_p[2] == 97);
    ((msg_header *)w.buf)->counts[0] = 4;
    CHECK_INT(msg_decode_work(&w, who, &update, &got_p, &n, &err), -1);
    CHECK_HAS(err.msg, "counts: 4 problems need 32 bytes, the payload has 24");
    msg_encode_work(&w, 0, 6, problems, 3, 9);
    ((msg_header *)w.buf)->update = -2;
    CHECK_INT(msg_decode_work(&w, who, &update, &got_p, &n, &err), -1);
    CHECK_HAS(err.msg, "update: -2, expected >= 0");
    msg_encode_work(&w, 0, 6, problems, 3, 9);
    memcpy(w.buf + sizeof(msg_header) + 8, &(int64_t){-3}, 8);
    CHECK_INT(msg_decode_work(&w, who, &update, &got_p, &n, &err), -1);
    CHECK_HAS(err.msg, "problem 1: index -3, expected >= 0");
    msg_encode_sync(&w, 0, 12, 10);
    CHECK_INT(msg_check_header(&w, who, &err), 0);
    CHECK_INT(head(&w)->kind, MSG_SYNC);
    CHECK_INT(head(&w)->policy_version, 12);
    CHECK_INT(msg_decode_work(&w, who, &update, &got_p, &n, &err), -1);
    CHECK_HAS(err.msg, "kind: 4, expected work (3)");
    // A checkpoint request: no payload, no update, no code.
    msg_encode_ckpt(&w, 0, 11);
    CHECK_INT(msg_check_header(&w, who, &err), 0);
    CHECK_INT(head(&w)->kind, MSG_CKPT);
    CHECK_INT(head(&w)->update, -1);
    head(&w)->payload_bytes = 8;
    w.len += 8;
    CHECK_INT(msg_check_header(&w, who, &err), -1);
    CHECK_HAS(err.msg, "a checkpoint message carries no payload");
    // A save request (trainer.shard = full): the same.
    msg_encode_save(&w, 0, 12);
    CHECK_INT(msg_check_header(&w, who, &err), 0);
    CHECK_INT(head(&w)->kind, MSG_SAVE);
    CHECK_INT(head(&w)->update, -1);
    CHECK_INT(head(&w)->code, 0);
    head(&w)->payload_bytes = 4;
    w.len += 4;
    CHECK_INT(msg_check_header(&w, who, &err), -1);
    CHECK_HAS(err.msg, "a save message carries no payload");
    // An evaluation: the order (no values) and the reply (MSG_EVAL_VALUES finite numbers).
    double vals[MSG_EVAL_VALUES] = {200, 0.25, 0.5, 1.0, 37.5}, got_v[MSG_EVAL_VALUES] = {0};
    int nv = -1;
    msg_encode_eval(&w, 0, 3, NULL, 0, 12);
    CHECK_INT(msg_decode_eval(&w, who, got_v, &nv, &err), 0);
    CHECK_INT(nv, 0);
    CHECK_INT(head(&w)->policy_version, 3);
    msg_encode_eval(&w, 2, 3, vals, MSG_EVAL_VALUES, 13);
    CHECK_INT(msg_decode_eval(&w, who, got_v, &nv, &err), 0);
    CHECK_INT(nv, MSG_EVAL_VALUES);
    CHECK(memcmp(got_v, vals, sizeof vals) == 0);
    head(&w)->counts[0] = 3;
    CHECK_INT(msg_decode_eval(&w, who, got_v, &nv, &err), -1);
    CHECK_HAS(err.msg, "counts: 3 evaluation values in 40 bytes, expected 0 or 5 in 8 bytes each");
    msg_encode_eval(&w, 2, 3, vals, MSG_EVAL_VALUES, 13);
    memcpy(w.buf + sizeof(msg_header) + 16, &(double){NAN}, 8);
    CHECK_INT(msg_decode_eval(&w, who, got_v, &nv, &err), -1);
    CHECK_HAS(err.msg, "evaluation value 3: nan, expected a finite number");
    msg_encode_sync(&w, 0, 12, 10);
    CHECK_INT(msg_decode_eval(&w, who, got_v, &nv, &err), -1);
    CHECK_HAS(err.msg, "kind: 4, expected eval (7)");
    msg_buf_free(&w);
    msg_buf_free(&c);
    msg_buf_free(&m);
    msg_buf_free(&e);
    trace_batch_free(&x);
    trace_batch_free(&b);
    trace_batch_free(&got);
    trace_batch_free(&empty);
    return test_summary("test_msg");
}
