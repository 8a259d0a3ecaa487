// cmd_merge.c — `fluxrl merge`: Personalized Soups, K experts of one architecture merged parameter
// by parameter (pipeline/soup.h): parse, call pipeline_soup, print.
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../pipeline/soup.h"
#include "cli.h"

int cmd_merge(int argc, char **argv) {
    const char *experts = NULL, *weights = NULL, *out = NULL;
    if (cli_take_option("merge", &argc, argv, "--experts", &experts) ||
        cli_take_option("merge", &argc, argv, "--weights", &weights) ||
        cli_take_option("merge", &argc, argv, "--out", &out))
        return FX_EXIT_INPUT;
    if (argc > 0) {
        fprintf(stderr, "fluxrl merge: unexpected argument '%s'; see 'fluxrl merge --help'\n", argv[0]);
        return FX_EXIT_INPUT;
    }
    if (!experts || !weights || !out) {
        fprintf(stderr, "fluxrl merge: --experts, --weights and --out are required\n");
        return FX_EXIT_INPUT;
    }
    char *e_text = strdup(experts), *dirs[PIPELINE_SOUP_MAX];
    float w[PIPELINE_SOUP_MAX];
    fx_err err;
    int K = fx_split_list("--experts", e_text, e_text, strlen(e_text) + 1, dirs, PIPELINE_SOUP_MAX, &err);
    int nw = K < 0 ? -1 : fx_parse_floats("--weights", weights, w, PIPELINE_SOUP_MAX, &err);
    int code = K < 0 || nw < 0 ? FX_EXIT_INPUT : FX_EXIT_OK;
    if (code) fprintf(stderr, "fluxrl merge: %s\n", err.msg);
    size_t nparams = 0;
    if (!code && (code = pipeline_soup((const char *const *)dirs, K, w, nw, out, &nparams, &err)))
        fprintf(stderr, "fluxrl merge: %s\n", err.msg);
    if (!code) {
        printf("merge: %d experts, %zu parameters each, theta = ", K, nparams);
        for (int i = 0; i < K; i++) printf("%s%g * %s", i ? " + " : "", (double)w[i], dirs[i]);
        printf(", in %s\n", out);
    }
    free(e_text);
    return code;
}
