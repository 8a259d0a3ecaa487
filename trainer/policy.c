// policy.c — the policy a config names, built or loaded, and saved as a Hugging Face folder: see
// policy.h.
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fx.h"
#include "../model/safetensors.h"

static void new_model_config(const fx_config *c, const tok_tokenizer *tok, int32_t eos, model_config *mc) {
    memset(mc, 0, sizeof *mc);
    snprintf(mc->model_type, sizeof mc->model_type, "qwen2");
    snprintf(mc->architecture, sizeof mc->architecture, "Qwen2ForCausalLM");
    mc->hidden_size = (int)c->model.hidden_size;
    mc->num_hidden_layers = (int)c->model.layers;
    mc->num_attention_heads = (int)c->model.heads;
    mc->num_key_value_heads = (int)c->model.kv_heads;
    mc->head_dim = mc->hidden_size / mc->num_attention_heads;
    mc->intermediate_size = (int)c->model.intermediate_size;
    mc->vocab_size = tok_vocab_size(tok);
    mc->max_position_embeddings = (int)c->model.max_seq;
    mc->rope_theta = 10000.0;
    mc->rms_norm_eps = 1e-6;
    mc->qkv_bias = true;
    mc->tie_word_embeddings = true;
    mc->bos_token_id = -1;
    mc->eos_token_id = eos;
    snprintf(mc->torch_dtype, sizeof mc->torch_dtype, "float32");
}

int policy_build(const fx_config *c, const backend *be, model *m, tok_tokenizer **tok, fx_err *err) {
    if (c->model.path[0]) {
        if (model_check_dir(c->model.path, err) || tok_load(tok, c->model.path, err) || model_load(m, c->model.path, be, err))
            return -1;
        return tok_check_vocab(*tok, m->cfg.vocab_size, c->model.path, err);
    }
    model_config mc;
    if (policy_check(c, &mc, tok, err)) return -1;
    model_init_random(m, &mc, MODEL_HEAD_LM, be, (uint64_t)c->run.seed, (float)c->model.init_std, 0.0f);
    return 0;
}

int policy_check(const fx_config *c, model_config *mc, tok_tokenizer **tok, fx_err *err) {
    if (c->model.path[0]) {
        model_head head;
        if (model_check_dir(c->model.path, err) || tok_load(tok, c->model.path, err) ||
            model_check_files(c->model.path, mc, &head, err))
            return -1;
        if (head != MODEL_HEAD_LM)
            return fx_errf(err, "%s/config.json: architectures: '%s' is not a language model (expected *ForCausalLM)",
                           c->model.path, mc->architecture);
        return tok_check_vocab(*tok, mc->vocab_size, c->model.path, err);
    }
    if (tok_load_builtin(tok, err)) return -1;
    if (c->model.hidden_size % c->model.heads || c->model.heads % c->model.kv_heads)
        return fx_errf(err, "model: heads (%lld) must divide hidden_size (%lld) and kv_heads (%lld) must divide heads",
                       (long long)c->model.heads, (long long)c->model.hidden_size, (long long)c->model.kv_heads);
    new_model_config(c, *tok, tok_token_id(*tok, "<|im_end|>"), mc);
    return model_config_validate(mc, "model", err);
}

int policy_save(const fx_config *c, const model *m, const char *dir, fx_err *err) {
    if (model_save(m, dir, ST_F32, err)) return -1;
    if (!c->model.path[0]) return tok_write_builtin(dir, err);
    // what the tokenizer, the chat template and the stop ids are read from (all but the first optional)
    const char *files[] = {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json"};
    for (int k = 0; k < 4; k++) {
        char src[FX_CFG_STR_LEN + 32], dst[4200];
        snprintf(src, sizeof src, "%s/%s", c->model.path, files[k]);
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
