// verifier_plugin.c — a reward plugin (reward.outcome = plugin; ABI: reward/fluxrl_reward.h) that
// reproduces fluxrl's built-in verifier: a run with it computes what a run with reward.outcome =
// verifier computes, bit for bit (tests/cli/test_rewards.sh checks it). It is built from fluxrl's own
// verifier sources (rollout/verify*.c) into one self-contained shared library:
//
//   cc -shared -fPIC -fvisibility=hidden -I. -o verifier_plugin.so examples/rewards/verifier_plugin.c
//      examples/rewards/plugin_fx.c rollout/verify.c rollout/verify_math.c rollout/verify_expr.c
//
// The rule: a JSONL problem scores 1 when verify_response(response, answer) accepts; a built-in task
// problem (meta {"builtin": true}) scores 1 when the response also closes its thinking (</think>),
// as the task's checker requires. Every other case scores 0. info: {"extracted": answer or null}.
// It has both the one-request call and the optional batch call (which fluxrl then uses).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reward/fluxrl_reward.h"
#include "rollout/verify.h"

#define EXPORT __attribute__((visibility("default")))

typedef struct {
    char (*info)[256]; // one info per request of the last call (the ABI: valid until the next call)
    int cap;
} state;

EXPORT uint32_t fluxrl_reward_abi_version(void);
EXPORT void *fluxrl_reward_init(const char *args, char *err, size_t errlen);
EXPORT int fluxrl_reward_score(void *st, const fluxrl_reward_request *req, fluxrl_reward_result *res, char *err,
                               size_t errlen);
EXPORT int fluxrl_reward_score_batch(void *st, const fluxrl_reward_request *reqs, fluxrl_reward_result *res,
                                     int32_t n, char *err, size_t errlen);
EXPORT void fluxrl_reward_free(void *st);

uint32_t fluxrl_reward_abi_version(void) { return FLUXRL_REWARD_ABI_VERSION; }

void *fluxrl_reward_init(const char *args, char *err, size_t errlen) {
    if (args && args[0]) {
        snprintf(err, errlen, "takes no arguments, got \"%s\"", args);
        return NULL;
    }
    return calloc(1, sizeof(state));
}

// Request req's reward and its info, written to info.
static void judge(const fluxrl_reward_request *req, fluxrl_reward_result *res, char *info, size_t cap) {
    bool builtin = req->meta && strstr(req->meta, "\"builtin\":true") != NULL;
    char *extracted = NULL;
    bool ok = verify_response(req->response, req->answer, &extracted);
    if (builtin && !strstr(req->response, "</think>")) ok = false;
    res->reward = ok ? 1.0 : 0.0;
    // pcm.reward = bt asks for res->ndims reward dimensions (ABI 2): the verifier's on every one.
    for (int32_t k = 0; k < res->ndims; k++) res->rewards[k] = res->reward;
    // The extracted answer as a JSON string (printable ASCII only, to keep the example short).
    if (extracted) {
        size_t o = (size_t)snprintf(info, cap, "{\"extracted\":\"");
        for (const char *c = extracted; *c && o + 8 < cap; c++)
            if (*c >= 0x20 && *c < 0x7f && *c != '"' && *c != '\\') info[o++] = *c;
        snprintf(info + o, cap - o, "\"}");
    } else snprintf(info, cap, "{\"extracted\":null}");
    res->info = info;
    free(extracted);
}

static bool reserve(state *s, int n, char *err, size_t errlen) {
    if (n <= s->cap) return true;
    void *p = realloc(s->info, (size_t)n * sizeof *s->info);
    if (!p) {
        snprintf(err, errlen, "out of memory for %d infos", n);
        return false;
    }
    s->info = p, s->cap = n;
    return true;
}

int fluxrl_reward_score(void *st, const fluxrl_reward_request *req, fluxrl_reward_result *res, char *err,
                        size_t errlen) {
    state *s = st;
    if (!reserve(s, 1, err, errlen)) return 1;
    judge(req, res, s->info[0], sizeof s->info[0]);
    return 0;
}

int fluxrl_reward_score_batch(void *st, const fluxrl_reward_request *reqs, fluxrl_reward_result *res, int32_t n,
                              char *err, size_t errlen) {
    state *s = st;
    if (!reserve(s, n, err, errlen)) return 1;
    for (int32_t i = 0; i < n; i++) judge(&reqs[i], &res[i], s->info[i], sizeof s->info[i]);
    return 0;
}

void fluxrl_reward_free(void *st) {
    state *s = st;
    free(s->info);
    free(s);
}
