// cmd_best_of_n.c — `fluxrl best-of-n --policy DIR [--prm DIR]`: Best-of-N selection with a PRM
// (ReasonFlux-PRM's use (iii)) next to mean pass@1, majority vote and pass@N on the same samples:
// parse, call pipeline/infer.h, print one JSON line per PRM and number of samples.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

// A number, or null where it is undefined (NaN: no PRM, or no pair).
static const char *num(char *buf, size_t size, double x) {
    if (isfinite(x)) snprintf(buf, size, "%.4f", x);
    else snprintf(buf, size, "null");
    return buf;
}

static void print_line(const infer_bon_line *l) {
    char within[32], best[32], vote[32], min_best[32], min_vote[32], extra[160] = "";
    if (l->last && l->steps) {
        if (isfinite(l->step_auroc))
            snprintf(extra, sizeof extra, ", \"step_auroc\": %.4f, \"steps\": %d, \"wrong_steps\": %d", l->step_auroc,
                     l->steps, l->wrong_steps);
        else snprintf(extra, sizeof extra, ", \"step_auroc\": null, \"steps\": %d, \"wrong_steps\": %d", l->steps,
                      l->wrong_steps);
    }
    cJSON *js = l->prm ? cJSON_CreateString(l->prm) : cJSON_CreateNull();
    char *quoted = cJSON_PrintUnformatted(js);
    printf("{\"problems\": %d, \"samples\": %d, \"prm_best\": %s, \"pass@1\": %.4f, \"majority\": %.4f, "
           "\"pass@n\": %.4f, \"prm_vote\": %s, \"min_step_best\": %s, \"min_step_vote\": %s, \"within_auroc\": %s, "
           "\"pairs\": %lld%s, \"prm\": %s}\n",
           l->problems, l->samples, num(best, sizeof best, l->prm_best), l->pass1, l->majority, l->pass_n,
           num(vote, sizeof vote, l->prm_vote), num(min_best, sizeof min_best, l->min_best),
           num(min_vote, sizeof min_vote, l->min_vote), num(within, sizeof within, l->within_auroc), l->pairs, extra,
           quoted);
    free(quoted);
    cJSON_Delete(js);
}

int cmd_best_of_n(int argc, char **argv) {
    infer_params p;
    if (cli_parse_infer("best-of-n", INFER_BEST_OF_N, argc, argv, &p)) return FX_EXIT_INPUT;
    infer_bon_result r;
    fx_err err;
    int code = infer_best_of_n(&p, &r, &err);
    if (code) fprintf(stderr, "%s\n", err.msg);
    for (int i = 0; !code && i < r.nlines; i++) print_line(&r.lines[i]);
    infer_bon_result_free(&r);
    return code;
}
