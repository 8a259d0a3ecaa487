// cmd_prm.c — `fluxrl prm-score --prm DIR --input FILE`: step rewards, trajectory reward and the
// aggregate r^ of each trace, from an HDF5 trace store or a JSONL file.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../reward/prm.h"
#include "cli.h"
#include "../reward/prm_input.h"

static int score_one(void *ctx, const prm_input_trace *t, fx_err *err) {
    prm_scorer *p = ctx;
    float rewards[CLI_PRM_MAX_STEPS];
    prm_result r = {.step = rewards};
    if (prm_score(p, t->problem, (const char *const *)t->steps, t->nsteps, &r, err)) return -1;
    printf("{\"index\": %lld, \"step_rewards\": [", (long long)t->index);
    for (int k = 0; k < t->nsteps; k++) {
        if (k) fputs(", ", stdout);
        cli_json_number(stdout, r.step[k]);
    }
    fputs("], \"trajectory_reward\": ", stdout);
    cli_json_number(stdout, r.trajectory);
    fputs(", \"score\": ", stdout);
    cli_json_number(stdout, r.score);
    if (p->readout == PRM_SCALAR) fputs(", \"step_rewards_are\": \"fluxrl_extension\"", stdout);
    fputs("}\n", stdout);
    return 0;
}

int cmd_prm_score(int argc, char **argv) {
    const char *be_kind, *be_precision;
    if (cli_take_backend("prm-score", &argc, argv, &be_kind, &be_precision)) return FX_EXIT_INPUT;
    const char *dir = NULL, *input = NULL, *tok_path = NULL, *system = NULL;
    bool traj_sep = false;
    double alpha = 1.0;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--prm") && v) dir = v, i++;
        else if (!strcmp(argv[i], "--input") && v) input = v, i++;
        else if (!strcmp(argv[i], "--tokenizer") && v) tok_path = v, i++;
        else if (!strcmp(argv[i], "--system") && v) system = v, i++;
        else if (!strcmp(argv[i], "--trajectory-separator")) traj_sep = true;
        else if (!strcmp(argv[i], "--alpha") && v) {
            char *end;
            alpha = strtod(v, &end);
            if (*end || end == v || !isfinite(alpha)) {
                fprintf(stderr, "fluxrl prm-score: --alpha: expected a number, got '%s'\n", v);
                return FX_EXIT_INPUT;
            }
            i++;
        } else {
            fprintf(stderr, "fluxrl prm-score: unexpected argument '%s'; see 'fluxrl prm-score --help'\n", argv[i]);
            return FX_EXIT_INPUT;
        }
    }
    if (!dir || !input) {
        fprintf(stderr, "fluxrl prm-score: --prm and --input are required\n");
        return FX_EXIT_INPUT;
    }
    backend *be = cli_open_backend("prm-score", be_kind, be_precision);
    if (!be) return FX_EXIT_INPUT;
    prm_scorer p;
    fx_err err;
    int rc = prm_load(&p, dir, be, (float)alpha, &err);
    bool loaded = rc == 0;
    if (!rc) rc = prm_ask(&p, dir, traj_sep, system, "fluxrl prm-score: --trajectory-separator / --system", &err);
    if (!rc) {
        if (p.readout == PRM_SCALAR)
            fx_info("%s: the trajectory reward is the PRM's own score; the step rewards are fluxrl's extension", dir);
        rc = prm_input_each(input, tok_path, p.tok, score_one, &p, &err);
    }
    if (loaded) prm_free(&p);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    backend_destroy(be);
    return rc ? FX_EXIT_INPUT : FX_EXIT_OK;
}
