// cmd_prm_train.c — `fluxrl prm-train CONFIG [--set k=v ...] [--resume auto]`: a process reward model trained on
// labelled traces of the built-in task, one process or every rank of mpirun a data-parallel worker
// (trainer/prm_run.h, pipeline/pipeline.h).
#include <stdio.h>

#include "../pipeline/pipeline.h"
#include "cli.h"

int cmd_prm_train(int argc, char **argv) {
    bool want_resume = false, dry = cli_take_flag(&argc, argv, "--dry-run");
    if (cli_take_resume("prm-train", &argc, argv, &want_resume)) return FX_EXIT_INPUT;
    cli_config_args a;
    if (cli_parse_config_args("prm-train", argc, argv, true, &a)) return FX_EXIT_INPUT;
    if (dry) return cli_dry_run(PIPELINE_DRY_PRM_TRAIN, &argc, &argv, &a);
    prm_run_result r = {0};
    int code = pipeline_prm_train(&argc, &argv, a.path, a.nset, a.sets, want_resume, &r);
    if (r.done)
        printf("prm-train: %d steps; held-out step AUROC %.3f, step MSE %.4f; PRM in %s\n", r.steps, r.eval.auroc,
               r.eval.step_mse, r.model_dir);
    cli_config_args_free(&a);
    return code;
}
