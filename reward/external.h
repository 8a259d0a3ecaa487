// external.h — outcome rewards from outside fluxrl (docs/rewards.md, docs/protocol.md):
//   reward_cmd:    a program in any language, several worker processes, speaking JSON lines on
//                  stdin/stdout: request {"id", "problem", "response", "answer", "steps", "meta"},
//                  result {"id", "reward", optional "step_rewards", optional "info", and "rewards"
//                  (a list of ndims numbers) where the caller asks for ndims > 0 dimensions};
//   reward_plugin: a shared library with the C ABI of reward/fluxrl_reward.h, loaded with dlopen.
// Both score a batch of requests at once; a reward is never silently 0: every failure is an error
// naming the request and what came back.
#ifndef FLUXRL_REWARD_EXTERNAL_H
#define FLUXRL_REWARD_EXTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/fx.h"
#include "fluxrl_reward.h"

// A request is the plugin ABI's struct (id, problem, response, answer, steps, meta).
typedef fluxrl_reward_request reward_request;

typedef struct {
    double reward;     // finite
    bool has_steps;    // step[0..nsteps) filled
    double *step;      // the caller's array of the request's nsteps entries
    char *info;        // the result's "info" as JSON text, malloc'd; NULL when none (caller frees)
    int ndims;         // set by the caller: the reward dimensions asked for (0: none; pcm.reward = bt)
    double *dims;      // the caller's array of ndims entries: the result's "rewards", each finite
} reward_result;

// ---- an external program ------------------------------------------------------------------------
typedef struct {
    const char *command; // a shell command line, run with /bin/sh -c
    double timeout;      // seconds a worker may hold requests without returning a result
    int workers;         // processes, each taking every workers-th request of a batch
} reward_cmd_opts;

typedef struct reward_cmd reward_cmd;

// Starts the workers. A program that cannot be found or started is bad input (-1 with err naming
// reward.command). SIGPIPE is ignored in this process from here on (a dead worker's pipe is an
// error returned by write, not a signal).
int reward_cmd_open(reward_cmd **out, const reward_cmd_opts *o, fx_err *err);
// Scores req[0..n) into res[0..n): requests are written to the workers without blocking while
// results are read (poll with the timeout). A worker that times out, dies, writes a malformed line
// or a reward that is not a finite number is restarted once and sent its unanswered requests again;
// a second failure in the same call returns -1 with err naming the request, what came back and the
// last lines of the program's stderr (every worker is then stopped and reaped).
int reward_cmd_score(reward_cmd *rc, const reward_request *req, int n, reward_result *res, fx_err *err);
// Closes the workers' stdin, gives them a second to exit, then kills their process groups and reaps
// them. NULL is a no-op.
void reward_cmd_close(reward_cmd *rc);
// The process id of worker i (tests).
int reward_cmd_pid(const reward_cmd *rc, int i);

// ---- a C plugin -----------------------------------------------------------------------------------
typedef struct reward_plugin reward_plugin;

// dlopens path, checks fluxrl_reward_abi_version() and the required symbols and calls init(args).
// A file that does not load, a missing symbol, another ABI version or a failing init is bad input:
// -1 with err naming reward.plugin, the file and the symbol.
int reward_plugin_open(reward_plugin **out, const char *path, const char *args, fx_err *err);
// Scores req[0..n) (the plugin's batch call when it has one). -1 with err naming the request when
// the plugin reports an error or a reward that is not a finite number.
int reward_plugin_score(reward_plugin *p, const reward_request *req, int n, reward_result *res, fx_err *err);
void reward_plugin_close(reward_plugin *p);

#endif
