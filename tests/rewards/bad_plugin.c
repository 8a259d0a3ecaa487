// bad_plugin.c — reward plugins that fluxrl must refuse (tests/cli/test_bad_input.sh): built with
// -DNO_SCORE (fluxrl_reward_score missing), -DABI=N (another ABI version), or -DFAIL_AT=K (its score
// fails on the K-th request it sees with "cannot judge request ID"; every other reward is 0.5).
#include <stdio.h>
#include <stdlib.h>

#include "reward/fluxrl_reward.h"

#ifndef ABI
#define ABI FLUXRL_REWARD_ABI_VERSION
#endif

uint32_t fluxrl_reward_abi_version(void);
void *fluxrl_reward_init(const char *args, char *err, size_t errlen);
int fluxrl_reward_score(void *st, const fluxrl_reward_request *req, fluxrl_reward_result *res, char *err, size_t errlen);
void fluxrl_reward_free(void *st);

uint32_t fluxrl_reward_abi_version(void) { return ABI; }
void *fluxrl_reward_init(const char *args, char *err, size_t errlen) {
    (void)args, (void)err, (void)errlen;
    return malloc(1);
}
#ifndef NO_SCORE
int fluxrl_reward_score(void *st, const fluxrl_reward_request *req, fluxrl_reward_result *res, char *err, size_t errlen) {
    (void)st, (void)req, (void)err, (void)errlen;
#ifdef FAIL_AT
    static int seen;
    if (++seen == FAIL_AT) {
        snprintf(err, errlen, "cannot judge request %lld", (long long)req->id);
        return 1;
    }
#endif
    res->reward = 0.5;
    return 0;
}
#endif
void fluxrl_reward_free(void *st) { free(st); }
