// trace_fixture.h — deterministic traces for the trace tests: trace number i is a function of i.
#ifndef FLUXRL_TRACE_FIXTURE_H
#define FLUXRL_TRACE_FIXTURE_H

#include <math.h>
#include <string.h>

#include "rollout/trace.h"

// Trace number i, a deterministic function of i (response_scale stretches responses).
static inline void make_trace(int64_t i, int response_scale, trace_batch *b) {
    static int32_t prompt[64], resp[4096], ends[8];
    static float lp[4096], rew[8];
    static uint8_t part[8];
    trace t = {.group = i / 4, .sample = (int32_t)(i % 4), .policy_version = i / 10, .finish = (int32_t)(i % 4)};
    t.n_prompt = 3 + (int32_t)(i % 5);
    t.n_response = (int32_t)(i % 7) * response_scale;
    for (int k = 0; k < t.n_prompt; k++) prompt[k] = (int32_t)(i * 100 + k);
    for (int k = 0; k < t.n_response; k++) resp[k] = (int32_t)(i * 1000 + k), lp[k] = -0.01f * (float)k - (float)i * 1e-3f;
    t.think_end = t.n_response >= 2 ? 1 : -1;
    t.n_steps = t.n_response >= 2 ? 2 : 0;
    ends[0] = 1, ends[1] = t.n_response, part[0] = 0, part[1] = 1, rew[0] = 0.25f, rew[1] = NAN;
    t.prompt = prompt, t.response = resp, t.logprobs = lp, t.step_end = ends, t.step_part = part, t.step_reward = rew;
    t.outcome_reward = (float)(i % 2);
    t.trajectory_reward = NAN;
    t.final_reward = 0.5f * (float)(i % 3);
    trace_batch_add(b, &t);
}

// Does trace t equal trace number i?
static inline int same_as(const trace *t, int64_t i, int scale) {
    trace_batch want;
    trace_batch_init(&want);
    make_trace(i, scale, &want);
    trace w = trace_batch_get(&want, 0);
    int ok = t->group == w.group && t->sample == w.sample && t->policy_version == w.policy_version &&
             t->finish == w.finish && t->think_end == w.think_end && t->n_prompt == w.n_prompt &&
             t->n_response == w.n_response && t->n_steps == w.n_steps && t->outcome_reward == w.outcome_reward &&
             isnan(t->trajectory_reward) && t->final_reward == w.final_reward;
    ok = ok && !memcmp(t->prompt, w.prompt, (size_t)w.n_prompt * 4) && !memcmp(t->response, w.response, (size_t)w.n_response * 4) &&
         !memcmp(t->logprobs, w.logprobs, (size_t)w.n_response * 4) && !memcmp(t->step_end, w.step_end, (size_t)w.n_steps * 4) &&
         !memcmp(t->step_part, w.step_part, (size_t)w.n_steps);
    for (int k = 0; ok && k < w.n_steps; k++) ok = (isnan(w.step_reward[k]) && isnan(t->step_reward[k])) || w.step_reward[k] == t->step_reward[k];
    trace_batch_free(&want);
    return ok;
}

#endif
