// reward_plugin.c — a reward plugin loaded with dlopen: see external.h and fluxrl_reward.h.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "external.h"

typedef uint32_t (*abi_fn)(void);
typedef void *(*init_fn)(const char *, char *, size_t);
typedef int (*score_fn)(void *, const fluxrl_reward_request *, fluxrl_reward_result *, char *, size_t);
typedef int (*batch_fn)(void *, const fluxrl_reward_request *, fluxrl_reward_result *, int32_t, char *, size_t);
typedef void (*free_fn)(void *);

struct reward_plugin {
    void *lib;
    char *path;
    void *state;
    init_fn init;
    score_fn score;
    batch_fn batch; // optional
    free_fn free;
};

// The symbol's address, or NULL with err naming the file and the symbol.
static void *symbol(void *lib, const char *path, const char *name, bool required, fx_err *err) {
    dlerror();
    void *f = dlsym(lib, name);
    if (!f && required)
        fx_errf(err, "reward.plugin: %s: no symbol %s; expected the functions of reward/fluxrl_reward.h (ABI %u)", path,
                name, FLUXRL_REWARD_ABI_VERSION);
    return f;
}

int reward_plugin_open(reward_plugin **out, const char *path, const char *args, fx_err *err) {
    *out = NULL;
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) return fx_errf(err, "reward.plugin: %s: cannot load: %s", path, dlerror());
    reward_plugin *p = fx_calloc(1, sizeof *p);
    p->lib = lib, p->path = fx_strdup(path);
    void *abi = symbol(lib, path, "fluxrl_reward_abi_version", true, err);
    // dlsym returns object pointers; POSIX guarantees they convert to function pointers.
    if (abi) {
        uint32_t v = ((abi_fn)(uintptr_t)abi)();
        if (v != FLUXRL_REWARD_ABI_VERSION) {
            fx_errf(err, "reward.plugin: %s: fluxrl_reward_abi_version() is %u; this fluxrl speaks ABI %u "
                         "(rebuild the plugin against its reward/fluxrl_reward.h)", path, v, FLUXRL_REWARD_ABI_VERSION);
            abi = NULL;
        }
    }
    void *f_init = abi ? symbol(lib, path, "fluxrl_reward_init", true, err) : NULL;
    void *f_score = f_init ? symbol(lib, path, "fluxrl_reward_score", true, err) : NULL;
    void *f_free = f_score ? symbol(lib, path, "fluxrl_reward_free", true, err) : NULL;
    if (!f_free) {
        reward_plugin_close(p);
        return -1;
    }
    p->init = (init_fn)(uintptr_t)f_init, p->score = (score_fn)(uintptr_t)f_score, p->free = (free_fn)(uintptr_t)f_free;
    void *f_batch = symbol(lib, path, "fluxrl_reward_score_batch", false, err);
    p->batch = f_batch ? (batch_fn)(uintptr_t)f_batch : NULL;
    char msg[512] = "";
    p->state = p->init(args ? args : "", msg, sizeof msg);
    if (!p->state) {
        msg[sizeof msg - 1] = '\0';
        fx_errf(err, "reward.plugin: %s: fluxrl_reward_init(\"%s\") failed: %s", path, args ? args : "",
                msg[0] ? msg : "(no message)");
        p->free = NULL;
        reward_plugin_close(p);
        return -1;
    }
    *out = p;
    return 0;
}

void reward_plugin_close(reward_plugin *p) {
    if (!p) return;
    if (p->state && p->free) p->free(p->state);
    if (p->lib) dlclose(p->lib);
    free(p->path), free(p);
}

int reward_plugin_score(reward_plugin *p, const reward_request *req, int n, reward_result *res, fx_err *err) {
    fluxrl_reward_result *r = fx_calloc((size_t)(n ? n : 1), sizeof *r);
    for (int i = 0; i < n; i++) {
        r[i] = (fluxrl_reward_result){.reward = NAN, .step_rewards = res[i].step, .ndims = res[i].ndims,
                                      .rewards = res[i].dims};
        for (int k = 0; k < res[i].ndims; k++) res[i].dims[k] = NAN; // a dimension left unfilled is an error
        res[i].info = NULL;
    }
    char msg[512] = "";
    int rc = 0, failed = -1;
    if (p->batch) {
        if (p->batch(p->state, req, r, n, msg, sizeof msg)) rc = -1;
        for (int i = 0; i < n && !rc; i++) res[i].info = r[i].info ? fx_strdup(r[i].info) : NULL;
    } else
        for (int i = 0; i < n && !rc; i++) { // an info lives until the next call: copied at once
            if (p->score(p->state, &req[i], &r[i], msg, sizeof msg)) rc = -1, failed = i;
            else res[i].info = r[i].info ? fx_strdup(r[i].info) : NULL;
        }
    msg[sizeof msg - 1] = '\0';
    if (rc) {
        if (failed >= 0)
            fx_errf(err, "reward.plugin: %s: request %lld: the plugin reports: %s", p->path, (long long)req[failed].id,
                    msg[0] ? msg : "(no message)");
        else
            fx_errf(err, "reward.plugin: %s: a batch of %d requests from %lld: the plugin reports: %s", p->path, n,
                    n ? (long long)req[0].id : -1LL, msg[0] ? msg : "(no message)");
    }
    for (int i = 0; i < n && !rc; i++) {
        if (!isfinite(r[i].reward)) {
            rc = fx_errf(err, "reward.plugin: %s: request %lld: reward %g; expected a finite number", p->path,
                         (long long)req[i].id, r[i].reward);
            break;
        }
        res[i].reward = r[i].reward;
        res[i].has_steps = r[i].has_step_rewards != 0;
        for (int k = 0; res[i].has_steps && k < req[i].nsteps && !rc; k++)
            if (!isfinite(res[i].step[k]))
                rc = fx_errf(err, "reward.plugin: %s: request %lld: step_rewards[%d] = %g; expected a finite number",
                             p->path, (long long)req[i].id, k, res[i].step[k]);
        for (int k = 0; k < res[i].ndims && !rc; k++)
            if (!isfinite(res[i].dims[k]))
                rc = fx_errf(err, "reward.plugin: %s: request %lld: rewards[%d] = %g; expected a finite number (one per "
                             "preference dimension, pcm.reward = bt)", p->path, (long long)req[i].id, k, res[i].dims[k]);
    }
    if (rc)
        for (int i = 0; i < n; i++) free(res[i].info), res[i].info = NULL;
    free(r);
    return rc;
}
