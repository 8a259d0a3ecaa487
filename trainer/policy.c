// policy.c — the policy a run names, built or loaded, and saved as a Hugging Face folder: see
// policy.h.
#include "policy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fx.h"
#include "../model/safetensors.h"

static void new_model_config(const policy_params *p, const tok_tokenizer *tok, int32_t eos, model_config *mc) {
    memset(mc, 0, sizeof *mc);
    snprintf(mc->model_type, sizeof mc->model_type, "qwen2");
    snprintf(mc->architecture, sizeof mc->architecture, "Qwen2ForCausalLM");
    mc->hidden_size = p->hidden_size;
    mc->num_hidden_layers = p->layers;
    mc->num_attention_heads = p->heads;
    mc->num_key_value_heads = p->kv_heads;
    mc->head_dim = mc->hidden_size / mc->num_attention_heads;
    mc->intermediate_size = p->intermediate_size;
    mc->vocab_size = tok ? tok_vocab_size(tok) : 0;
    mc->max_position_embeddings = p->max_seq;
    mc->rope_theta = 10000.0;
    mc->rms_norm_eps = 1e-6;
    mc->qkv_bias = true;
    mc->tie_word_embeddings = true;
    mc->bos_token_id = -1;
    mc->eos_token_id = eos;
    snprintf(mc->torch_dtype, sizeof mc->torch_dtype, "float32");
}

static bool from_folder(const policy_params *p) { return p->path && p->path[0]; }

static int check_sizes(const policy_params *p, fx_err *err) {
    if (p->hidden_size % p->heads || p->heads % p->kv_heads)
        return fx_errf(err, "model: heads (%d) must divide hidden_size (%d) and kv_heads (%d) must divide heads",
                       p->heads, p->hidden_size, p->kv_heads);
    return 0;
}

int policy_build(const policy_params *p, const backend *be, model *m, tok_tokenizer **tok, fx_err *err) {
    if (from_folder(p)) {
        if (model_check_dir(p->path, err) || tok_load(tok, p->path, err) ||
            model_load_shard(m, p->path, be, p->shard_rank, p->shard_size, err))
            return -1;
        return tok_check_vocab(*tok, m->cfg.vocab_size, p->path, err);
    }
    model_config mc;
    if (policy_check(p, &mc, tok, err)) return -1;
    model_init_random_shard(m, &mc, MODEL_HEAD_LM, be, p->seed, p->init_std, 0.0f, p->shard_rank, p->shard_size);
    return 0;
}

int policy_check_pcm(const policy_params *p, int K, int vocab_size, model_config *mc, fx_err *err) {
    if (from_folder(p)) {
        model_head head;
        if (model_check_dir(p->path, err) || model_check_files(p->path, mc, &head, err)) return -1;
        if (head != MODEL_HEAD_PCM && head != MODEL_HEAD_LM)
            return fx_errf(err,
                           "%s/config.json: architectures: '%s' is neither a PCM (FluxrlPCMForTokenMixing) nor a "
                           "language model (*ForCausalLM) to start a new PCM from",
                           p->path, mc->architecture);
        if (head == MODEL_HEAD_PCM && p->alpha_init)
            return fx_errf(err, "pcm.alpha_init: sets a new PCM's starting mix, but model.path %s is a PCM already "
                                "(its alpha head is trained; leave pcm.alpha_init empty)",
                           p->path);
        if (head == MODEL_HEAD_PCM && p->preference_prior > 0)
            return fx_errf(err, "pcm.preference_prior: sets a new PCM's preference prior, but model.path %s is a PCM "
                                "already (its config.json's preference_prior, %g, is used; leave pcm.preference_prior 0)",
                           p->path, (double)mc->preference_prior);
        if (head == MODEL_HEAD_LM) { // a new PCM on the language model's backbone
            snprintf(mc->architecture, sizeof mc->architecture, "FluxrlPCMForTokenMixing");
            mc->num_experts = K;
            mc->preference_prior = p->preference_prior;
            if (model_config_validate(mc, p->path, err)) return -1;
        }
        if (mc->num_experts != K)
            return fx_errf(err, "%s/config.json: num_experts: expected %d (the experts of pcm.experts), got %d", p->path,
                           K, mc->num_experts);
        if (mc->vocab_size != vocab_size)
            return fx_errf(err, "%s/config.json: vocab_size: expected %d (the experts'), got %d", p->path, vocab_size,
                           mc->vocab_size);
        return 0;
    }
    if (check_sizes(p, err)) return -1;
    new_model_config(p, NULL, -1, mc);
    mc->vocab_size = vocab_size, mc->num_experts = K, mc->preference_prior = p->preference_prior;
    snprintf(mc->architecture, sizeof mc->architecture, "FluxrlPCMForTokenMixing");
    return model_config_validate(mc, "model", err);
}

int policy_build_pcm(const policy_params *p, int K, int vocab_size, const backend *be, model *m, fx_err *err) {
    model_config mc;
    if (policy_check_pcm(p, K, vocab_size, &mc, err)) return -1;
    if (from_folder(p)) {
        model_config had;
        if (model_config_load(&had, p->path, err)) return -1;
        if (!strcmp(had.architecture, "FluxrlPCMForTokenMixing"))
            return model_load_shard(m, p->path, be, p->shard_rank, p->shard_size, err);
        if (model_load_pcm_shard(m, p->path, K, be, p->seed, p->init_std, p->shard_rank, p->shard_size, err))
            return -1;
        m->cfg.preference_prior = p->preference_prior; // saved with the PCM's config.json
    } else
        model_init_random_shard(m, &mc, MODEL_HEAD_PCM, be, p->seed, p->init_std, 0.0f, p->shard_rank,
                                p->shard_size);
    if (p->alpha_init) { // softmax(W h + log a) = a at W = 0; about a with W ~ N(0, init_std)
        float *b = fx_malloc((size_t)K * sizeof *b);
        for (int i = 0; i < K; i++) b[i] = logf(p->alpha_init[i]);
        const model_tensor *t = model_find_tensor(m, "alpha_head.bias");
        FX_ASSERT(t && (int)t->numel == K);
        model_put_tensor(m, (int)(t - m->tensors), b);
        free(b);
    }
    return 0;
}

int policy_check(const policy_params *p, model_config *mc, tok_tokenizer **tok, fx_err *err) {
    if (from_folder(p)) {
        model_head head;
        if (model_check_dir(p->path, err) || tok_load(tok, p->path, err) || model_check_files(p->path, mc, &head, err))
            return -1;
        if (head != MODEL_HEAD_LM)
            return fx_errf(err, "%s/config.json: architectures: '%s' is not a language model (expected *ForCausalLM)",
                           p->path, mc->architecture);
        return tok_check_vocab(*tok, mc->vocab_size, p->path, err);
    }
    if (tok_load_builtin(tok, err)) return -1;
    if (check_sizes(p, err)) return -1;
    new_model_config(p, *tok, tok_token_id(*tok, "<|im_end|>"), mc);
    return model_config_validate(mc, "model", err);
}

int policy_save(const char *from, const model *m, const char *dir, fx_err *err) {
    return policy_save_each(from, m, NULL, NULL, dir, err);
}

int policy_save_each(const char *from, const model *m, void (*fill)(void *ctx, size_t lo, size_t hi, float *dst),
                     void *ctx, const char *dir, fx_err *err) {
    if (model_save_each(m, fill, ctx, dir, ST_F32, err)) return -1;
    if (!from || !from[0]) return tok_write_builtin(dir, err);
    // what the tokenizer, the chat template and the stop ids are read from (all but the first optional)
    const char *files[] = {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json"};
    for (int k = 0; k < 4; k++) {
        char src[4200], dst[4200];
        snprintf(src, sizeof src, "%s/%s", from, files[k]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[k]);
        size_t len;
        fx_err missing;
        char *data = fx_read_file(src, &len, &missing);
        if (!data) {
            if (k == 0) return fx_errf(err, "%s", missing.msg);
            continue;
        }
        int rc = fx_write_file_atomic(dst, data, len, err);
        free(data);
        if (rc) return -1;
    }
    return 0;
}
