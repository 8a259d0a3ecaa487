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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reward/fluxrl_reward.h"
#include "rollout/verify.h"

#define EXPORT __attribute__((visibility("default")))

typedef struct {
    char info[512];
} state;

EXPORT uint32_t fluxrl_reward_abi_version(void);
EXPORT void *fluxrl_reward_init(const char *args, char *err, size_t errlen);
EXPORT int fluxrl_reward_score(void *st, const fluxrl_reward_request *req, fluxrl_reward_result *res, char *err,
                               size_t errlen);
EXPORT void fluxrl_reward_free(void *st);

uint32_t fluxrl_reward_abi_version(void) { return FLUXRL_REWARD_ABI_VERSION; }

void *fluxrl_reward_init(const char *args, char *err, size_t errlen) {
    if (args && args[0]) {
        snprintf(err, errlen, "takes no arguments, got \"%s\"", args);
        return NULL;
    }
    return calloc(1, sizeof(state));
}

int fluxrl_reward_score(void *st, const fluxrl_reward_request *req, fluxrl_reward_result *res, char *err,
                        size_t errlen) {
    (void)err, (void)errlen;
    state *s = st;
    bool builtin = req->meta && strstr(req->meta, "\"builtin\":true") != NULL;
    char *extracted = NULL;
    bool ok = verify_response(req->response, req->answer, &extracted);
    if (builtin && !strstr(req->response, "</think>")) ok = false;
    res->reward = ok ? 1.0 : 0.0;
    // The extracted answer as a JSON string (printable ASCII only, to keep the example short).
    size_t o = 0;
    if (extracted) {
        o = (size_t)snprintf(s->info, sizeof s->info, "{\"extracted\":\"");
        for (const char *c = extracted; *c && o + 8 < sizeof s->info; c++)
            if (*c >= 0x20 && *c < 0x7f && *c != '"' && *c != '\\') s->info[o++] = *c;
        snprintf(s->info + o, sizeof s->info - o, "\"}");
    } else snprintf(s->info, sizeof s->info, "{\"extracted\":null}");
    res->info = s->info;
    free(extracted);
    return 0;
}

void fluxrl_reward_free(void *st) { free(st); }
