// pipeline.h — `fluxrl train` as one call: GRPO on the built-in task or a JSONL dataset, in one
// process or across the MPI roles of cluster.* (trainer, rollout, reward ranks). The CLI parses its
// arguments, calls pipeline_train and prints the result; everything between is this folder:
//   train.c         the config on every rank, the world of roles, and which loop each rank runs;
//   leader.c        the trainer leader's loop (world rank 0, or the one process);
//   side_local.c,   the rollout side as the leader sees it: in this process, or on the rollout
//   side_ranks.c    and reward ranks (side.h);
//   trainer_rank.c, rollout_rank.c, reward_rank.c: the loops of the other ranks;
//   job.c           what each role computes (generate, score, train), the same in every layout;
//   data_parallel.c `fluxrl sft` and `fluxrl prm-train` over every rank of the world;
//   ranks.c         `fluxrl ranks`: the launch checked on every rank;
//   infer.c         `fluxrl eval`, `generate` and `best-of-n` (infer.h);
//   dry_run.c       `--dry-run`: what a run would load and feed the model, checked and shown;
//   backend.c       the backend every command and rank runs on, by name.
#ifndef FLUXRL_PIPELINE_H
#define FLUXRL_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/config.h"
#include "../model/backend.h"
#include "../trainer/prm_run.h"
#include "../trainer/sft_run.h"

typedef struct {
    bool done;           // this rank led a run to its end (the leader, exit code 0)
    int steps;           // GRPO updates done
    int64_t start;       // the update it started (resumed) at
    bool evaluated;      // held-out evaluation ran at the end
    double before, after; // held-out answer accuracy before the first update (NaN when resumed) and after
    char model_dir[2 * FX_CFG_STR_LEN + 16];
} pipeline_result;

// Runs `fluxrl train` from the config file at `path` with `nset` --set overrides: MPI initialised
// and finalised here, every rank resolves the config and agrees on its errors (bad input: exit
// code 2 from every rank, reported once). want_resume: continue from the newest checkpoint of the
// run folder. Returns the process's exit code (FX_EXIT_*); *res is filled on the leader.
int pipeline_train(int *argc, char ***argv, const char *path, int nset, char **sets, bool want_resume,
                   pipeline_result *res);

// `fluxrl sft` and `fluxrl prm-train` the same way: MPI initialised and finalised here, the config
// resolved on every rank (bad input: exit 2 from every rank, reported once), then every rank of
// the world is a data-parallel worker (comm/dp.h) of sft_run / prm_run (trainer/). Return the
// process's exit code; *res is filled on rank 0.
int pipeline_sft(int *argc, char ***argv, const char *path, int nset, char **sets, bool want_resume,
                 sft_run_result *res);
// `fluxrl ranks`: every rank resolves the config, finds its role, checks its backend (a CUDA
// device when cluster.backend = cuda) and takes part in a sum over the world and over its role's
// communicator; rank 0 gets the table of ranks in *table (malloc'd; NULL elsewhere) and writes the
// resolved config. Bad config or launch: exit code 2 on every rank; a broken runtime: 1.
int pipeline_ranks(int *argc, char ***argv, const char *path, int nset, char **sets, char **table);
int pipeline_prm_train(int *argc, char ***argv, const char *path, int nset, char **sets, bool want_resume,
                       prm_run_result *res);

// `fluxrl train|sft|prm-train --dry-run`: the config resolved and the launch checked on every
// rank as the run would (the ranks the config lays out against the world), then the first rank
// checks every model folder the config names (config.json and every tensor's name, shape, dtype
// and bounds; weights are not read), loads the tokenizers, chat templates, datasets and a reward
// plugin, renders the first prompts with their ids, and sizes the memory of each role. *report:
// the text (malloc'd) on the first rank when all is well. Bad input: exit 2 from every rank.
typedef enum { PIPELINE_DRY_TRAIN = 0, PIPELINE_DRY_SFT, PIPELINE_DRY_PRM_TRAIN } pipeline_dry_kind;
int pipeline_dry_run(int *argc, char ***argv, pipeline_dry_kind kind, const char *path, int nset, char **sets,
                     char **report);

// The backend named `kind`: "cpu" (threads <= 0: all the cores OpenMP sees) or "cuda" in
// `precision` ("bf16" | "fp32") on device local_rank mod the devices this process sees. NULL with
// err filled ("SETTING: "cuda", but WHO sees no CUDA device ...") when it cannot be had.
backend *pipeline_backend_open(const char *setting, const char *kind, const char *precision, int local_rank,
                               int threads, const char *who, fx_err *err);

#endif
