// trace.c — see trace.h.
#include "trace.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fx.h"

void trace_batch_init(trace_batch *b) { memset(b, 0, sizeof *b); }

void trace_batch_free(trace_batch *b) {
    void *arrays[] = {b->group, b->policy_version, b->prompt_start, b->response_start, b->step_start, b->sample,
                      b->finish, b->think_end, b->prompt_len, b->response_len, b->step_count, b->outcome_reward,
                      b->trajectory_reward, b->final_reward, b->prompt_ids, b->response_ids, b->step_end,
                      b->logprobs, b->ref_logprobs, b->step_reward, b->step_part};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) free(arrays[i]);
    memset(b, 0, sizeof *b);
}

void trace_batch_clear(trace_batch *b) { b->n = b->n_prompt_ids = b->n_response_ids = b->n_steps = 0; }

#define GROW(ptr, cap) (ptr) = fx_realloc((ptr), (size_t)(cap) * sizeof *(ptr))

static void reserve_traces(trace_batch *b, int64_t n) {
    if (n <= b->cap) return;
    int64_t cap = b->cap ? 2 * b->cap : 16;
    while (cap < n) cap *= 2;
    GROW(b->group, cap), GROW(b->policy_version, cap), GROW(b->prompt_start, cap), GROW(b->response_start, cap);
    GROW(b->step_start, cap), GROW(b->sample, cap), GROW(b->finish, cap), GROW(b->think_end, cap);
    GROW(b->prompt_len, cap), GROW(b->response_len, cap), GROW(b->step_count, cap), GROW(b->outcome_reward, cap);
    GROW(b->trajectory_reward, cap), GROW(b->final_reward, cap);
    b->cap = cap;
}

static int64_t grown(int64_t cap, int64_t need) {
    int64_t c = cap ? cap : 256;
    while (c < need) c *= 2;
    return c;
}

static void reserve_items(trace_batch *b, int64_t prompt, int64_t response, int64_t steps) {
    if (!b->prompt_ids || b->n_prompt_ids + prompt > b->cap_prompt_ids) {
        b->cap_prompt_ids = grown(b->cap_prompt_ids, b->n_prompt_ids + prompt);
        GROW(b->prompt_ids, b->cap_prompt_ids);
    }
    if (!b->response_ids || b->n_response_ids + response > b->cap_response_ids) {
        b->cap_response_ids = grown(b->cap_response_ids, b->n_response_ids + response);
        GROW(b->response_ids, b->cap_response_ids), GROW(b->logprobs, b->cap_response_ids);
        GROW(b->ref_logprobs, b->cap_response_ids);
    }
    if (!b->step_end || b->n_steps + steps > b->cap_steps) {
        b->cap_steps = grown(b->cap_steps, b->n_steps + steps);
        GROW(b->step_end, b->cap_steps), GROW(b->step_part, b->cap_steps), GROW(b->step_reward, b->cap_steps);
    }
}

void trace_batch_add(trace_batch *b, const trace *t) {
    FX_ASSERT(t->n_prompt >= 0 && t->n_response >= 0 && t->n_steps >= 0);
    reserve_traces(b, b->n + 1);
    reserve_items(b, t->n_prompt, t->n_response, t->n_steps);
    int64_t i = b->n++;
    b->group[i] = t->group, b->sample[i] = t->sample, b->policy_version[i] = t->policy_version;
    b->finish[i] = t->finish, b->think_end[i] = t->think_end;
    b->outcome_reward[i] = t->outcome_reward, b->trajectory_reward[i] = t->trajectory_reward;
    b->final_reward[i] = t->final_reward;
    b->prompt_start[i] = b->n_prompt_ids, b->prompt_len[i] = t->n_prompt;
    b->response_start[i] = b->n_response_ids, b->response_len[i] = t->n_response;
    b->step_start[i] = b->n_steps, b->step_count[i] = t->n_steps;
    if (t->n_prompt) memcpy(b->prompt_ids + b->n_prompt_ids, t->prompt, (size_t)t->n_prompt * sizeof(int32_t));
    if (t->n_response) {
        memcpy(b->response_ids + b->n_response_ids, t->response, (size_t)t->n_response * sizeof(int32_t));
        memcpy(b->logprobs + b->n_response_ids, t->logprobs, (size_t)t->n_response * sizeof(float));
        float *ref = b->ref_logprobs + b->n_response_ids;
        if (t->ref_logprobs) memcpy(ref, t->ref_logprobs, (size_t)t->n_response * sizeof(float));
        else
            for (int32_t k = 0; k < t->n_response; k++) ref[k] = NAN;
    }
    for (int32_t s = 0; s < t->n_steps; s++) {
        b->step_end[b->n_steps + s] = t->step_end[s];
        b->step_part[b->n_steps + s] = t->step_part[s];
        b->step_reward[b->n_steps + s] = t->step_reward ? t->step_reward[s] : NAN;
    }
    b->n_prompt_ids += t->n_prompt;
    b->n_response_ids += t->n_response;
    b->n_steps += t->n_steps;
}

trace trace_batch_get(const trace_batch *b, int64_t i) {
    FX_ASSERT(i >= 0 && i < b->n);
    trace t = {
        .group = b->group[i],
        .sample = b->sample[i],
        .policy_version = b->policy_version[i],
        .finish = b->finish[i],
        .think_end = b->think_end[i],
        .n_prompt = b->prompt_len[i],
        .n_response = b->response_len[i],
        .n_steps = b->step_count[i],
        .prompt = b->prompt_ids + b->prompt_start[i],
        .response = b->response_ids + b->response_start[i],
        .logprobs = b->logprobs + b->response_start[i],
        .ref_logprobs = b->ref_logprobs + b->response_start[i],
        .step_end = b->step_end + b->step_start[i],
        .step_part = b->step_part + b->step_start[i],
        .step_reward = b->step_reward + b->step_start[i],
        .outcome_reward = b->outcome_reward[i],
        .trajectory_reward = b->trajectory_reward[i],
        .final_reward = b->final_reward[i],
    };
    return t;
}

void trace_batch_append(trace_batch *b, const trace_batch *src) {
    for (int64_t i = 0; i < src->n; i++) {
        trace t = trace_batch_get(src, i);
        trace_batch_add(b, &t);
    }
}

void trace_batch_resize(trace_batch *b, int64_t n, int64_t prompt_ids, int64_t response_ids, int64_t steps) {
    trace_batch_clear(b);
    reserve_traces(b, n > 0 ? n : 1);
    reserve_items(b, prompt_ids, response_ids, steps);
    b->n = n, b->n_prompt_ids = prompt_ids, b->n_response_ids = response_ids, b->n_steps = steps;
}

int trace_batch_check(const trace_batch *b, const char *source, fx_err *err) {
    const int64_t *starts[3] = {b->prompt_start, b->response_start, b->step_start};
    const int32_t *lens[3] = {b->prompt_len, b->response_len, b->step_count};
    const int64_t totals[3] = {b->n_prompt_ids, b->n_response_ids, b->n_steps};
    const char *names[3] = {"prompt", "response", "step"};
    for (int64_t i = 0; i < b->n; i++) {
        for (int k = 0; k < 3; k++)
            if (starts[k][i] < 0 || lens[k][i] < 0 || starts[k][i] > totals[k] || lens[k][i] > totals[k] - starts[k][i])
                return fx_errf(err, "%s: trace %lld: %s_start %lld + length %d lies outside the %lld stored", source,
                               (long long)i, names[k], (long long)starts[k][i], lens[k][i], (long long)totals[k]);
        if (b->finish[i] < TRACE_FINISH_EOS || b->finish[i] > TRACE_FINISH_ABORT)
            return fx_errf(err, "%s: trace %lld: finish_reason %d is not one of 0..3", source, (long long)i, b->finish[i]);
        if (b->think_end[i] < -1 || b->think_end[i] >= b->response_len[i])
            return fx_errf(err, "%s: trace %lld: think_end %d outside the response (%d tokens)", source, (long long)i,
                           b->think_end[i], b->response_len[i]);
        const int32_t *ends = b->step_end + b->step_start[i];
        for (int32_t k = 0; k < b->step_count[i]; k++)
            if (ends[k] < 1 || ends[k] > b->response_len[i] || (k && ends[k] <= ends[k - 1]))
                return fx_errf(err, "%s: trace %lld: step %d ends at %d (response of %d tokens, steps increasing)", source,
                               (long long)i, k, ends[k], b->response_len[i]);
    }
    return 0;
}

const trace_column trace_columns[] = {
    {"group_id", TRACE_PER_TRACE, TRACE_I64, offsetof(trace_batch, group)},
    {"policy_version", TRACE_PER_TRACE, TRACE_I64, offsetof(trace_batch, policy_version)},
    {"prompt_start", TRACE_PER_TRACE, TRACE_I64, offsetof(trace_batch, prompt_start)},
    {"response_start", TRACE_PER_TRACE, TRACE_I64, offsetof(trace_batch, response_start)},
    {"step_start", TRACE_PER_TRACE, TRACE_I64, offsetof(trace_batch, step_start)},
    {"sample_index", TRACE_PER_TRACE, TRACE_I32, offsetof(trace_batch, sample)},
    {"finish_reason", TRACE_PER_TRACE, TRACE_I32, offsetof(trace_batch, finish)},
    {"think_end", TRACE_PER_TRACE, TRACE_I32, offsetof(trace_batch, think_end)},
    {"prompt_length", TRACE_PER_TRACE, TRACE_I32, offsetof(trace_batch, prompt_len)},
    {"response_length", TRACE_PER_TRACE, TRACE_I32, offsetof(trace_batch, response_len)},
    {"step_count", TRACE_PER_TRACE, TRACE_I32, offsetof(trace_batch, step_count)},
    {"outcome_reward", TRACE_PER_TRACE, TRACE_F32, offsetof(trace_batch, outcome_reward)},
    {"trajectory_reward", TRACE_PER_TRACE, TRACE_F32, offsetof(trace_batch, trajectory_reward)},
    {"final_reward", TRACE_PER_TRACE, TRACE_F32, offsetof(trace_batch, final_reward)},
    {"prompt_ids", TRACE_PER_PROMPT_ID, TRACE_I32, offsetof(trace_batch, prompt_ids)},
    {"response_ids", TRACE_PER_RESPONSE_ID, TRACE_I32, offsetof(trace_batch, response_ids)},
    {"logprobs", TRACE_PER_RESPONSE_ID, TRACE_F32, offsetof(trace_batch, logprobs)},
    {"ref_logprobs", TRACE_PER_RESPONSE_ID, TRACE_F32, offsetof(trace_batch, ref_logprobs)},
    {"step_end", TRACE_PER_STEP, TRACE_I32, offsetof(trace_batch, step_end)},
    {"step_reward", TRACE_PER_STEP, TRACE_F32, offsetof(trace_batch, step_reward)},
    {"step_part", TRACE_PER_STEP, TRACE_U8, offsetof(trace_batch, step_part)},
};
const int trace_ncolumns = (int)(sizeof trace_columns / sizeof trace_columns[0]);

size_t trace_type_size(trace_type t) { return t == TRACE_I64 ? 8 : t == TRACE_U8 ? 1 : 4; }

int64_t trace_batch_rows(const trace_batch *b, trace_per per) {
    switch (per) {
    case TRACE_PER_TRACE: return b->n;
    case TRACE_PER_PROMPT_ID: return b->n_prompt_ids;
    case TRACE_PER_RESPONSE_ID: return b->n_response_ids;
    default: return b->n_steps;
    }
}
