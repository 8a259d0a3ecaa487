// fuzz_msg.c — libFuzzer target for the messages between ranks (comm/msg.h): any bytes received
// as a message pass header validation and decoding, or give an error naming the sender, never a
// crash; decoded traces re-encode to a message that decodes to as many traces. The first input
// byte picks what is received: the input itself (mode 0), or a valid trace-batch (1), work (2) or
// evaluation-reply (3) message with the rest of the input XORed in at an offset the next two bytes give (bit 7: the
// message is also cut there), so that mutations reach past the header checks.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "comm/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void valid_message(msg_buf *m, int kind) {
    if (kind == 3) {
        const double v[MSG_EVAL_VALUES] = {8, 0.5, 0.25, 1, 40};
        msg_encode_eval(m, 0, 6, v, MSG_EVAL_VALUES, 12);
        return;
    }
    if (kind == 2) {
        const int64_t problems[3] = {4, 9, 2};
        msg_encode_work(m, 0, 6, problems, 3, 11);
        return;
    }
    static const int32_t prompt[3] = {1, 2, 3}, response[5] = {4, 5, 6, 7, 8}, step_end[2] = {3, 5};
    static const float logp[5] = {-0.5f, -1, -0.25f, -2, -0.125f}, sr[2] = {0.5f, 1};
    static const uint8_t part[2] = {0, 1};
    trace_batch b;
    trace_batch_init(&b);
    for (int i = 0; i < 2; i++) {
        trace t = {.group = 3, .sample = i, .policy_version = 5, .finish = i, .think_end = 2, .n_prompt = 3,
                   .n_response = 5 - i, .n_steps = 2 - i, .prompt = prompt, .response = response, .logprobs = logp,
                   .step_end = step_end, .step_part = part, .step_reward = sr, .outcome_reward = 1,
                   .trajectory_reward = 0.5f, .final_reward = 0.75f};
        trace_batch_add(&b, &t);
    }
    msg_encode_traces(m, &b, 3, 5, 9);
    trace_batch_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    msg_buf m = {0};
    int mode = size ? data[0] % 4 : 0;
    if (mode == 0) {
        m = (msg_buf){malloc(size ? size : 1), size, size ? size : 1};
        memcpy(m.buf, data, size);
    } else {
        valid_message(&m, mode);
        size_t off = size > 2 ? (data[1] | (size_t)data[2] << 8) % m.len : 0;
        for (size_t i = 3; i < size && off + i - 3 < m.len; i++) m.buf[off + i - 3] ^= data[i];
        if (data[0] & 0x80) m.len = off;
    }
    fx_err err;
    const char *who = "rank 7 (rollout)";
    if (msg_check_header(&m, who, &err) != 0) {
        if (!strstr(err.msg, who)) abort();
    } else {
        const msg_header *h = msg_head(&m);
        if (h->kind == MSG_TRACES || h->kind == MSG_TRAIN) {
            trace_batch b, c;
            trace_batch_init(&b), trace_batch_init(&c);
            if (msg_decode_traces(&m, who, &b, &err) == 0) {
                msg_buf again = {0};
                msg_encode_traces(&again, &b, 7, h->policy_version, h->seq);
                if (msg_check_header(&again, who, &err) || msg_decode_traces(&again, who, &c, &err)) abort();
                if (c.n != b.n) abort();
                msg_buf_free(&again);
            } else if (!strstr(err.msg, who)) {
                abort();
            }
            trace_batch_free(&b), trace_batch_free(&c);
        } else if (h->kind == MSG_WORK) {
            int64_t update, n;
            const int64_t *problems;
            if (msg_decode_work(&m, who, &update, &problems, &n, &err) == 0) {
                uint64_t sum = 0;
                for (int64_t i = 0; i < n; i++) sum += (uint64_t)problems[i]; // every index readable
                (void)sum;
            }
        } else if (h->kind == MSG_EVAL) {
            double v[MSG_EVAL_VALUES];
            int n;
            if (msg_decode_eval(&m, who, v, &n, &err) == 0 && n != 0 && n != MSG_EVAL_VALUES) abort();
        }
    }
    msg_buf_free(&m);
    return 0;
}
