// soup.c — see soup.h.
#define _POSIX_C_SOURCE 200809L
#include "soup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../model/model.h"
#include "../rollout/merge.h"

// The files of a Hugging Face folder that describe its tokenizer and generation, copied from the
// first expert when present.
static const char *const TOKENIZER_FILES[] = {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
                                              "generation_config.json", "special_tokens_map.json", "vocab.json",
                                              "merges.txt", "added_tokens.json"};

static int copy_tokenizer(const char *from, const char *to, fx_err *err) {
    for (size_t f = 0; f < sizeof TOKENIZER_FILES / sizeof *TOKENIZER_FILES; f++) {
        char src[4200], dst[4200];
        snprintf(src, sizeof src, "%s/%s", from, TOKENIZER_FILES[f]);
        snprintf(dst, sizeof dst, "%s/%s", to, TOKENIZER_FILES[f]);
        struct stat st;
        if (stat(src, &st) != 0) continue;
        size_t len;
        char *data = fx_read_file(src, &len, err);
        if (!data || fx_write_file_atomic(dst, data, len, err)) {
            free(data);
            return -1;
        }
        free(data);
    }
    return 0;
}

// What a failed run left in out.tmp: the files it writes, then the folder.
static void remove_folder(const char *dir) {
    char path[4200];
    const char *written[] = {"config.json", "model.safetensors"};
    for (int f = 0; f < 2; f++) snprintf(path, sizeof path, "%s/%s", dir, written[f]), remove(path);
    for (size_t f = 0; f < sizeof TOKENIZER_FILES / sizeof *TOKENIZER_FILES; f++)
        snprintf(path, sizeof path, "%s/%s", dir, TOKENIZER_FILES[f]), remove(path);
    rmdir(dir);
}

// Every expert's config.json describes the first's architecture (checked before any weight is read).
static int check_configs(const char *const *experts, int K, fx_err *err) {
    model_config c0, c;
    model_head h0, h;
    if (model_check_dir(experts[0], err) || model_check_files(experts[0], &c0, &h0, err)) return -1;
    for (int i = 1; i < K; i++) {
        if (model_check_dir(experts[i], err) || model_check_files(experts[i], &c, &h, err)) return -1;
        const char *key = model_config_diff(&c0, &c);
        if (key)
            return fx_errf(err, "%s and %s: config.json: %s: experts must share one architecture to be merged "
                           "parameter by parameter", experts[0], experts[i], key);
    }
    return 0;
}

int pipeline_soup(const char *const *experts, int K, const float *w, int nw, const char *out, size_t *nparams,
                  fx_err *err) {
    if (K < 1 || K > PIPELINE_SOUP_MAX)
        return fx_errf(err, "--experts: expected 1 to %d expert folders, got %d", PIPELINE_SOUP_MAX, K), FX_EXIT_INPUT;
    if (nw != K)
        return fx_errf(err, "--weights: expected %d weights (one per expert of --experts), got %d", K, nw), FX_EXIT_INPUT;
    if (rollout_merge_check_pref(w, K, "--weights", err)) return FX_EXIT_INPUT;
    struct stat st;
    if (stat(out, &st) == 0) return fx_errf(err, "%s: exists; expected a new folder for --out", out), FX_EXIT_INPUT;
    if (check_configs(experts, K, err)) return FX_EXIT_INPUT;
    backend *be = backend_cpu_create(0);
    model carrier = {0}, m = {0};
    int code = FX_EXIT_INPUT;
    double *acc = NULL;
    float *theta = NULL;
    char *tmp = fx_malloc(strlen(out) + 8);
    sprintf(tmp, "%s.tmp", out);
    if (model_load(&carrier, experts[0], be, err)) goto done;
    size_t n = carrier.nparams;
    acc = fx_calloc(n, sizeof *acc);
    theta = fx_malloc(n * sizeof *theta);
    for (int i = 0; i < K; i++) { // acc = sum_i w_i theta_i, in order, in double
        model *e = i ? &m : &carrier;
        if (i && model_load(&m, experts[i], be, err)) goto done;
        FX_ASSERT(e->nparams == n); // same config, same layout
        be->download(be->ctx, theta, e->params_mem, n * sizeof *theta);
        for (size_t j = 0; j < n; j++) acc[j] += (double)w[i] * (double)theta[j];
        if (i) model_free(&m);
    }
    for (size_t j = 0; j < n; j++) theta[j] = (float)acc[j];
    be->upload(be->ctx, carrier.params_mem, theta, n * sizeof *theta);
    code = FX_EXIT_FAIL; // from here on, the machine's
    if (model_save(&carrier, tmp, ST_F32, err) || copy_tokenizer(experts[0], tmp, err)) goto done;
    if (rename(tmp, out) != 0) {
        fx_errf(err, "%s: cannot rename to %s: %s", tmp, out, strerror(errno));
        goto done;
    }
    *nparams = n;
    code = FX_EXIT_OK;
done:
    if (code != FX_EXIT_OK) remove_folder(tmp);
    if (carrier.params_mem) model_free(&carrier);
    free(acc), free(theta), free(tmp);
    backend_destroy(be);
    return code;
}
