// cmd_train.c — `fluxrl train CONFIG`: GRPO on the built-in task or a JSONL dataset, in one process
// or across MPI roles (cluster.*_ranks). The run itself is pipeline_train (pipeline/pipeline.h).
#include <math.h>
#include <stdio.h>

#include "../pipeline/pipeline.h"
#include "cli.h"

int cmd_train(int argc, char **argv) {
    bool want_resume = false, dry = cli_take_flag(&argc, argv, "--dry-run");
    if (cli_take_resume("train", &argc, argv, &want_resume)) return FX_EXIT_INPUT;
    cli_config_args a;
    if (cli_parse_config_args("train", argc, argv, true, &a)) return FX_EXIT_INPUT;
    if (dry) return cli_dry_run(PIPELINE_DRY_TRAIN, &argc, &argv, &a);
    pipeline_result r = {0};
    int code = pipeline_train(&argc, &argv, a.path, a.nset, a.sets, want_resume, &r);
    cli_config_args_free(&a);
    if (code != FX_EXIT_OK || !r.done) return code;
    if (!r.evaluated) printf("train: %d GRPO updates; no held-out evaluation (grpo.eval_data is empty); model in %s\n",
                             r.steps, r.model_dir);
    else if (isnan(r.before)) printf("train: %d GRPO updates (resumed at %lld); held-out answers %.1f%% correct; model in %s\n",
                                     r.steps, (long long)r.start, 100 * r.after, r.model_dir);
    else printf("train: %d GRPO updates; held-out answers %.1f%% -> %.1f%% correct; model in %s\n", r.steps,
                100 * r.before, 100 * r.after, r.model_dir);
    fflush(stdout);
    return code;
}
