// fluxrl_reward.h — the C ABI of a reward plugin (`reward.plugin = lib.so`, `reward.outcome = plugin`).
// Self-contained: a plugin includes this header and nothing else of fluxrl. docs/rewards.md.
//
// A plugin is a shared library exporting these functions (C linkage, default visibility):
//   uint32_t fluxrl_reward_abi_version(void);           must return FLUXRL_REWARD_ABI_VERSION
//   void *fluxrl_reward_init(const char *args, char *err, size_t errlen);
//       args: the config's reward.plugin_args (may be ""); returns the plugin's state, or NULL with
//       a message in err (a NUL-terminated string of at most errlen bytes) — then the run stops with
//       exit 2 (bad input).
//   int fluxrl_reward_score(void *state, const fluxrl_reward_request *req, fluxrl_reward_result *res,
//                           char *err, size_t errlen);
//       scores one request: 0, or non-zero with a message in err (the run then stops with exit 1).
//   void fluxrl_reward_free(void *state);
// and optionally
//   int fluxrl_reward_score_batch(void *state, const fluxrl_reward_request *reqs, fluxrl_reward_result *res,
//                                 int32_t n, char *err, size_t errlen);
//       scores n requests at once (res[i] answers reqs[i]); without it fluxrl calls score n times.
//
// fluxrl calls them from one thread at a time. Strings are UTF-8, NUL-terminated and valid for the
// duration of the call only. A reward that is not a finite number is an error of the plugin.
#ifndef FLUXRL_REWARD_PLUGIN_H
#define FLUXRL_REWARD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

// Bumped on any change to the structs or the functions' signatures.
// 2: fluxrl_reward_result's ndims and rewards (several reward dimensions, pcm.reward = bt).
#define FLUXRL_REWARD_ABI_VERSION 2u

typedef struct {
    int64_t id;                // unique within the run
    const char *problem;       // the user turn
    const char *response;      // the generated text after the prompt; special tokens such as </think>
                               // kept, the end-of-turn token dropped
    const char *answer;        // the gold answer ("" when the problem has none)
    const char *const *steps;  // the response split into steps (blank lines, </think>), special tokens
                               // dropped, trimmed
    int32_t nsteps;
    const char *meta;          // a JSON object: the dataset line's other fields ("{}" when none)
} fluxrl_reward_request;

typedef struct {
    double reward;             // the outcome reward (required, finite)
    int32_t has_step_rewards;  // set to 1 when step_rewards below are filled
    double *step_rewards;      // fluxrl's array of req->nsteps entries, to fill (optional)
    const char *info;          // optional: a JSON value logged beside the run's metrics; the plugin's
                               // memory, read before the next call into the plugin (NULL: none)
    int32_t ndims;             // set by fluxrl: the reward dimensions asked for (0: none)
    double *rewards;           // fluxrl's array of ndims entries, to fill (each finite) when ndims > 0:
                               // the response's reward on each preference dimension (pcm.reward = bt)
} fluxrl_reward_result;

#endif
