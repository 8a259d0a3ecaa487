// cmd_sft.c — `fluxrl sft CONFIG [--set k=v ...] [--resume auto]`: supervised fine-tuning on the
// built-in task's traces (or sft.data), one process or every rank of mpirun a data-parallel worker
// (trainer/sft_run.h, pipeline/pipeline.h).
#include <stdio.h>

#include "../pipeline/pipeline.h"
#include "cli.h"

int cmd_sft(int argc, char **argv) {
    bool want_resume = false, dry = cli_take_flag(&argc, argv, "--dry-run");
    if (cli_take_resume("sft", &argc, argv, &want_resume)) return FX_EXIT_INPUT;
    cli_config_args a;
    if (cli_parse_config_args("sft", argc, argv, true, &a)) return FX_EXIT_INPUT;
    if (dry) return cli_dry_run(PIPELINE_DRY_SFT, &argc, &argv, &a);
    sft_run_result r = {0};
    int code = pipeline_sft(&argc, &argv, a.path, a.nset, a.sets, want_resume, &r);
    if (code == FX_EXIT_OK && r.done)
        printf("sft: %d steps; held-out answers %.1f%% correct, steps %.1f%%; model in %s\n", r.steps,
               100 * r.eval.answer_acc, 100 * r.eval.step_acc, r.model_dir);
    cli_config_args_free(&a);
    return code;
}
