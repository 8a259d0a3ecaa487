// cmd_eval.c — `fluxrl eval` (accuracy: mean pass@1, majority vote, pass@n over n samples per
// problem) and `fluxrl generate` (the samples as traces in an HDF5 trace store): parse, call
// pipeline/infer.h, print.
#include <stdio.h>

#include "cli.h"

int cmd_eval(int argc, char **argv) {
    infer_params p;
    if (cli_parse_infer("eval", INFER_EVAL, argc, argv, &p)) return FX_EXIT_INPUT;
    infer_eval_result r;
    fx_err err;
    int code = infer_eval(&p, &r, &err);
    if (code) {
        fprintf(stderr, "%s\n", err.msg);
        return code;
    }
    printf("{\"problems\": %d, \"samples\": %d, \"pass@1\": %.4f, \"majority\": %.4f", r.problems, r.samples,
           r.acc.pass1, r.acc.majority);
    if (r.samples > 1) printf(", \"pass@%d\": %.4f", r.samples, r.acc.pass_k); // with one sample it is pass@1
    for (int i = 0; i < r.K; i++) printf("%s%.4f%s", i ? ", " : ", \"alpha_mean\": [", r.alpha_mean[i], i + 1 < r.K ? "" : "]");
    printf("}\n");
    return FX_EXIT_OK;
}

int cmd_generate(int argc, char **argv) {
    infer_params p;
    if (cli_parse_infer("generate", INFER_GENERATE, argc, argv, &p)) return FX_EXIT_INPUT;
    infer_generate_result r;
    fx_err err;
    int code = infer_generate(&p, &r, &err);
    if (code) {
        fprintf(stderr, "%s\n", err.msg);
        return code;
    }
    printf("generate: %d traces (%d problems x %d), %lld tokens, %.0f tokens/s, %.1f%% correct, %s %s\n", r.traces,
           r.problems, r.samples, r.tokens, (double)r.tokens / r.seconds, 100.0 * (double)r.correct / r.traces,
           r.appended ? "appended to" : "in", p.out);
    return FX_EXIT_OK;
}
