// prm_fixture.h — small random models with the built-in tokenizer, saved as Hugging Face folders
// DIR/class2 (Qwen2ForProcessRewardModel, marked as prm-train marks the PRMs it writes: fluxrl's
// ChatML layout and trajectory separator), DIR/scalar (Qwen2ForRewardModel with score.bias, read as
// ReasonFlux-PRM-1.5B), DIR/lm (causal LM).
#ifndef FLUXRL_PRM_FIXTURE_H
#define FLUXRL_PRM_FIXTURE_H

#include <stdio.h>

#include "model/model.h"
#include "model/tok.h"
#include "reward/prm.h"

static inline int make_tiny_model(const char *dir, const char *sub, const char *arch, model_head head, backend *be,
                                  const tok_tokenizer *tok) {
    model_config c = {0};
    snprintf(c.model_type, sizeof c.model_type, "qwen2");
    snprintf(c.architecture, sizeof c.architecture, "%s", arch);
    c.hidden_size = 32, c.num_hidden_layers = 2, c.num_attention_heads = 4, c.num_key_value_heads = 2, c.head_dim = 8;
    c.intermediate_size = 64, c.vocab_size = tok_vocab_size(tok), c.max_position_embeddings = 512;
    c.rope_theta = 10000, c.rms_norm_eps = 1e-6, c.qkv_bias = true, c.tie_word_embeddings = true;
    c.bos_token_id = -1, c.eos_token_id = -1;
    c.score_bias = head == MODEL_HEAD_VALUE;
    model m;
    model_init_random(&m, &c, head, be, 7, 0.5f, 0.1f);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    fx_err err;
    int rc = model_save(&m, path, ST_F32, &err) || tok_write_builtin(path, &err) ||
             (head == MODEL_HEAD_PRM && prm_mark_trained(path, PRM_INPUT_CHATML, &err));
    model_free(&m);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    return rc;
}

static inline int make_tiny_models(const char *dir, backend *be) {
    fx_err err;
    tok_tokenizer *tok;
    if (tok_load_builtin(&tok, &err)) return -1;
    int rc = make_tiny_model(dir, "class2", "Qwen2ForProcessRewardModel", MODEL_HEAD_PRM, be, tok) ||
             make_tiny_model(dir, "scalar", "Qwen2ForRewardModel", MODEL_HEAD_VALUE, be, tok) ||
             make_tiny_model(dir, "lm", "Qwen2ForCausalLM", MODEL_HEAD_LM, be, tok);
    tok_free(tok);
    return rc;
}

#endif
