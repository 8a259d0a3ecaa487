// model_io.c — a model from a Hugging Face folder (config.json + safetensors) and back.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"

#include "../core/log.h"

static const char *head_names =
    "*ForCausalLM, *ForProcessRewardModel, *ForRewardModel, *ForSequenceClassification, FluxrlPCMForTokenMixing";

int model_check_dir(const char *dir, fx_err *err) {
    struct stat st;
    if (stat(dir, &st) != 0) return fx_errf(err, "%s: cannot open the model folder: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fx_errf(err, "%s: not a folder; expected a model folder (config.json, *.safetensors, tokenizer.json)", dir);
    return 0;
}

// The config and head of the folder, and its safetensors opened (headers and bounds checked).
static int open_checkpoint(const char *dir, model_config *cfg, model_head *head, st_archive *a, fx_err *err) {
    if (model_check_dir(dir, err) || model_config_load(cfg, dir, err)) return -1;
    if (model_head_parse(cfg->architecture, head))
        return fx_errf(err, "%s/config.json: architectures: '%s' is not supported (expected %s)", dir,
                       cfg->architecture, head_names);
    return st_open(a, dir, err);
}

// Every tensor of m's layout in the archive with its shape and a float dtype, and no other
// tensor (a reward model's leftover lm_head.weight aside).
static int check_tensors(const model *m, const st_archive *a, const char *dir, fx_err *err) {
    for (int i = 0; i < m->ntensors; i++) {
        const model_tensor *t = &m->tensors[i];
        if (!st_find(a, t->name)) {
            if (t->ndim == 2)
                return fx_errf(err, "%s: missing tensor %s (expected shape [%lld, %lld] from config.json)", dir,
                               t->name, (long long)t->shape[0], (long long)t->shape[1]);
            return fx_errf(err, "%s: missing tensor %s (expected shape [%lld] from config.json)", dir, t->name,
                           (long long)t->shape[0]);
        }
        if (st_check_f32(a, t->name, t->ndim, t->shape, err)) return -1;
    }
    for (int i = 0; i < a->ntensors; i++) {
        const char *name = a->tensors[i].name;
        if (model_find_tensor(m, name)) continue;
        // Released PRMs (Qwen2.5-Math-PRM) keep the language-model head of the model they were
        // trained from; like vLLM, a reward model loads without it.
        if (m->head != MODEL_HEAD_LM && !strcmp(name, "lm_head.weight")) {
            fx_info("%s: lm_head.weight ignored: a %s has no language-model head", a->paths[a->tensors[i].shard],
                    m->cfg.architecture);
            continue;
        }
        return fx_errf(err, "%s: unexpected tensor %s (not part of a %s with this config.json)",
                       a->paths[a->tensors[i].shard], name, m->cfg.architecture);
    }
    return 0;
}

int model_check_files(const char *dir, model_config *cfg, model_head *head, fx_err *err) {
    st_archive a;
    if (open_checkpoint(dir, cfg, head, &a, err)) return -1;
    model m;
    model_layout(&m, cfg, *head);
    int rc = check_tensors(&m, &a, dir, err);
    model_free(&m);
    st_close(&a);
    return rc;
}

int model_load(model *m, const char *dir, const backend *be, fx_err *err) {
    return model_load_shard(m, dir, be, 0, 1, err);
}

int model_load_shard(model *m, const char *dir, const backend *be, int rank, int size, fx_err *err) {
    model_config cfg;
    model_head head;
    st_archive a;
    if (open_checkpoint(dir, &cfg, &head, &a, err)) return -1;
    model_create_shard(m, &cfg, head, be, rank, size);
    int rc = check_tensors(m, &a, dir, err);
    float *tmp = NULL;
    size_t cap = 0;
    for (int i = 0; i < m->ntensors && rc == 0; i++) {
        const model_tensor *t = &m->tensors[i];
        if (t->numel > cap) tmp = fx_realloc(tmp, (cap = t->numel) * sizeof(float));
        rc = st_read_f32(&a, t->name, t->ndim, t->shape, tmp, err);
        if (!rc) model_put_tensor(m, i, tmp);
    }
    free(tmp);
    st_close(&a);
    if (rc) model_free(m);
    return rc;
}

int model_load_as(model *m, const char *dir, model_head head, const backend *be, uint64_t seed, float std,
                  fx_err *err) {
    return model_load_as_shard(m, dir, head, be, seed, std, 0, 1, err);
}

// model_load_as_shard with K experts for a PCM (K = 0 otherwise) and `extra` new layers on top
// (model_load_as_grown_shard).
static int load_as(model *m, const char *dir, model_head head, int K, int extra, const backend *be, uint64_t seed,
                   float std, int rank, int size, fx_err *err) {
    model_config cfg;
    if (model_check_dir(dir, err) || model_config_load(&cfg, dir, err)) return -1;
    int L0 = cfg.num_hidden_layers;
    cfg.num_hidden_layers += extra;
    model_head from;
    if (model_head_parse(cfg.architecture, &from))
        return fx_errf(err, "%s/config.json: architectures: '%s' is not supported (expected %s)", dir,
                       cfg.architecture, head_names);
    if (head == MODEL_HEAD_PCM && from == MODEL_HEAD_PCM)
        return fx_errf(err, "%s: already a PCM (load it with model_load)", dir);
    const char *family = !strcmp(cfg.model_type, "qwen2") ? "Qwen2" : !strcmp(cfg.model_type, "qwen3") ? "Qwen3" : "Llama";
    const char *kind = head == MODEL_HEAD_LM ? "ForCausalLM" : head == MODEL_HEAD_PRM ? "ForProcessRewardModel" : "ForRewardModel";
    snprintf(cfg.architecture, sizeof cfg.architecture, "%s%s", family, kind);
    if (head == MODEL_HEAD_PCM) {
        snprintf(cfg.architecture, sizeof cfg.architecture, "FluxrlPCMForTokenMixing");
        cfg.num_experts = K;
        if (model_config_validate(&cfg, dir, err)) return -1;
    } else
        cfg.num_experts = 0;
    st_archive a;
    if (st_open(&a, dir, err)) return -1;
    model_init_random_shard(m, &cfg, head, be, seed, std, 0.0f, rank, size); // the new head's; the rest overwritten
    int rc = 0;
    float *tmp = NULL;
    size_t cap = 0;
    for (int i = 0; i < m->ntensors && rc == 0; i++) {
        const model_tensor *t = &m->tensors[i];
        bool is_head = !strncmp(t->name, "score.", 6) || !strcmp(t->name, "lm_head.weight") ||
                       !strncmp(t->name, "alpha_head.", 11) || !strncmp(t->name, "model.pref_proj.", 16);
        if (t->layer >= L0) { // a new layer: drawn, its output projections zero (the identity)
            if (strstr(t->name, ".o_proj.") || strstr(t->name, ".down_proj.")) {
                if (t->numel > cap) tmp = fx_realloc(tmp, (cap = t->numel) * sizeof(float));
                memset(tmp, 0, t->numel * sizeof(float));
                model_put_tensor(m, i, tmp);
            }
            continue;
        }
        if (!st_find(&a, t->name)) {
            if (is_head) continue; // a head the checkpoint does not have: freshly initialised
            rc = fx_errf(err, "%s: missing tensor %s", dir, t->name);
            break;
        }
        if (t->numel > cap) tmp = fx_realloc(tmp, (cap = t->numel) * sizeof(float));
        if (st_read_f32(&a, t->name, t->ndim, t->shape, tmp, err)) {
            rc = -1;
            break;
        }
        model_put_tensor(m, i, tmp);
    }
    free(tmp);
    st_close(&a);
    if (rc) model_free(m);
    return rc;
}

int model_load_as_shard(model *m, const char *dir, model_head head, const backend *be, uint64_t seed, float std,
                        int rank, int size, fx_err *err) {
    FX_ASSERT(head != MODEL_HEAD_PCM); // model_load_pcm_shard: a PCM needs its K
    return load_as(m, dir, head, 0, 0, be, seed, std, rank, size, err);
}

int model_load_as_grown_shard(model *m, const char *dir, model_head head, int extra, const backend *be, uint64_t seed,
                              float std, int rank, int size, fx_err *err) {
    FX_ASSERT(head != MODEL_HEAD_PCM && extra >= 0);
    return load_as(m, dir, head, 0, extra, be, seed, std, rank, size, err);
}

int model_load_pcm_shard(model *m, const char *dir, int K, const backend *be, uint64_t seed, float std, int rank,
                         int size, fx_err *err) {
    return load_as(m, dir, MODEL_HEAD_PCM, K, 0, be, seed, std, rank, size, err);
}

int model_save(const model *m, const char *dir, st_dtype dtype, fx_err *err) {
    return model_save_each(m, NULL, NULL, dir, dtype, err);
}

typedef struct {
    const model *m;
    void (*fill)(void *ctx, size_t lo, size_t hi, float *dst);
    void *ctx;
    float *buf; // the largest tensor's size
} save_each;

static const float *save_get(void *ctx, int i) {
    save_each *s = ctx;
    const model_tensor *t = &s->m->tensors[i];
    s->fill(s->ctx, t->offset, t->offset + t->numel, s->buf);
    return s->buf;
}

int model_save_each(const model *m, void (*fill)(void *ctx, size_t lo, size_t hi, float *dst), void *ctx,
                    const char *dir, st_dtype dtype, fx_err *err) {
    FX_ASSERT(fill || !m->params_layer || m->params_whole); // sharded: gathered first, or tensor by tensor
    save_each s = {m, fill, ctx, NULL};
    float *host = NULL;
    if (fill) {
        size_t most = 1;
        for (int i = 0; i < m->ntensors; i++) most = m->tensors[i].numel > most ? m->tensors[i].numel : most;
        s.buf = fx_malloc(most * sizeof(float));
    } else {
        host = fx_malloc(m->nparams * sizeof(float));
        m->be->download(m->be->ctx, host, model_params_of(m), m->nparams * sizeof(float));
    }
    st_entry *e = fx_calloc((size_t)m->ntensors, sizeof *e);
    for (int i = 0; i < m->ntensors; i++) {
        const model_tensor *t = &m->tensors[i];
        e[i].name = t->name;
        e[i].ndim = t->ndim;
        e[i].shape[0] = t->shape[0];
        e[i].shape[1] = t->shape[1];
        e[i].data = host ? host + t->offset : NULL;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = fx_mkdir_p(dir, err);
    if (rc) { // every fill still runs
        for (int i = 0; fill && i < m->ntensors; i++) save_get(&s, i);
    } else rc = st_save_each(path, e, m->ntensors, dtype, fill ? save_get : NULL, &s, err);
    free(e);
    free(host);
    free(s.buf);
    if (rc) return -1;
    model_config c = m->cfg;
    snprintf(c.torch_dtype, sizeof c.torch_dtype, "%s",
             dtype == ST_BF16 ? "bfloat16" : (dtype == ST_F16 ? "float16" : "float32"));
    snprintf(path, sizeof path, "%s/config.json", dir);
    return model_config_save(&c, path, err);
}
