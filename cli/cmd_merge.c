// cmd_merge.c — `fluxrl merge`: Personalized Soups, K experts of one architecture merged parameter
// by parameter (pipeline/soup.h): parse, call pipeline_soup, print.
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../pipeline/soup.h"
#include "cli.h"

// Splits v at its commas in place into items (at most PIPELINE_SOUP_MAX); their count, or -1.
static int split(const char *k, char *v, char **items) {
    int n = 0;
    for (char *item = v;; item++) {
        if (n == PIPELINE_SOUP_MAX) {
            fprintf(stderr, "fluxrl merge: %s: expected at most %d entries\n", k, PIPELINE_SOUP_MAX);
            return -1;
        }
        items[n++] = item;
        item = strchr(item, ',');
        if (!item) return n;
        *item = '\0';
    }
}

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
    char *e_text = strdup(experts), *w_text = strdup(weights), *dirs[PIPELINE_SOUP_MAX], *ws[PIPELINE_SOUP_MAX];
    float w[PIPELINE_SOUP_MAX];
    int K = split("--experts", e_text, dirs), nw = K < 0 ? -1 : split("--weights", w_text, ws);
    int code = K < 0 || nw < 0 ? FX_EXIT_INPUT : FX_EXIT_OK;
    for (int i = 0; i < K && !code; i++)
        if (!dirs[i][0]) {
            fprintf(stderr, "fluxrl merge: --experts: entry %d: expected a folder, got an empty name\n", i + 1);
            code = FX_EXIT_INPUT;
        }
    for (int i = 0; i < nw && !code; i++) {
        char *end;
        w[i] = strtof(ws[i], &end);
        if (end == ws[i] || *end) {
            fprintf(stderr, "fluxrl merge: --weights: weight %d: expected a number, got '%s'\n", i + 1, ws[i]);
            code = FX_EXIT_INPUT;
        }
    }
    size_t nparams = 0;
    fx_err err;
    if (!code && (code = pipeline_soup((const char *const *)dirs, K, w, nw, out, &nparams, &err)))
        fprintf(stderr, "fluxrl merge: %s\n", err.msg);
    if (!code) {
        printf("merge: %d experts, %zu parameters each, theta = ", K, nparams);
        for (int i = 0; i < K; i++) printf("%s%g * %s", i ? " + " : "", (double)w[i], dirs[i]);
        printf(", in %s\n", out);
    }
    free(e_text), free(w_text);
    return code;
}
