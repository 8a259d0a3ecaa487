// experts.c — see experts.h.
#define _DEFAULT_SOURCE // realpath
#include "experts.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rollout/merge.h"

// The first id whose bytes or specialness differ between two tokenizers, or -1 when they agree on
// every id (and on bos and eos).
static int32_t vocab_difference(const tok_tokenizer *a, const tok_tokenizer *b) {
    int32_t n = tok_vocab_size(a) > tok_vocab_size(b) ? tok_vocab_size(a) : tok_vocab_size(b);
    for (int32_t id = 0; id < n; id++) {
        size_t la = 0, lb = 0;
        const char *x = tok_token_bytes(a, id, &la), *y = tok_token_bytes(b, id, &lb);
        if (!x != !y || la != lb || (la && memcmp(x, y, la)) || tok_is_special(a, id) != tok_is_special(b, id))
            return id;
    }
    return tok_bos(a) != tok_bos(b) ? tok_bos(a) : tok_eos(a) != tok_eos(b) ? tok_eos(a) : -1;
}

int pipe_model_load_sharing(const char *path, const backend *be, const tok_tokenizer *tok, const char *tok_dir,
                            model *out, fx_err *err) {
    if (model_check_dir(path, err) || model_load(out, path, be, err)) return -1;
    if (tok_check_vocab(tok, out->cfg.vocab_size, path, err)) return -1;
    if (!strcmp(path, tok_dir)) return 0;
    tok_tokenizer *t;
    if (tok_load(&t, path, err)) return -1;
    int32_t id = vocab_difference(tok, t);
    tok_free(t);
    if (id >= 0)
        return fx_errf(err, "%s and %s: tokenizer: the models must share one tokenizer; token id %d differs", tok_dir,
                       path, id);
    return 0;
}

int pipe_experts_load(const char *const *paths, int K, const backend *be, const tok_tokenizer *tok, model *const *out,
                      fx_err *err) {
    for (int i = 0; i < K; i++)
        if (pipe_model_load_sharing(paths[i], be, tok, paths[0], out[i], err)) return -1;
    return 0;
}

int pipe_parse_preference(const char *key, const char *text, int K, float *w, fx_err *err) {
    int n = fx_parse_floats(key, text, w, ROLLOUT_MERGE_MAX_EXPERTS, err);
    if (n < 0) return -1;
    if (n != K) return fx_errf(err, "%s: expected %d weights (one per expert of pcm.experts), got %d", key, K, n);
    return rollout_merge_check_pref(w, K, key, err);
}

int pipe_parse_alpha_init(const char *text, int K, float *w, fx_err *err) {
    if (pipe_parse_preference("pcm.alpha_init", text, K, w, err)) return -1;
    for (int i = 0; i < K; i++)
        if (!(w[i] > 0))
            return fx_errf(err, "pcm.alpha_init: weight %d is %g; expected every weight above 0 (the alpha head's bias "
                                "starts at their logarithms)", i + 1, (double)w[i]);
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int pipe_expert_hash(const char *dir, uint64_t *h, fx_err *err) {
    DIR *d = opendir(dir);
    if (!d) return fx_errf(err, "%s: cannot open the folder", dir);
    char **names = NULL;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len > 12 && !strcmp(e->d_name + len - 12, ".safetensors")) {
            names = fx_realloc(names, (size_t)(n + 1) * sizeof *names);
            names[n++] = fx_strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    uint64_t x = 14695981039346656037ull; // FNV-1a 64, continued from file to file
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = fx_malloc(CHUNK);
    int rc = n ? 0 : fx_errf(err, "%s: no *.safetensors file to hash", dir);
    for (int i = 0; i < n && !rc; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fx_fopen_input(path, err);
        if (!f) {
            rc = -1;
            break;
        }
        for (size_t got; (got = fread(buf, 1, CHUNK, f)) > 0;)
            for (size_t k = 0; k < got; k++) x = (x ^ buf[k]) * 1099511628211ull;
        if (ferror(f)) rc = fx_errf(err, "%s: read error", path);
        fclose(f);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names), free(buf);
    *h = x;
    return rc;
}

int pipe_pcm_name_experts(const char *pcm_dir, const char *const *paths, const uint64_t *hash, int K, fx_err *err) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config.json", pcm_dir);
    cJSON *cfg = fx_read_json_object(path, err);
    if (!cfg) return -1;
    cJSON *list = cJSON_CreateArray();
    for (int i = 0; i < K; i++) {
        char abs[PATH_MAX], hex[17];
        snprintf(hex, sizeof hex, "%016" PRIx64, hash[i]);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "path", realpath(paths[i], abs) ? abs : paths[i]);
        cJSON_AddStringToObject(e, "fnv1a64", hex);
        cJSON_AddItemToArray(list, e);
    }
    cJSON *field = cJSON_CreateObject();
    cJSON_AddItemToObject(field, "experts", list);
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "fluxrl_pcm");
    cJSON_AddItemToObject(cfg, "fluxrl_pcm", field);
    int rc = fx_write_json_atomic(path, cfg, err);
    cJSON_Delete(cfg);
    return rc;
}

int pipe_pcm_named_experts(const char *pcm_dir, char *buf, size_t cap, char **paths, uint64_t *hash, int max,
                           fx_err *err) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config.json", pcm_dir);
    cJSON *cfg = fx_read_json_object(path, err);
    if (!cfg) return -1;
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(cfg, "fluxrl_pcm");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(field, "experts");
    int n = 0, rc = 0;
    size_t used = 0;
    if (field && (!cJSON_IsArray(list) || cJSON_GetArraySize(list) < 1 || cJSON_GetArraySize(list) > max))
        rc = fx_errf(err, "%s: fluxrl_pcm.experts: expected a list of 1 to %d experts", path, max);
    for (const cJSON *e = field && !rc ? list->child : NULL; e && !rc; e = e->next, n++) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path"), *h = cJSON_GetObjectItemCaseSensitive(e, "fnv1a64");
        char *end = NULL;
        uint64_t v = cJSON_IsString(h) ? strtoull(h->valuestring, &end, 16) : 0;
        size_t len = cJSON_IsString(p) ? strlen(p->valuestring) : 0;
        if (!len || !end || *end || strlen(h->valuestring) != 16)
            rc = fx_errf(err, "%s: fluxrl_pcm.experts[%d]: expected {\"path\": a folder, \"fnv1a64\": 16 hex digits}", path, n);
        else if (used + len + 1 > cap)
            rc = fx_errf(err, "%s: fluxrl_pcm.experts: the folders' names are too long", path);
        else {
            memcpy(buf + used, p->valuestring, len + 1);
            paths[n] = buf + used, hash[n] = v, used += len + 1;
        }
    }
    cJSON_Delete(cfg);
    return rc ? -1 : n;
}

int pipe_pcm_check_experts(const char *pcm_dir, const char *const *paths, int K, const char *key, fx_err *err) {
    char buf[8192], *named[ROLLOUT_MERGE_MAX_EXPERTS];
    uint64_t want[ROLLOUT_MERGE_MAX_EXPERTS];
    int n = pipe_pcm_named_experts(pcm_dir, buf, sizeof buf, named, want, ROLLOUT_MERGE_MAX_EXPERTS, err);
    if (n <= 0) return n;
    if (n != K)
        return fx_errf(err, "%s: %d experts, but the PCM %s was trained on %d (its config.json's fluxrl_pcm.experts)", key,
                       K, pcm_dir, n);
    for (int i = 0; i < K; i++) {
        uint64_t h;
        if (pipe_expert_hash(paths[i], &h, err)) return -1;
        if (h != want[i])
            return fx_errf(err, "%s: expert %d, %s: its weights are not those the PCM %s was trained with (%s, "
                                "fnv1a64 %016" PRIx64 "; this one %016" PRIx64 ")", key, i + 1, paths[i], pcm_dir, named[i],
                           want[i], h);
    }
    return 0;
}
