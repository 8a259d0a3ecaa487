// config_keys.h — the config schema: every key fluxrl reads, in one place.
// It is the single source of truth for the fx_config struct, validation, `--set` overrides,
// defaults, `fluxrl config doc` and docs/config.md. To add a key, add one X(...) line:
//   X(section, name, type, default, allowed, help)
// type: INT (int64), FLOAT (double), BOOL, STR (free text), ENUM (one of the `|`-separated names).
// allowed: for numbers an interval, "[a,b]", "(a,b)", "[a,inf)"...; for ENUM the names; else "".
// Defaults are written as they would be on the command line and are validated like input.
#ifndef FLUXRL_CONFIG_KEYS_H
#define FLUXRL_CONFIG_KEYS_H

#define FX_CFG_SECTIONS(S)                                                                    \
    S(run, "What the run is called, where it writes its outputs, and the seed of its randomness.") \
    S(log, "What each rank prints, and how progress of long work is shown.")                   \
    S(cluster, "How the MPI ranks of a launch are split into roles, and what each rank runs on.")

#define FX_CFG_KEYS_run(X)                                                                     \
    X(run, name, STR, "fluxrl", "",                                                            \
      "Name of the run. Its outputs go to the folder `run.out_dir`/`run.name`.")               \
    X(run, description, STR, "", "",                                                           \
      "Free text describing the experiment; kept in the resolved config of the run.")          \
    X(run, out_dir, STR, "runs", "", "Folder that holds the run folders (created if missing).") \
    X(run, seed, INT, "1234", "[0,9007199254740991]",                                          \
      "Seed of every random stream; with the same seed and config a CPU run is reproducible.")

#define FX_CFG_KEYS_log(X)                                                                     \
    X(log, level, ENUM, "info", "error|warn|info|debug", "Lowest level of log line printed.") \
    X(log, all_ranks, BOOL, "false", "",                                                       \
      "Print info and debug lines on every rank, not only rank 0 (warnings and errors always "  \
      "print on every rank).")                                                                 \
    X(log, progress, ENUM, "auto", "auto|live|lines|off",                                      \
      "Progress of long work: `live` redraws one line, `lines` logs a line every "             \
      "`log.progress_interval` seconds, `auto` picks `live` on a terminal and `lines` "        \
      "otherwise.")                                                                            \
    X(log, progress_interval, FLOAT, "10", "(0,86400]",                                        \
      "Seconds between progress lines when `log.progress` is `lines`.")

#define FX_CFG_KEYS_cluster(X)                                                                 \
    X(cluster, trainer_ranks, INT, "1", "[1,65536]",                                           \
      "MPI ranks that run policy updates (data-parallel). Ranks 0.. are trainers.")            \
    X(cluster, rollout_ranks, INT, "1", "[1,65536]",                                           \
      "MPI ranks that generate traces; they follow the trainer ranks.")                        \
    X(cluster, reward_ranks, INT, "1", "[0,65536]",                                            \
      "MPI ranks that host the reward models (PRM, reference policy); the last ranks.")        \
    X(cluster, backend, ENUM, "cpu", "cpu|cuda",                                               \
      "Where every rank runs its model ops: `cpu` (OpenBLAS + OpenMP) or `cuda` (one GPU per " \
      "rank, by local rank).")                                                                 \
    X(cluster, threads, INT, "0", "[0,1024]",                                                  \
      "CPU threads per rank; 0 divides the node's cores among the ranks on the node.")

#endif
